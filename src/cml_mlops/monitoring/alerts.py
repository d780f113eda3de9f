"""The alert rule: a check alerts when it breaches in at least M of the last N windows, the latest among them.

Requiring the latest window keeps a problem that has passed from alerting; requiring M of N keeps one noisy
window from doing so. A window where the check could not be judged (no traffic, too few labels) counts as
not breached; when it is the latest, the check's status is `no_data`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cml_mlops.config import MonitoringAlertSection

OK = "ok"
BREACH = "breach"  # the latest window breaches, fewer than M of the last N do
ALERT = "alert"
NO_DATA = "no_data"


@dataclass(frozen=True)
class AlertState:
    status: str
    breaches: int  # breached windows among the last N
    considered: int  # windows among the last N (fewer when there are fewer windows)


def alert_state(breached: Sequence[bool | None], rule: MonitoringAlertSection) -> AlertState:
    """The status of one check from its per-window breaches (oldest first; None = not judged)."""
    recent = list(breached[-rule.windows :])
    hits = sum(1 for value in recent if value)
    if not recent or recent[-1] is None:
        return AlertState(NO_DATA, hits, len(recent))
    if not recent[-1]:
        return AlertState(OK, hits, len(recent))
    return AlertState(ALERT if hits >= rule.breaches else BREACH, hits, len(recent))


def alert_history(breached: Sequence[bool | None], rule: MonitoringAlertSection) -> list[str]:
    """The status the check had at the end of every window (what a run then would have said), oldest first:
    the alerts of the whole range, not only the latest window's."""
    return [alert_state(breached[: index + 1], rule).status for index in range(len(breached))]

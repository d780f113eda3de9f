"""What happened over the monitored range, as plain records that the Markdown report and the dashboard both show:
the alert history of every check, the model's events, drift sorted by PSI, and the retraining that followed.
"""

from __future__ import annotations

import math
from typing import Any

from cml_mlops.monitoring.checks import MonitorCheckResult, MonitoringResult, WindowResult
from cml_mlops.monitoring.drift import FeatureDrift
from cml_mlops.monitoring.windows import iso

RETRAINING_FIELDS = (
    "triggered_by",
    "outcome",
    "reason",
    "target",
    "champion_before",
    "champion_after",
    "new_version",
    "batch_snapshot_id",
    "failed_step",
    "seconds",
)


def status_line(result: MonitoringResult) -> str:
    """The status in one line: now, and whether anything alerted earlier in the range."""
    now = {"alert": "ALERT", "missing_profile": "missing reference profile", "ok": "ok"}[result.status]
    earlier = [check.name for check in result.alerted_in_range if check not in result.alerts]
    if earlier:
        return f"{now} in the latest window; alerted earlier in the range: {', '.join(earlier)}"
    return f"{now} in the latest window; no other alert in the range" if now != "ALERT" else now


def alert_episodes(check: MonitorCheckResult) -> list[tuple[int, int]]:
    """The runs of consecutive windows at whose end the check was alerting: (first, last) window indexes."""
    episodes: list[tuple[int, int]] = []
    for index in check.alerted_windows:
        if episodes and episodes[-1][1] == index - 1:
            episodes[-1] = (episodes[-1][0], index)
        else:
            episodes.append((index, index))
    return episodes


def alert_history_records(result: MonitoringResult) -> list[dict[str, Any]]:
    """One record per alert episode of every check, oldest first."""
    windows = result.windows
    records = [
        {
            "check": check.name,
            "category": check.category,
            "rule": check.rule,
            "alerting from": iso(windows[first].window.start),
            "alerting until": iso(windows[last].window.end),
            "windows": last - first + 1,
            "still alerting": last == len(windows) - 1,
        }
        for check in result.checks
        for first, last in alert_episodes(check)
    ]
    return sorted(records, key=lambda record: (record["alerting from"], record["check"]))


def event_records(result: MonitoringResult) -> list[dict[str, Any]]:
    return [
        {"time": iso(event.at), "event": event.kind, "version": event.version, "what": event.text}
        for event in result.events
    ]


def sorted_drift(window: WindowResult) -> list[tuple[str, FeatureDrift]]:
    """Every (model, feature or prediction drift) of a window, highest PSI first (not computable last)."""
    items = [(version.model, item) for version in window.drift for item in [version.prediction, *version.features]]
    return sorted(items, key=lambda pair: -pair[1].psi if not math.isnan(pair[1].psi) else math.inf)


def drift_records(window: WindowResult) -> list[dict[str, Any]]:
    return [
        {
            "model": model,
            "feature": item.name,
            "kind": item.kind,
            "PSI": item.psi,
            "status": item.status,
            "drifted": item.drifted,
            "test": item.test,
            "statistic": item.statistic,
            "p-value": item.p_value,
            "rows": item.rows,
            "missing": item.missing,
        }
        for model, item in sorted_drift(window)
    ]


def drifted_features(window: WindowResult) -> list[FeatureDrift]:
    """The window's drifted features (worst version each), highest PSI first."""
    items = [item for item in window.worst_feature_drift().values() if item.drifted]
    return sorted(items, key=lambda item: -item.psi)


def retraining_records(retraining: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The retraining that monitoring triggered: (field, value) rows, and its steps."""
    summary = [{"field": name, "value": retraining[name]} for name in RETRAINING_FIELDS if name in retraining]
    retrain = retraining.get("retrain") or {}
    summary += [
        {"field": f"retrain {name}", "value": value}
        for name, value in retrain.items()
        if not isinstance(value, (dict, list))
    ]
    steps = [dict(step) for step in retraining.get("steps", [])]
    return summary, steps

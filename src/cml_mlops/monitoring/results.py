"""What a monitoring run found: per window its figures and drift, per check its values, breaches and alert
history, and the whole run's status, exit code and the model's events. `run_monitoring` (checks) builds them;
the reports, the dashboard and the plots read them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cml_mlops.monitoring.alerts import ALERT, AlertState
from cml_mlops.monitoring.drift import FeatureDrift
from cml_mlops.monitoring.events import ModelEvent
from cml_mlops.monitoring.outcome import MonitorExit
from cml_mlops.monitoring.windows import Window, WindowPlan, iso

RETRAIN_CATEGORIES = ("performance", "prediction", "drift")


@dataclass(frozen=True)
class VersionDrift:
    """Drift of one model version's rows in one window against that version's profile."""

    model: str  # name:version
    rows: int
    features: list[FeatureDrift]
    prediction: FeatureDrift

    @property
    def drift_share(self) -> float | None:
        judged = [item for item in self.features if item.status != "insufficient"]
        return sum(item.drifted for item in judged) / len(judged) if judged else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "rows": self.rows,
            "drift_share": self.drift_share,
            "prediction": self.prediction.to_dict(),
            "features": [item.to_dict() for item in self.features],
        }


@dataclass
class WindowResult:
    window: Window
    figures: dict[str, float | None]
    versions: dict[str, int]
    calibration: list[dict[str, float]]
    drift: list[VersionDrift] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return int(self.figures["requests"] or 0)

    def worst_feature_drift(self) -> dict[str, FeatureDrift]:
        """Per feature, its drift in the version where its PSI is highest (the one to act on)."""
        worst: dict[str, FeatureDrift] = {}
        for version in self.drift:
            for item in version.features:
                if item.status == "insufficient":
                    continue
                if item.name not in worst or item.psi > worst[item.name].psi:
                    worst[item.name] = item
        return worst

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.window.to_dict(),
            "requests": self.requests,
            "versions": self.versions,
            "figures": self.figures,
            "calibration": self.calibration,
            "drift": [version.to_dict() for version in self.drift],
        }


@dataclass(frozen=True)
class CheckSpec:
    """A configured check: how to read its value and breach from a window."""

    name: str
    category: str
    rule: str  # for people: "roc_auc >= 0.7"
    evaluate: Callable[[WindowResult], tuple[float | None, bool | None]]
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class MonitorCheckResult:
    name: str
    category: str
    rule: str
    values: list[float | None]
    breached: list[bool | None]
    state: AlertState
    low: float | None = None
    high: float | None = None
    history: list[str] = field(default_factory=list)  # the status at the end of each window, oldest first

    @property
    def status(self) -> str:
        return self.state.status

    @property
    def alerted_windows(self) -> list[int]:
        """The windows at whose end the check was alerting: its alerts over the whole range."""
        return [index for index, status in enumerate(self.history) if status == ALERT]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "category": self.category,
            "rule": self.rule,
            "status": self.status,
            "breaches_in_last_windows": self.state.breaches,
            "last_windows": self.state.considered,
            "latest": self.values[-1] if self.values else None,
            "low": self.low,
            "high": self.high,
            "values": self.values,
            "breached": self.breached,
            "history": self.history,
        }


@dataclass
class MonitoringResult:
    project: str
    store: str
    plan: WindowPlan
    windows: list[WindowResult]
    checks: list[MonitorCheckResult]
    profiles: dict[str, str]  # name:version -> "training" | "backfill" | why it is missing
    warnings: list[str]
    orphan_labels: int
    seconds: float
    alert_rule: tuple[int, int]  # (M, N)
    generated_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    retraining: dict[str, Any] | None = None
    events: list[ModelEvent] = field(default_factory=list)  # the model's registry events in the range

    @property
    def alerts(self) -> list[MonitorCheckResult]:
        return [check for check in self.checks if check.status == ALERT]

    @property
    def alerted_in_range(self) -> list[MonitorCheckResult]:
        """Every check that alerted at the end of some window of the range, alerting now or not."""
        return [check for check in self.checks if check.alerted_windows]

    @property
    def missing_profiles(self) -> list[str]:
        """Served versions without a reference profile: their drift cannot be checked."""
        return [model for model, source in self.profiles.items() if source.startswith("missing")]

    @property
    def retrain_alerts(self) -> list[MonitorCheckResult]:
        return [check for check in self.alerts if check.category in RETRAIN_CATEGORIES]

    @property
    def status(self) -> str:
        if self.alerts:
            return ALERT
        return "missing_profile" if self.missing_profiles else "ok"

    @property
    def exit_code(self) -> int:
        """See `cml_mlops.monitoring.outcome`: an alert, else a missing profile, else ok."""
        if self.alerts:
            return MonitorExit.ALERT
        return MonitorExit.MISCONFIGURED if self.missing_profiles else MonitorExit.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "generated_at": self.generated_at,
            "store": self.store,
            "status": self.status,
            "exit_code": self.exit_code,
            "range": {
                "since": iso(self.plan.since),
                "until": iso(self.plan.until),
                "window_seconds": self.plan.length,
                "windows": self.plan.count,
            },
            "alert_rule": {"breaches": self.alert_rule[0], "windows": self.alert_rule[1]},
            "checks": [check.to_dict() for check in self.checks],
            "profiles": self.profiles,
            "orphan_labels": self.orphan_labels,
            "warnings": self.warnings,
            "windows": [window.to_dict() for window in self.windows],
            "alerted_in_range": [check.name for check in self.alerted_in_range],
            "missing_profiles": self.missing_profiles,
            "events": [event.to_dict() for event in self.events],
            "retraining": self.retraining,
            "seconds": self.seconds,
        }

"""`run_monitoring`: the windows of the prediction log, their figures and drift, and the configured checks.

Reads only the store (SQL aggregations, see `queries`) and the reference profiles of the served versions in
MLflow. Each check gives a value and a breach per window; the alert rule (`alerts`) turns the breaches into a
status. The result is what `monitor` reports (JSON, Markdown) and `report` draws.

Checks and their categories (alerts of performance, prediction and drift checks can trigger retraining;
service checks are about the endpoint, which retraining would not fix):
- performance: `monitoring.floors` (accuracy, precision, recall, f1, roc_auc) and `ceilings` (brier, ece), on
  windows with at least `min_labelled` labelled predictions;
- prediction: the predicted positive rate within `positive_rate` (when narrower than [0, 1]); prediction drift
  (the probability distribution against the version's held-out predictions, by the drift rule);
- drift: data-set drift, the share of drifted features at or above `drift.dataset_drift_share`;
- service: p95 latency at most `latency_p95_ms`; requests at least `min_requests` (when set).
With several model versions in one window, each is compared with its own profile and the worst counts.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from mlflow.tracking import MlflowClient
from sqlalchemy import Connection
from tqdm import tqdm

from cml_mlops.config import MonitoringSection, ProjectConfig
from cml_mlops.monitoring import queries
from cml_mlops.monitoring.alerts import alert_history, alert_state
from cml_mlops.monitoring.database import describe_store
from cml_mlops.monitoring.dialect import StoreDialect
from cml_mlops.monitoring.drift import FeatureDrift, categorical_drift, numeric_drift
from cml_mlops.monitoring.events import model_events
from cml_mlops.monitoring.performance import WindowTraffic, calibration_curve, window_traffic
from cml_mlops.monitoring.profile import NumericReference, ProfileError, ReferenceProfile
from cml_mlops.monitoring.profile_store import read_profile, tracking_client
from cml_mlops.monitoring.results import (  # re-exported: what a run returns
    CheckSpec,
    MonitorCheckResult,
    MonitoringResult,
    VersionDrift,
    WindowResult,
)
from cml_mlops.monitoring.source import NoTraffic, read_store
from cml_mlops.monitoring.windows import AUTO, Window, WindowPlan, choose_windows, iso, parse_duration

__all__ = [
    "CheckSpec",
    "MonitorCheckResult",
    "MonitoringResult",
    "VersionDrift",
    "WindowResult",
    "check_specs",
    "run_monitoring",
]


def run_monitoring(
    config: ProjectConfig,
    *,
    window: str | None = None,
    windows: int | None = None,
    since: float | None = None,
    until: float | None = None,
    progress: bool = True,
) -> MonitoringResult:
    """Monitor the log: `windows` windows of `window` (defaults from the config) ending at `until` (default: the
    latest prediction), or reaching back to `since`. NoTraffic when nothing was logged in that range.

    `window="auto"` chooses the length (and, without `windows`, the count) from the span of the logged data, or of
    `since` .. `until` (`cml_mlops.monitoring.windows.choose_windows`)."""
    started = time.perf_counter()
    settings = config.monitoring
    chosen = window or settings.window
    length = None if chosen == AUTO else parse_duration(chosen)
    warnings: list[str] = []
    steps = tqdm(total=4, desc="monitoring", unit="step", file=sys.stderr, disable=not progress, leave=False)
    with steps, read_store(config) as store, ThreadPoolExecutor(max_workers=1) as background:
        # MLflow's client takes a while to start: it does so while the database works.
        client = background.submit(tracking_client, config)
        connection, dialect = store.connection, store.dialect
        steps.set_postfix_str("traffic")
        latest = queries.latest_prediction_time(connection)
        if latest is None and until is None:
            raise NoTraffic(
                f"the monitoring store {describe_store(config)} holds no prediction yet: nothing to monitor"
            )
        end = until if until is not None else latest or 0.0
        count = None if since is not None else (windows or settings.windows)
        if length is None:  # `auto`: from the span of the data (or of --since .. --until)
            first, rows = queries.prediction_span(connection, since, end)
            start = since if since is not None else first
            span = max(0.0, end - (start if start is not None else end))
            length, fitting = choose_windows(span, rows=rows, min_rows=settings.drift.min_rows)
            count = None if since is not None else (windows or fitting)
        plan = WindowPlan.ending_at(end, length, count, since)
        latencies = store.aside(partial(queries.latency_percentiles, dialect=dialect, plan=plan))
        traffic = _traffic(config, connection, dialect, plan)
        steps.update()
        steps.set_postfix_str("latency")
        for index, values in latencies.result().items():
            traffic[index].latency_quantiles = values
        results = [_window_result(w, t, settings) for w, t in zip(plan.windows(), traffic, strict=True)]
        steps.update()
        steps.set_postfix_str("drift")
        tracking = client.result()
        profiles = _served_profiles(tracking, traffic, warnings)
        events = model_events(tracking, config.tracking.model_name, plan.since, plan.until)
        for model, profile in profiles.items():
            if isinstance(profile, ReferenceProfile):
                name, version = model.rsplit(":", 1)
                histograms, found = queries.feature_histograms(
                    connection, dialect, plan, name, version, profile, aside=store.aside
                )
                warnings.extend(found)
                _add_drift(results, model, profile, histograms, settings)
        steps.update()
        steps.set_postfix_str("labels")
        # PostgreSQL's foreign key keeps labels of unknown predictions out; SQLite does not enforce it.
        orphans = 0 if dialect.postgresql else queries.orphan_labels(connection)
        if orphans:
            warnings.append(f"{orphans} label(s) name prediction ids that are not in the log: they are ignored")
        steps.update()
    return MonitoringResult(
        project=config.project.name,
        store=describe_store(config),
        plan=plan,
        windows=results,
        checks=[_run_check(spec, results, settings) for spec in check_specs(settings)],
        profiles={model: p.source if isinstance(p, ReferenceProfile) else p for model, p in profiles.items()},
        warnings=warnings,
        orphan_labels=orphans,
        seconds=round(time.perf_counter() - started, 3),
        alert_rule=(settings.alert.breaches, settings.alert.windows),
        events=events,
    )


def _traffic(
    config: ProjectConfig, connection: Connection, dialect: StoreDialect, plan: WindowPlan
) -> list[WindowTraffic]:
    traffic = window_traffic(queries.traffic(connection, dialect, plan), plan.count)
    if not any(item.requests for item in traffic):
        raise NoTraffic(
            f"no prediction logged between {iso(plan.since)} and {iso(plan.until)} in {describe_store(config)}: "
            "nothing to monitor (choose another --since/--until, or check that predictions are logged)"
        )
    return traffic


def _window_result(window: Window, traffic: WindowTraffic, settings: MonitoringSection) -> WindowResult:
    return WindowResult(
        window=window,
        figures=traffic.figures(settings.min_labelled),
        versions=dict(sorted(traffic.versions.items())),
        calibration=calibration_curve(traffic.counts, traffic.sums)
        if traffic.labelled >= settings.min_labelled
        else [],
    )


def _served_profiles(
    client: MlflowClient, traffic: list[WindowTraffic], warnings: list[str]
) -> dict[str, ReferenceProfile | str]:
    """The profile of every model version in the range, or why there is none (a warning each)."""
    served = sorted({model for item in traffic for model in item.versions})
    profiles: dict[str, ReferenceProfile | str] = {}
    for model in served:
        name, version = model.rsplit(":", 1)
        try:
            profiles[model] = read_profile(client, name, version)
        except ProfileError as exc:
            profiles[model] = f"missing: {exc}"
            warnings.append(str(exc))
    return profiles


def _add_drift(
    results: list[WindowResult],
    model: str,
    profile: ReferenceProfile,
    histograms: dict[str, queries.FeatureHistogram],
    settings: MonitoringSection,
) -> None:
    for index, result in enumerate(results):
        rows = result.versions.get(model, 0)
        if rows == 0:
            continue
        judged = [_feature_drift(histograms[reference.name], index, settings) for reference in profile.features]
        prediction = _feature_drift(histograms[profile.prediction.name], index, settings)
        result.drift.append(VersionDrift(model, rows, judged, prediction))


def _feature_drift(histogram: queries.FeatureHistogram, window: int, settings: MonitoringSection) -> FeatureDrift:
    reference = histogram.reference
    missing = int(histogram.missing[window])
    if isinstance(reference, NumericReference):
        return numeric_drift(reference, histogram.bins[window], missing, settings.drift)
    return categorical_drift(reference, histogram.values[window], missing, settings.drift)


def check_specs(settings: MonitoringSection) -> list[CheckSpec]:
    """The checks the config asks for, in report order."""
    specs = [
        CheckSpec(metric, "performance", f"{metric} >= {floor:g}", _figure(metric, low=floor), low=floor)
        for metric, floor in settings.floors.items()
    ]
    specs += [
        CheckSpec(metric, "performance", f"{metric} <= {ceiling:g}", _figure(metric, high=ceiling), high=ceiling)
        for metric, ceiling in settings.ceilings.items()
    ]
    low, high = settings.positive_rate
    if (low, high) != (0.0, 1.0):
        rule = f"{low:g} <= positive_rate <= {high:g}"
        specs.append(CheckSpec("positive_rate", "prediction", rule, _figure("positive_rate", low, high), low, high))
    specs.append(  # its value is the worst PSI; the line drawn is the PSI cut-off of the drift rule
        CheckSpec(
            "prediction_drift",
            "prediction",
            f"prediction not drifted ({_rule(settings)})",
            _prediction_drift,
            high=settings.drift.psi_alert if settings.drift.rule != "test" else None,
        )
    )
    share = settings.drift.dataset_drift_share
    specs.append(
        CheckSpec(
            "data_drift", "drift", f"drifted features < {share:.0%} ({_rule(settings)})", _data_drift(share), high=share
        )
    )
    if settings.latency_p95_ms is not None:
        limit = settings.latency_p95_ms
        specs.append(
            CheckSpec(
                "latency_p95_ms",
                "service",
                f"latency p95 <= {limit:g} ms",
                _figure("latency_p95_ms", high=limit),
                high=limit,
            )
        )
    if settings.min_requests:
        minimum = float(settings.min_requests)
        specs.append(
            CheckSpec(
                "requests",
                "service",
                f"requests >= {settings.min_requests}",
                _figure("requests", low=minimum),
                low=minimum,
            )
        )
    return specs


def _rule(settings: MonitoringSection) -> str:
    drift = settings.drift
    words = {
        "psi_and_test": f"PSI >= {drift.psi_alert:g} and p < {drift.p_value:g}",
        "psi": f"PSI >= {drift.psi_alert:g}",
        "test": f"p < {drift.p_value:g}",
    }
    return f"drifted: {words[drift.rule]}"


def _figure(
    name: str, low: float | None = None, high: float | None = None
) -> Callable[[WindowResult], tuple[float | None, bool | None]]:
    def evaluate(result: WindowResult) -> tuple[float | None, bool | None]:
        value = result.figures.get(name)
        if value is None:
            return None, None
        return value, (low is not None and value < low) or (high is not None and value > high)

    return evaluate


def _prediction_drift(result: WindowResult) -> tuple[float | None, bool | None]:
    judged = [version.prediction for version in result.drift if version.prediction.status != "insufficient"]
    if not judged:
        return None, None
    worst = max(judged, key=lambda item: item.psi)
    return worst.psi, any(item.drifted for item in judged)


def _data_drift(share: float) -> Callable[[WindowResult], tuple[float | None, bool | None]]:
    def evaluate(result: WindowResult) -> tuple[float | None, bool | None]:
        shares = [version.drift_share for version in result.drift if version.drift_share is not None]
        if not shares:
            return None, None
        return max(shares), max(shares) >= share

    return evaluate


def _run_check(spec: CheckSpec, results: list[WindowResult], settings: MonitoringSection) -> MonitorCheckResult:
    evaluated = [spec.evaluate(result) for result in results]
    values = [value for value, _ in evaluated]
    breached = [flag for _, flag in evaluated]
    return MonitorCheckResult(
        spec.name,
        spec.category,
        spec.rule,
        values,
        breached,
        alert_state(breached, settings.alert),
        spec.low,
        spec.high,
        history=alert_history(breached, settings.alert),
    )

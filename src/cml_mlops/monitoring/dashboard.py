"""The monitoring dashboard: one self-contained HTML file (plots embedded as PNG) that reads offline.

`project_dashboard(config)` is what `cml-mlops report` writes and what the project's monitoring notebook shows
inline; both read only the store and the MLflow profiles, through `run_monitoring`.
"""

from __future__ import annotations

from pathlib import Path

from cml_mlops import __version__
from cml_mlops.config import MonitoringSection, ProjectConfig
from cml_mlops.monitoring.checks import MonitoringResult, WindowResult, run_monitoring
from cml_mlops.monitoring.plots import (
    calibration_figure,
    check_figure,
    distribution_figure,
    label_metrics_figure,
    latency_figure,
    latest_drift_figure,
    psi_heatmap,
    volume_figure,
)
from cml_mlops.monitoring.report import REPORT_FOLDER, STATUS_WORDS
from cml_mlops.monitoring.story import (
    alert_history_records,
    drift_records,
    drifted_features,
    event_records,
    status_line,
)
from cml_mlops.monitoring.windows import AUTO, duration_text, iso
from cml_mlops.reports.files import write_text_atomic
from cml_mlops.reports.html import HtmlReport, Table

DASHBOARD_FILE = "dashboard.html"
WINDOW_TABLE = ("positive_rate", "latency_p95_ms", "labelled", "roc_auc", "f1", "brier", "ece")
MAX_DISTRIBUTIONS = 12  # reference-vs-window plots of the most drifted features


def project_dashboard(
    config: ProjectConfig,
    *,
    window: str | None = AUTO,
    windows: int | None = None,
    since: float | None = None,
    until: float | None = None,
    progress: bool = False,
) -> HtmlReport:
    """Monitor the project's log and build its dashboard (a notebook shows the returned report inline).

    By default the windows fit the data's span (`window="auto"`); `window=None` takes monitoring.window."""
    result = run_monitoring(config, window=window, windows=windows, since=since, until=until, progress=progress)
    return build_dashboard(result, config.monitoring)


def write_dashboard(report: HtmlReport, folder: Path) -> Path:
    return write_text_atomic(folder / DASHBOARD_FILE, report.render())


def default_folder(config: ProjectConfig) -> Path:
    return config.path(config.reports.dir) / REPORT_FOLDER


def build_dashboard(result: MonitoringResult, settings: MonitoringSection) -> HtmlReport:
    plan = result.plan
    report = HtmlReport(
        title=f"Monitoring: {result.project}",
        metadata={
            "status": f"{status_line(result)} (exit code {result.exit_code})",
            "range": f"{iso(plan.since)} to {iso(plan.until)}",
            "windows": f"{plan.count} of {duration_text(plan.length)}",
            "store": result.store,
            "models": ", ".join(f"{model} ({source})" for model, source in result.profiles.items()),
            "generated at": result.generated_at,
            "cml-mlops": __version__,
        },
        warnings=_warnings(result),
    )
    windows = result.windows
    _story(report, result)
    summary = report.section("Checks")
    summary.text(
        f"Alert rule: a check alerts when it breaches in {result.alert_rule[0]} of the last {result.alert_rule[1]} "
        "windows and in the latest one."
    )
    summary.table(
        Table.from_records(
            [
                {
                    "check": c.name,
                    "category": c.category,
                    "rule": c.rule,
                    "status": STATUS_WORDS.get(c.status),
                    "latest": c.values[-1] if c.values else None,
                    "breached (last windows)": f"{c.state.breaches} of {c.state.considered}",
                    "alerting windows in range": len(c.alerted_windows),
                }
                for c in result.checks
            ]
        )
    )
    over_time = report.section("Metrics over time")
    over_time.text(
        "Red bands: windows at whose end the check was alerting. Dash-dotted lines: the model's events. Label "
        "metrics show their 95% confidence band (Wilson for rates, Hanley-McNeil for ROC AUC) and, in grey on the "
        "right axis, the labelled predictions per window."
    )
    over_time.figure(label_metrics_figure(windows), caption="label metrics per window", alt="label metrics")
    for check in result.checks:
        over_time.figure(check_figure(check, windows, result.events), caption=check.rule, alt=f"{check.name} over time")
    _drift_section(report, windows, settings)
    service = report.section("Volume, latency and models served")
    service.figure(volume_figure(windows), caption="requests per window by model version", alt="volume")
    service.figure(latency_figure(windows, settings.latency_p95_ms), caption="latency percentiles", alt="latency")
    service.table(
        Table.from_records(
            [
                {
                    "window end": iso(w.window.end),
                    "requests": w.requests,
                    "models": ", ".join(f"{m}: {n}" for m, n in w.versions.items()) or "no traffic",
                    **{name: w.figures.get(name) for name in WINDOW_TABLE},
                }
                for w in windows
            ],
            caption="every window",
        )
    )
    calibrated = next((w for w in reversed(windows) if w.calibration), None)
    if calibrated is not None:
        curve = calibration_figure(calibrated)
        if curve is not None:
            section = report.section("Calibration")
            section.figure(curve, caption=f"window ending {iso(calibrated.window.end)}", alt="calibration")
    return report


def _warnings(result: MonitoringResult) -> list[str]:
    now = [
        f"ALERT {check.name}: {check.rule}, breached in {check.state.breaches} of the last "
        f"{check.state.considered} windows"
        for check in result.alerts
    ]
    earlier = [
        f"ALERTED EARLIER {check.name}: {check.rule}, alerting at the end of {len(check.alerted_windows)} window(s) "
        f"of the range, not in the latest"
        for check in result.alerted_in_range
        if check not in result.alerts
    ]
    missing = [f"NO REFERENCE PROFILE for {model}: its drift is not checked" for model in result.missing_profiles]
    return now + earlier + missing + list(result.warnings)


def _story(report: HtmlReport, result: MonitoringResult) -> None:
    """The alert history of the whole range and the model's events, first: what happened, and when."""
    section = report.section("Alert history and events")
    history = alert_history_records(result)
    if history:
        section.table(Table.from_records(history, caption="alert episodes of every check over the range"))
    else:
        section.text("No check alerted in any window of the range.")
    events = event_records(result)
    if events:
        section.table(
            Table.from_records(events, caption="model events (MLflow registry: trainings, gates, deploys, aliases)")
        )
    else:
        section.text("No training, gate verdict, deploy or alias move of the model in the range.")


def _drift_section(report: HtmlReport, windows: list[WindowResult], settings: MonitoringSection) -> None:
    drift = report.section("Drift per feature")
    drift.text(
        "PSI of each feature against the reference profile saved with the served model version at training time; "
        f"watch from {settings.drift.psi_watch:g}, alert from {settings.drift.psi_alert:g}. A feature counts as "
        f"drifted by the rule {settings.drift.rule!r} (p-value {settings.drift.p_value:g})."
    )
    heatmap = psi_heatmap(windows, settings.drift)
    if heatmap is None:
        drift.text("No drift computed: no window had a profiled model version with enough rows.")
    else:
        drift.figure(heatmap, caption="PSI per feature and window", alt="feature drift heatmap")
    latest = _latest_with_drift(windows)
    if latest is None:
        return
    bars = latest_drift_figure(latest, settings.drift)
    if bars is not None:
        drift.figure(bars, caption=f"window ending {iso(latest.window.end)}", alt="latest feature drift")
    caption = f"drift in the window ending {iso(latest.window.end)}, highest PSI first"
    drift.table(Table.from_records(drift_records(latest), caption=caption))
    drifted = next((window for window in reversed(windows) if drifted_features(window)), None)
    if drifted is None:
        drift.text("No feature drifted in any window of the range.")
        return
    ending = iso(drifted.window.end)
    if drifted is not latest:
        drift.text(f"The latest window with drifted features ends {ending}: its drift, and where the data moved.")
        drift.table(Table.from_records(drift_records(drifted), caption=f"drift in the window ending {ending}"))
    for item in drifted_features(drifted)[:MAX_DISTRIBUTIONS]:
        shares = distribution_figure(item)
        if shares is not None:
            drift.figure(
                shares, caption=f"{item.name}: reference vs window ending {ending}", alt=f"{item.name} distribution"
            )


def _latest_with_drift(windows: list[WindowResult]) -> WindowResult | None:
    return next((window for window in reversed(windows) if window.worst_feature_drift()), None)

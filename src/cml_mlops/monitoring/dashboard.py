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
    label_metrics_figure,
    latency_figure,
    latest_drift_figure,
    psi_heatmap,
    volume_figure,
)
from cml_mlops.monitoring.report import REPORT_FOLDER, STATUS_WORDS
from cml_mlops.monitoring.windows import duration_text, iso
from cml_mlops.reports.files import write_text_atomic
from cml_mlops.reports.html import HtmlReport, Table

DASHBOARD_FILE = "dashboard.html"
WINDOW_TABLE = ("positive_rate", "latency_p95_ms", "labelled", "roc_auc", "f1", "brier", "ece")


def project_dashboard(
    config: ProjectConfig,
    *,
    window: str | None = None,
    windows: int | None = None,
    since: float | None = None,
    until: float | None = None,
    progress: bool = False,
) -> HtmlReport:
    """Monitor the project's log and build its dashboard (a notebook shows the returned report inline)."""
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
            "status": f"{STATUS_WORDS.get(result.status, result.status)} (exit code {result.exit_code})",
            "range": f"{iso(plan.since)} to {iso(plan.until)}",
            "windows": f"{plan.count} of {duration_text(plan.length)}",
            "store": result.store,
            "models": ", ".join(f"{model} ({source})" for model, source in result.profiles.items()),
            "generated at": result.generated_at,
            "cml-mlops": __version__,
        },
        warnings=[
            f"ALERT {check.name}: {check.rule}, breached in {check.state.breaches} of the last "
            f"{check.state.considered} windows"
            for check in result.alerts
        ]
        + list(result.warnings),
    )
    windows = result.windows
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
                }
                for c in result.checks
            ]
        )
    )
    over_time = report.section("Metrics over time")
    over_time.figure(label_metrics_figure(windows), caption="label metrics per window", alt="label metrics")
    for check in result.checks:
        over_time.figure(check_figure(check, windows), caption=check.rule, alt=f"{check.name} over time")
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
    if latest is not None:
        bars = latest_drift_figure(latest, settings.drift)
        if bars is not None:
            drift.figure(bars, caption=f"window ending {iso(latest.window.end)}", alt="latest feature drift")
        drift.table(_drift_table(latest))
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
        figure = calibration_figure(calibrated)
        if figure is not None:
            section = report.section("Calibration")
            section.figure(figure, caption=f"window ending {iso(calibrated.window.end)}", alt="calibration")
    alerts = report.section("Alerts")
    if result.alerts:
        alerts.table(
            Table.from_records(
                [
                    {
                        "check": c.name,
                        "rule": c.rule,
                        "breached windows": ", ".join(
                            iso(windows[i].window.end) for i, b in enumerate(c.breached) if b
                        ),
                    }
                    for c in result.alerts
                ]
            )
        )
    else:
        alerts.text("No check alerts.")
    return report


def _latest_with_drift(windows: list[WindowResult]) -> WindowResult | None:
    return next((window for window in reversed(windows) if window.worst_feature_drift()), None)


def _drift_table(window: WindowResult) -> Table:
    records = [
        {
            "model": version.model,
            "feature": item.name,
            "kind": item.kind,
            "rows": item.rows,
            "missing": item.missing,
            "PSI": item.psi,
            "test": item.test,
            "statistic": item.statistic,
            "p-value": item.p_value,
            "status": item.status,
            "drifted": item.drifted,
        }
        for version in window.drift
        for item in [version.prediction, *version.features]
    ]
    return Table.from_records(records, caption=f"drift in the window ending {iso(window.window.end)}")

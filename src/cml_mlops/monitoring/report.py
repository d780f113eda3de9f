"""`monitoring.json` for machines and `monitoring.md` for people (a CI job summary): the same result, twice."""

from __future__ import annotations

from pathlib import Path

from cml_mlops.monitoring.checks import MonitorCheckResult, MonitoringResult, WindowResult
from cml_mlops.monitoring.story import (
    alert_history_records,
    drift_records,
    event_records,
    retraining_records,
    status_line,
)
from cml_mlops.monitoring.windows import duration_text, iso
from cml_mlops.reports.files import dumps_json, write_files_atomic
from cml_mlops.reports.html import Table, format_cell

REPORT_FOLDER = "monitoring"
STATUS_WORDS = {
    "alert": "ALERT",
    "breach": "breach",
    "ok": "ok",
    "no_data": "no data",
    "missing_profile": "missing reference profile",
}
LATEST_FIGURES = (
    "requests",
    "positive_rate",
    "mean_probability",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "labelled",
    "label_rate",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "brier",
    "ece",
)


def write_monitoring_report(result: MonitoringResult, folder: Path) -> tuple[Path, Path]:
    """`<folder>/monitoring.json` and `.md`, written together (all or nothing)."""
    json_path, markdown_path = folder / "monitoring.json", folder / "monitoring.md"
    write_files_atomic({json_path: dumps_json(result.to_dict()), markdown_path: to_markdown(result)})
    return json_path, markdown_path


def to_markdown(result: MonitoringResult) -> str:
    plan = result.plan
    lines = [
        f"# Monitoring: {result.project}",
        "",
        f"**Status: {STATUS_WORDS.get(result.status, result.status)}** (exit code {result.exit_code}): "
        + (", ".join(f"`{check.name}`" for check in result.alerts) + " alerting" if result.alerts else "no alert")
        + f". {status_line(result)}.",
        "",
        f"{plan.count} windows of {duration_text(plan.length)} from {iso(plan.since)} to {iso(plan.until)}; "
        f"store `{result.store}`; generated {result.generated_at} in {result.seconds:.1f} s.",
        "",
        "## Checks",
        "",
        f"Alert rule: breached in M of the last N windows and in the latest one ({_alert_rule(result)}).",
        "",
        "| check | category | rule | status | latest | breached in last windows |",
        "|---|---|---|---|---|---|",
        *(_check_row(check) for check in result.checks),
    ]
    lines += ["", "## Alert history", ""]
    history = alert_history_records(result)
    lines += Table.from_records(history).to_markdown() if history else ["No check alerted in the range."]
    lines += ["", "## Model events", ""]
    events = event_records(result)
    lines += Table.from_records(events).to_markdown() if events else ["No training, gate, deploy or alias move."]
    latest = result.windows[-1]
    lines += ["", f"## Latest window ({iso(latest.window.start)} to {iso(latest.window.end)})", ""]
    lines += _latest(latest)
    lines += _drift(latest)
    if result.missing_profiles:
        lines += ["", "## Missing reference profiles", ""]
        lines += [f"- `{model}`: its drift is not checked (`cml-mlops monitor --backfill-profiles`)"
                  for model in result.missing_profiles]  # fmt: skip
    if result.warnings:
        lines += ["", "## Warnings", "", *(f"- {warning}" for warning in result.warnings)]
    if result.retraining is not None:
        summary, steps = retraining_records(result.retraining)
        lines += ["", "## Retraining", "", *Table.from_records(summary).to_markdown()]
        if steps:
            lines += ["", *Table.from_records(steps).to_markdown()]
    return "\n".join(lines) + "\n"


def _alert_rule(result: MonitoringResult) -> str:
    breaches, windows = result.alert_rule
    return f"M = {breaches}, N = {windows}"


def _check_row(check: MonitorCheckResult) -> str:
    status = STATUS_WORDS.get(check.status, check.status)
    latest = format_cell(check.values[-1]) if check.values and check.values[-1] is not None else "n/a"
    return (
        f"| {check.name} | {check.category} | {check.rule} | {status} | {latest} | "
        f"{check.state.breaches} of {check.state.considered} |"
    )


def _latest(latest: WindowResult) -> list[str]:
    if latest.requests == 0:
        return ["No traffic in this window."]
    versions = ", ".join(f"`{model}`: {rows}" for model, rows in latest.versions.items())
    rows = [f"| {name} | {format_cell(latest.figures.get(name)) or 'n/a'} |" for name in LATEST_FIGURES]
    return [f"Models served: {versions}.", "", "| figure | value |", "|---|---|", *rows]


def _drift(latest: WindowResult) -> list[str]:
    if not latest.drift:
        return []
    lines = ["", "### Drift against the reference profile (highest PSI first)", ""]
    return lines + Table.from_records(drift_records(latest)).to_markdown()

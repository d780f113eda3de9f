"""`cml-mlops monitor` (step 09): the checks on the prediction log; exit code 1 when one alerts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from cml_mlops.cli_support import StepFailed, pass_config
from cml_mlops.config import ProjectConfig
from cml_mlops.errors import CmlMlopsError
from cml_mlops.monitoring.checks import MonitoringResult, run_monitoring
from cml_mlops.monitoring.outcome import MonitorExit
from cml_mlops.monitoring.report import REPORT_FOLDER, to_markdown, write_monitoring_report
from cml_mlops.monitoring.source import NoTraffic
from cml_mlops.monitoring.windows import parse_time
from cml_mlops.reports.files import to_jsonable

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"  # GitHub Actions shows Markdown appended to this file on the run's page


def range_options(command: Any) -> Any:
    """--window, --windows, --since, --until: shared by `monitor` and `report`."""
    for option in reversed(
        [
            click.option(
                "--window",
                default=None,
                help="Window length: 30m, 6h, 1d, 1w, or auto (from the data's span) (default: monitoring.window).",
            ),
            click.option(
                "--windows",
                type=click.IntRange(1, 1000),
                default=None,
                help="Number of windows, ending at --until (default: monitoring.windows).",
            ),
            click.option(
                "--since",
                default=None,
                help="Start of the range (ISO 8601, UTC unless stated, or epoch seconds); sets the windows.",
            ),
            click.option("--until", default=None, help="End of the range (default: the latest logged prediction)."),
        ]
    ):
        command = option(command)
    return command


def monitoring_from_options(
    config: ProjectConfig, window: str | None, windows: int | None, since: str | None, until: str | None, progress: bool
) -> MonitoringResult:
    return run_monitoring(
        config,
        window=window,
        windows=windows,
        since=None if since is None else parse_time(since),
        until=None if until is None else parse_time(until),
        progress=progress,
    )


@click.command("monitor")
@range_options
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for monitoring.json and monitoring.md (default: <reports.dir>/monitoring).",
)
@click.option(
    "--retrain-on-alert",
    is_flag=True,
    help="When a performance, prediction or drift check alerts, run the lifecycle (cml-mlops lifecycle) after.",
)
@click.option(
    "--backfill-profiles",
    is_flag=True,
    help="First give every served version of the project's model a reference profile if it has none "
    "(versions trained before profiles existed; reads their lake snapshot).",
)
@click.option("--progress/--no-progress", default=True, help="Show progress on stderr.")
@pass_config
def monitor(
    config: ProjectConfig,
    window: str | None,
    windows: int | None,
    since: str | None,
    until: str | None,
    output_dir: Path | None,
    retrain_on_alert: bool,
    backfill_profiles: bool,
    progress: bool,
) -> None:
    """Monitor the logged predictions per time window: volume, latency, positive rate, label metrics where labels
    exist, and drift of every feature and of the predictions against the served version's reference profile.

    Writes <reports.dir>/monitoring/monitoring.{json,md} (and appends the Markdown to $GITHUB_STEP_SUMMARY when
    set). Reads the store and MLflow only; writes nothing to either.

    Exit codes (cml_mlops.monitoring.outcome): 0 ok; 1 a check alerts (breached in M of the last N windows and in
    the latest); 3 misconfigured: a served version has no reference profile (its drift is not checked; see
    --backfill-profiles), or the options, config or store are wrong (unreachable, not the prediction log's tables);
    4 no data yet: no prediction log, or nothing logged in the range.
    """
    try:
        if backfill_profiles:
            _backfill(config)
        result = monitoring_from_options(config, window, windows, since, until, progress)
        if retrain_on_alert and result.retrain_alerts:
            result.retraining = _retrain(config, result, progress)
        folder = output_dir if output_dir is not None else config.path(config.reports.dir) / REPORT_FOLDER
        _, markdown_path = write_monitoring_report(result, folder)
    except CmlMlopsError as exc:  # also when invoked outside the CLI group, e.g. by tests
        raise StepFailed(str(exc), failure_exit_code(exc)) from None
    markdown = to_markdown(result)
    click.echo(markdown)
    summary = os.environ.get(STEP_SUMMARY_ENV)
    if summary:
        with Path(summary).open("a", encoding="utf-8") as stream:
            stream.write(markdown)
    if result.alerts:
        names = ", ".join(f"{check.name} ({check.rule})" for check in result.alerts)
        raise StepFailed(f"monitoring ALERT: {names} (report: {markdown_path})", result.exit_code)
    if result.missing_profiles:
        raise StepFailed(
            f"no reference profile for {', '.join(result.missing_profiles)}: their drift is not checked; give them "
            f"one with `cml-mlops monitor --backfill-profiles` (report: {markdown_path})",
            result.exit_code,
        )
    click.echo(f"monitoring ok: no check alerts (report: {markdown_path})")


def failure_exit_code(exc: CmlMlopsError) -> int:
    """A monitor that could not run: no data yet (4), or anything else wrong with config, options or store (3)."""
    return MonitorExit.NO_DATA if isinstance(exc, NoTraffic) else MonitorExit.MISCONFIGURED


def _backfill(config: ProjectConfig) -> None:
    from cml_mlops.monitoring.profile_store import ensure_profile
    from cml_mlops.monitoring.queries import served_versions
    from cml_mlops.monitoring.source import read_store

    with read_store(config) as store:
        versions = served_versions(store.connection, config.tracking.model_name)
    for version in versions:
        profile = ensure_profile(config, version)
        click.echo(f"reference profile of {config.tracking.model_name} version {version}: {profile.source}", err=True)


def _retrain(config: ProjectConfig, result: MonitoringResult, progress: bool) -> dict[str, Any]:
    """Run the lifecycle; its outcome goes into the report whether it deployed, kept the champion or failed."""
    from cml_mlops.lifecycle import LifecycleError, run_lifecycle

    names = ", ".join(check.name for check in result.retrain_alerts)
    click.echo(f"alerts on {names}: running the lifecycle (retrain, gate, redeploy)", err=True)
    try:
        # No synthetic batch: retrain on the data that arrived in the lake, which the alert is about.
        summary = run_lifecycle(
            config, new_batch=False, progress=progress, echo=lambda text: click.echo(text, err=True)
        )
    except LifecycleError as exc:
        click.echo(f"retraining failed: {exc}", err=True)
        return {"triggered_by": names, **exc.summary.to_dict()}
    return {"triggered_by": names, **to_jsonable(summary.to_dict())}

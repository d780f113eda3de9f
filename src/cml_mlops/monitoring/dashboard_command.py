"""`cml-mlops report`: the monitoring dashboard as one HTML file that reads offline."""

from __future__ import annotations

from pathlib import Path

import click

from cml_mlops.cli_support import StepFailed, pass_config
from cml_mlops.config import ProjectConfig
from cml_mlops.errors import CmlMlopsError
from cml_mlops.monitoring.command import failure_exit_code, monitoring_from_options, range_options
from cml_mlops.monitoring.dashboard import build_dashboard, default_folder, write_dashboard


@click.command("report")
@range_options
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for dashboard.html (default: <reports.dir>/monitoring).",
)
@click.option("--progress/--no-progress", default=True, help="Show progress on stderr.")
@pass_config
def report(
    config: ProjectConfig,
    window: str | None,
    windows: int | None,
    since: str | None,
    until: str | None,
    output_dir: Path | None,
    progress: bool,
) -> None:
    """Write the monitoring dashboard: metrics over time with their limits, drift per feature, volume and latency,
    the models served over time, and the alerts. Reads the store and MLflow only.

    Exits 0 when the dashboard is written, whatever the checks say (`cml-mlops monitor` is the gate); when it
    cannot be, with monitor's codes: 3 options, config or store wrong, 4 no traffic in the range.
    """
    try:
        result = monitoring_from_options(config, window, windows, since, until, progress)
        path = write_dashboard(build_dashboard(result, config.monitoring), output_dir or default_folder(config))
    except CmlMlopsError as exc:
        raise StepFailed(str(exc), failure_exit_code(exc)) from None
    click.echo(f"wrote {path} ({result.status}: {len(result.alerts)} alerting check(s))")

"""`cml-mlops report`: the monitoring dashboard as one HTML file that reads offline."""

from __future__ import annotations

from pathlib import Path

import click

from cml_mlops.cli_support import StepFailed, pass_config
from cml_mlops.config import ProjectConfig
from cml_mlops.errors import CmlMlopsError
from cml_mlops.monitoring.command import failure_exit_code, monitoring_from_options, range_options
from cml_mlops.monitoring.dashboard import build_dashboard, default_folder, write_dashboard
from cml_mlops.monitoring.windows import AUTO


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
    """Write the monitoring dashboard: the alert history and the model's events, metrics over time with their
    limits, drift per feature, volume and latency, the models served over time. Reads the store and MLflow only.
    Without --window, --windows or --since the windows fit the data's span (--window auto).

    Exits 0 when the dashboard is written, whatever the checks say (`cml-mlops monitor` is the gate); when it
    cannot be, with monitor's codes: 3 options, config or store wrong, 4 no traffic in the range.
    """
    try:
        # Without a range, the windows fit the data (a day of traffic in hourly windows, not in 1 of 30 days).
        chosen = window or (AUTO if windows is None and since is None else None)
        result = monitoring_from_options(config, chosen, windows, since, until, progress)
        path = write_dashboard(build_dashboard(result, config.monitoring), output_dir or default_folder(config))
    except CmlMlopsError as exc:
        raise StepFailed(str(exc), failure_exit_code(exc)) from None
    click.echo(f"wrote {path} ({result.status}: {len(result.alerts)} alerting check(s))")

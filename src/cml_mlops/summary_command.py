"""`cml-mlops summary training|alert`: the Markdown summaries CI posts, from the reports under `reports.dir`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cml_mlops.cli_support import CleanErrorsGroup, pass_config
from cml_mlops.summaries import ALERT_FILE  # a light module: `--help` needs the file name only

if TYPE_CHECKING:
    from cml_mlops.config import ProjectConfig


@click.group("summary", cls=CleanErrorsGroup)
def summary() -> None:
    """Markdown summaries for pull requests and monitoring issues."""


@summary.command("training")
@click.option(
    "--since", type=float, default=None,
    help="Epoch seconds the run started: older reports count as missing (default: any age).",
)  # fmt: skip
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Also write it here (and to $GITHUB_STEP_SUMMARY when set).",
)  # fmt: skip
@pass_config
def training(config: ProjectConfig, since: float | None, output: Path | None) -> None:
    """Metrics of the last training run and the gate's verdict on that version."""
    from cml_mlops.summaries import training_summary, write_summary

    text = training_summary(config, since if since is not None else 0.0)
    if output is not None:
        write_summary(text, output)
    click.echo(text, nl=False)


@summary.command("alert")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help=f"Where to write it (default: <reports.dir>/{ALERT_FILE.as_posix()}, uploaded with the monitoring report).",
)  # fmt: skip
@pass_config
def alert(config: ProjectConfig, output: Path | None) -> None:
    """The monitoring issue's text: the CI run's link and the monitoring report."""
    from cml_mlops.summaries import alert_summary

    path = output or config.path(config.reports.dir) / ALERT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(alert_summary(config), encoding="utf-8")
    click.echo(f"wrote {path}")

"""`cml-mlops`: one command per lifecycle step, run inside a generated project."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from cml_mlops import __version__
from cml_mlops.cli_support import CleanErrorsGroup, CliState
from cml_mlops.config import PROFILE_ENV, PROFILES

# Each step's module is imported only when that step runs (see CleanErrorsGroup).
COMMANDS = {
    "ingest": "cml_mlops.ingest.command:ingest",
    "lake": "cml_mlops.data_commands:lake",
    "validate": "cml_mlops.data_commands:validate",
    "eda": "cml_mlops.eda.command:eda",
    "contract": "cml_mlops.contracts.command:contract",
    "train": "cml_mlops.training.command:train_command",
    "gate": "cml_mlops.gates.command:gate",
    "deploy": "cml_mlops.deploy.command:deploy",
    "undeploy": "cml_mlops.deploy.command:undeploy",
    "serving-status": "cml_mlops.deploy.command:serving_status",
    "cml-emulator": "cml_mlops.cml.emulator.command:cml_emulator",
    "cml": "cml_mlops.cml.jobs_command:cml_group",
    "newbatch": "cml_mlops.batches.command:newbatch",
    "retrain": "cml_mlops.retraining.command:retrain",
    "lifecycle": "cml_mlops.lifecycle.command:lifecycle",
    "simulate": "cml_mlops.simulation.command:simulate",
    "labels": "cml_mlops.labels.command:labels",
    "monitor": "cml_mlops.monitoring.command:monitor",
    "report": "cml_mlops.monitoring.dashboard_command:report",
    "score": "cml_mlops.batch_scoring_command:score",
    "config": "cml_mlops.config_command:config_group",
    "summary": "cml_mlops.summary_command:summary",
}


@click.group(cls=CleanErrorsGroup, lazy_commands=COMMANDS)
@click.version_option(__version__, prog_name="cml-mlops")
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Generated project folder (default: the nearest folder holding cml-mlops.yaml).",
)
@click.option(
    "--profile",
    type=click.Choice(PROFILES),
    envvar=PROFILE_ENV,
    default=None,
    help=f"Config profile (default: ${PROFILE_ENV} or 'local').",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None, profile: str | None, verbose: bool) -> None:
    """Test-driven MLOps lifecycle for Cloudera Machine Learning."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = CliState(project_dir=project_dir, profile=profile)


def main() -> None:
    """Console-script entry point."""
    cli()

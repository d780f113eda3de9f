"""`cml-mlops`: one command per lifecycle step, run inside a generated project."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from cml_mlops import __version__
from cml_mlops.cli_support import CleanErrorsGroup, CliState, LazyCommand
from cml_mlops.profiles import PROFILE_ENV, PROFILES

# Each step's module is imported only when that step runs; its short help (the first paragraph of its docstring)
# is copied here so that `cml-mlops --help` imports none of them. tests/test_cli_startup.py keeps the two equal.
COMMANDS: dict[str, LazyCommand] = {
    "ingest": LazyCommand(
        "cml_mlops.ingest.command:ingest", "Download the data set, extract its CSV safely and verify its SHA-256."
    ),
    "lake": LazyCommand("cml_mlops.lake.command:lake", "Inspect and manage the Iceberg tables of the project."),
    "validate": LazyCommand(
        "cml_mlops.data_commands:validate",
        "Validate the lake table against the data contract; write reports/validation.{json,md}.",
    ),
    "eda": LazyCommand(
        "cml_mlops.eda.command:eda",
        "Explore the raw data: distributions, target rates, missing values, correlations, leakage candidates.",
    ),
    "contract": LazyCommand("cml_mlops.contracts.command:contract", "Data contracts of the use case."),
    "train": LazyCommand(
        "cml_mlops.training.command:train_command",
        "Train every candidate (tracked in MLflow), select on validation, register the selected model.",
    ),
    "gate": LazyCommand(
        "cml_mlops.gates.command:gate",
        "Check a model version against the gates in cml-mlops.yaml: floors, a dummy baseline, non-inferiority to "
        "the champion (paired bootstrap), segment floors and the input/output contracts.",
    ),
    "deploy": LazyCommand(
        "cml_mlops.deploy.command:deploy",
        "Serve a gated model version, replacing the served one without downtime; alias it `champion`.",
    ),
    "undeploy": LazyCommand(
        "cml_mlops.deploy.command:undeploy",
        "Stop serving (local: the model server and its state; cml: the model's active deployments).",
    ),
    "serving-status": LazyCommand(
        "cml_mlops.deploy.command:serving_status",
        "What is served and whether it answers. Exit 1 when a deployment is recorded but not healthy.",
    ),
    "cml-emulator": LazyCommand(
        "cml_mlops.cml.emulator.command:cml_emulator",
        "Serve an emulated Cloudera ML API v2 workspace (and its model service) until interrupted.",
    ),
    "cml": LazyCommand(
        "cml_mlops.cml.jobs_command:cml_group",
        "The project's CML jobs: create or update them from cml/jobs.yaml, run them and follow their chain.",
    ),
    "newbatch": LazyCommand(
        "cml_mlops.batches.command:newbatch",
        "Append a synthetic batch drawn from the table (bootstrap plus noise), optionally drifted, as one new "
        "Iceberg snapshot. The batch must pass the data contract first; a refused batch leaves the table unchanged.",
    ),
    "retrain": LazyCommand(
        "cml_mlops.retraining.command:retrain",
        "Retrain the project's candidates on the lake table (history plus the rows appended since the champion's "
        "training snapshot), record the lineage in MLflow, and gate the new version against the champion.",
    ),
    "lifecycle": LazyCommand(
        "cml_mlops.lifecycle.command:lifecycle",
        "Run new batch -> retrain (gated against the champion) -> redeploy when the gate passed, then print a summary.",
    ),
    "simulate": LazyCommand(
        "cml_mlops.simulation.command:simulate",
        "Send real rows to the deployed model, check that the server captured every answer, then send delayed labels.",
    ),
    "monitor": LazyCommand(
        "cml_mlops.monitoring.command:monitor",
        "Monitor the logged predictions per time window: volume, latency, positive rate, label metrics where "
        "labels exist, and drift of every feature and of the predictions against the served version's reference "
        "profile.",
    ),
    "report": LazyCommand(
        "cml_mlops.monitoring.dashboard_command:report",
        "Write the monitoring dashboard: the alert history and the model's events, metrics over time with their "
        "limits, drift per feature, volume and latency, the models served over time. Reads the store and MLflow "
        "only. Without --window, --windows or --since the windows fit the data's span (--window auto).",
    ),
    "labels": LazyCommand("cml_mlops.labels_command:labels", "Ground truth of logged predictions."),
    "score": LazyCommand(
        "cml_mlops.batch_scoring_command:score",
        "Score every row with the registered model; the predictions table is written in one snapshot.",
    ),
    "config": LazyCommand(
        "cml_mlops.config_command:config_group",
        "The project configuration (cml-mlops.yaml, its profiles and CML_MLOPS_* variables).",
    ),
    "summary": LazyCommand(
        "cml_mlops.summary_command:summary", "Markdown summaries for pull requests and monitoring issues."
    ),
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

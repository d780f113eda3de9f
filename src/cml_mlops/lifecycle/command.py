"""`cml-mlops lifecycle`: new batch -> retrain -> redeploy as one command (what CML jobs and scheduled CI call).

Exit codes: 0 when the chain ran to its end, whether it deployed a new version, kept the champion because the new
version failed its gate, or found nothing new (with --require-deploy, only a deployment is 0); 1 when a step
failed, after printing the summary.
"""

from __future__ import annotations

import click

from cml_mlops.batches.command import batch_options, drift_from_options
from cml_mlops.cli_support import StepFailed, pass_config
from cml_mlops.config import ProjectConfig
from cml_mlops.deploy.base import TARGETS
from cml_mlops.lifecycle.chain import LifecycleError, run_lifecycle
from cml_mlops.lifecycle.summary import SUMMARY_FOLDER, SUMMARY_JSON


@click.command("lifecycle")
@click.option(
    "--target",
    type=click.Choice(sorted(TARGETS)),
    default=None,
    help="Where to deploy a version that passed its gate (default: lifecycle.target).",
)
@click.option(
    "--new-batch/--skip-newbatch",
    "new_batch",
    default=None,
    help="Append a synthetic batch first, or retrain on data that arrived by other means "
    "(default: lifecycle.new_batch).",
)
@batch_options
@click.option("--force", is_flag=True, help="Retrain even when no rows arrived since the champion's snapshot.")
@click.option("--require-deploy", is_flag=True, help="Exit 1 unless a new version was deployed.")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
@pass_config
def lifecycle(
    config: ProjectConfig,
    target: str | None,
    new_batch: bool | None,
    rows: int | None,
    seed: int | None,
    noise: float | None,
    shifts: tuple[str, ...],
    mixes: tuple[str, ...],
    flip_labels: float | None,
    force: bool,
    require_deploy: bool,
    no_progress: bool,
) -> None:
    """Run new batch -> retrain (gated against the champion) -> redeploy when the gate passed, then print a summary.

    A version that fails its gate is not deployed: the champion keeps serving and the summary says why. Writes
    reports/lifecycle/summary.{json,md}.
    """
    drift = drift_from_options(shifts, mixes, flip_labels)
    try:
        summary = run_lifecycle(
            config,
            target=target,
            new_batch=new_batch,
            rows=rows,
            seed=seed,
            noise=noise,
            drift=drift,
            force=force,
            progress=not no_progress,
            echo=lambda text: click.echo(text, err=True),
        )
    except LifecycleError as exc:
        click.echo(exc.summary.to_text())
        raise StepFailed(str(exc), exc.exit_code) from None
    click.echo(summary.to_text())
    click.echo(f"summary: {config.path(config.reports.dir) / SUMMARY_FOLDER / SUMMARY_JSON}")
    if require_deploy and not summary.deployed:
        raise StepFailed(f"no new version was deployed (--require-deploy): {summary.reason}", exit_code=1)

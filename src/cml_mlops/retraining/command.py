"""`cml-mlops retrain`: retrain on history plus the new increment, gate against the champion.

Exit codes: 0 when a retrained version passed its gate, or when there was nothing new to train on; 1 when the
retrained version failed its gate (like `cml-mlops gate`: a chained deploy job must not run) or a step failed.
"""

from __future__ import annotations

import click

from cml_mlops.cli_support import StepFailed, pass_config
from cml_mlops.config import ProjectConfig
from cml_mlops.gates import GateReport
from cml_mlops.retraining.retrain import RetrainResult, run_retrain, write_retrain_report
from cml_mlops.training.command import summary_text, write_training_report


@click.command("retrain")
@click.option("--force", is_flag=True, help="Retrain even when no rows arrived since the champion's snapshot.")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
@pass_config
def retrain(config: ProjectConfig, force: bool, no_progress: bool) -> None:
    """Retrain the project's candidates on the lake table (history plus the rows appended since the champion's
    training snapshot), record the lineage in MLflow, and gate the new version against the champion.

    Writes reports/retrain.json (and training.json, gate/gate-v<N>.{json,md}); exits 1 when the gate fails.
    """
    result = run_retrain(config, force=force, progress=not no_progress)
    click.echo(lineage_text(result))
    if result.training is None:
        click.echo("nothing new since then: no retraining (use --force to retrain anyway)")
        click.echo(f"report: {write_retrain_report(config, result)}")
        return
    write_training_report(config, result.training)
    click.echo(summary_text(result.training))
    report = write_retrain_report(config, result)
    click.echo(verdict_text(result))
    click.echo(f"report: {report}")
    if not result.gate_passed:
        raise StepFailed(f"{verdict_text(result)} (report: {result.gate_report})", exit_code=1)


def lineage_text(result: RetrainResult) -> str:
    return (
        f"challenging {result.baseline.describe()}, trained on {result.table}@{result.previous_snapshot_id}\n"
        f"increment: {result.increment_rows:,} new rows up to snapshot {result.snapshot_id}"
    )


def verdict_text(result: RetrainResult) -> str:
    gate = result.gate
    if gate is None:
        return "not gated: nothing was trained"
    if gate.passed:
        return f"quality gate passed: version {gate.version} is the challenger (against {_against(gate)})"
    failed = "; ".join(f"{check.kind}: {check.name}" for check in gate.failed_checks) or "nothing was checked"
    return f"quality gate FAILED for version {gate.version} (against {_against(gate)}): {failed}"


def _against(gate: GateReport) -> str:
    return f"champion version {gate.champion_version}" if gate.champion_version else "no champion"

"""`cml-mlops train`: train candidates on a lake snapshot, register the selected run, write reports/training.json."""

from __future__ import annotations

from pathlib import Path

import click

from cml_mlops.cli_support import pass_config
from cml_mlops.config import ProjectConfig
from cml_mlops.reports import write_json
from cml_mlops.training.trainer import TrainingResult, train

SUMMARY_METRICS = ("roc_auc", "pr_auc", "log_loss", "brier", "precision", "recall", "f1", "lift_top_decile")


@click.command("train")
@click.option("--snapshot-id", type=int, default=None, help="Lake snapshot to train on (default: the current one).")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
@pass_config
def train_command(config: ProjectConfig, snapshot_id: int | None, no_progress: bool) -> None:
    """Train every candidate (tracked in MLflow), select on validation, register the selected model."""
    result = train(config, snapshot_id=snapshot_id, progress=not no_progress)
    report = write_training_report(config, result)
    click.echo(summary_text(result))
    click.echo(f"report: {report}")


def write_training_report(config: ProjectConfig, result: TrainingResult) -> Path:
    """reports/training.json: the TrainingResult as JSON."""
    return write_json(config.path(config.reports.dir) / "training.json", result)


def summary_text(result: TrainingResult) -> str:
    """A short summary: the candidates ranked by the validation metric, the selection, its test metrics."""
    metric = result.primary_metric
    width = max(len(candidate.run_name) for candidate in result.candidates)
    lines = [f"trained {len(result.candidates)} candidate runs on {result.table}@{result.snapshot_id}", ""]
    lines.append(f"  {'run':<{width}}  val_{metric:<10} run id")
    for candidate in result.candidates:
        marker = "*" if candidate.selected else " "
        lines.append(
            f"{marker} {candidate.run_name:<{width}}  {candidate.validation[metric]:<14.4f} {candidate.run_id}"
        )
    selected = result.selected
    tests = ", ".join(f"{name}={result.test_metrics[name]:.4f}" for name in SUMMARY_METRICS)
    lines += [
        "",
        f"selected: {selected.run_name} (run {selected.run_id}), threshold {result.threshold:.4f}",
        f"test: {tests}",
        f"registered: {result.model_name} version {result.model_version}",
    ]
    return "\n".join(lines)

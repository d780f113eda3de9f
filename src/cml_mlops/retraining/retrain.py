"""Step 06: retrain on history plus the increment since the champion's training snapshot, then gate the result.

The increment is read incrementally from the lake (only the rows appended since that snapshot). When it is empty
there is nothing new to learn from, so nothing is trained unless forced. Otherwise the project's candidates are
trained (the training harness) on the table's current snapshot, which is history plus increment, with the lineage
recorded on every run and on the new model version; then the same quality gate runs against the champion.

Every row keeps the part (train, validation, test) the version that first saw it gave it, recorded by row key with
each version (training.row_parts); synthetic rows take the part of the row they were drawn from and only unseen rows
are split anew. A fresh split would put rows the champion trained on into the new test split, and the gate would
then compare the challenger with a champion scored on its own training data; the gate checks that none are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from cml_mlops.config import ProjectConfig
from cml_mlops.errors import LakeError
from cml_mlops.gates import GateReport, run_gate
from cml_mlops.gates.report import REPORT_FOLDER
from cml_mlops.lake import open_lake
from cml_mlops.reports import write_json
from cml_mlops.retraining.baseline import Baseline, RetrainError, find_baseline
from cml_mlops.tracking import configure_mlflow
from cml_mlops.training import TrainingResult, train

RETRAIN_REPORT = "retrain.json"


class LineageTag:
    """Run and model-version tags of a retrained model: where its data came from and what it challenges."""

    PREVIOUS_SNAPSHOT = "cml_mlops.lineage.previous_snapshot_id"  # the challenged version's training snapshot
    SNAPSHOT = "cml_mlops.lineage.snapshot_id"  # the snapshot retrained on (history + increment)
    INCREMENT_ROWS = "cml_mlops.lineage.increment_rows"  # rows appended between the two
    HISTORY_ROWS = "cml_mlops.lineage.history_rows"  # rows at the previous snapshot
    CHALLENGES = "cml_mlops.lineage.challenges_version"  # the version it was gated against


@dataclass(frozen=True)
class RetrainResult:
    """What `retrain` did: `up_to_date` (nothing new, nothing trained) or `retrained` (trained and gated)."""

    status: Literal["retrained", "up_to_date"]
    table: str
    baseline: Baseline
    previous_snapshot_id: int
    snapshot_id: int
    increment_rows: int
    history_rows: int
    training: TrainingResult | None = None
    gate: GateReport | None = None
    gate_report: Path | None = None  # the gate's Markdown report

    @property
    def gate_passed(self) -> bool:
        return self.gate is not None and self.gate.passed

    @property
    def version(self) -> str | None:
        """The newly registered version, None when nothing was trained."""
        return None if self.training is None else self.training.model_version

    def lineage(self) -> dict[str, str]:
        return {
            LineageTag.PREVIOUS_SNAPSHOT: str(self.previous_snapshot_id),
            LineageTag.SNAPSHOT: str(self.snapshot_id),
            LineageTag.INCREMENT_ROWS: str(self.increment_rows),
            LineageTag.HISTORY_ROWS: str(self.history_rows),
            LineageTag.CHALLENGES: self.baseline.version,
        }

    def to_dict(self) -> dict[str, Any]:
        gate = self.gate
        return {
            "status": self.status,
            "table": self.table,
            "challenged_version": self.baseline.version,
            "challenged_alias": self.baseline.alias,
            "previous_snapshot_id": self.previous_snapshot_id,
            "snapshot_id": self.snapshot_id,
            "increment_rows": self.increment_rows,
            "history_rows": self.history_rows,
            "model_version": self.version,
            "parent_run_id": None if self.training is None else self.training.parent_run_id,
            "selected_run_id": None if self.training is None else self.training.selected_run_id,
            "test_metrics": None if self.training is None else self.training.test_metrics,
            "gate": None
            if gate is None
            else {
                "passed": gate.passed,
                "champion_version": gate.champion_version,
                "failed_checks": [f"{check.kind}: {check.name}" for check in gate.failed_checks],
                "report": self.gate_report,
                "report_uri": gate.report_uri,
            },
        }


def run_retrain(config: ProjectConfig, *, force: bool = False, progress: bool = True) -> RetrainResult:
    """Retrain when rows arrived since the challenged version's snapshot (or when `force`), then gate.

    Raises RetrainError before anything is trained when there is no version to challenge or its snapshot cannot be
    followed to the current one; errors of training and the gate propagate (the registry then holds at most a new
    version without a passed gate record, which is never deployed).
    """
    baseline = find_baseline(config)
    table = config.lake.table
    qualified = f"{config.lake.namespace}.{table}"
    with open_lake(config) as lake:
        current = lake.current_snapshot(table)
        if current is None:
            raise RetrainError(f"table {qualified} has no data: run `cml-mlops lake load` first")
        try:
            increment = lake.read_increment(table, baseline.snapshot_id, current.snapshot_id)
        except LakeError as exc:
            raise RetrainError(
                f"cannot read the rows added since snapshot {baseline.snapshot_id}, which {baseline.describe()} "
                f"was trained on: {exc} To start over from the whole table, run `cml-mlops train` and gate it."
            ) from None
    result = RetrainResult(
        status="up_to_date",
        table=qualified,
        baseline=baseline,
        previous_snapshot_id=baseline.snapshot_id,
        snapshot_id=current.snapshot_id,
        increment_rows=len(increment),
        history_rows=current.total_rows - len(increment),
    )
    if len(increment) == 0 and not force:
        return result
    training = train(
        config,
        snapshot_id=current.snapshot_id,
        progress=progress,
        extra_tags=result.lineage(),
    )
    client = configure_mlflow(config)
    for key, value in result.lineage().items():
        client.set_model_version_tag(training.model_name, training.model_version, key, value)
    gate = run_gate(config, version=training.model_version)
    gate_report = config.path(config.reports.dir) / REPORT_FOLDER / f"{gate.stem}.md"
    return replace(result, status="retrained", training=training, gate=gate, gate_report=gate_report)


def write_retrain_report(config: ProjectConfig, result: RetrainResult) -> Path:
    """reports/retrain.json: lineage, the new version and the gate's verdict."""
    return write_json(config.path(config.reports.dir) / RETRAIN_REPORT, result.to_dict())

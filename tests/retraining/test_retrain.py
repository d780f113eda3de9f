"""`cml-mlops retrain`: the increment since the champion's snapshot, lineage in MLflow, the gate vs the champion."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from cml_mlops.batches import Drift, add_batch
from cml_mlops.batches.lineage import read_lineage
from cml_mlops.config import ProjectConfig
from cml_mlops.gates.runner import read_split
from cml_mlops.lake import open_lake
from cml_mlops.registry import alias_version, get_version
from cml_mlops.retraining import LineageTag, RetrainError, find_baseline, run_retrain
from cml_mlops.row_keys import row_keys
from cml_mlops.tracking import (
    CHALLENGER,
    CHAMPION,
    TEST_SPLIT_ARTIFACT,
    VALIDATION_STATUS,
    Tag,
    configure_mlflow,
    load_model_version,
)
from cml_mlops.training.data import ICEBERG_SCHEME
from cml_mlops.training.row_parts import read_record
from tests.gates.conftest import set_gates
from tests.retraining.conftest import train_gated_version
from tests.steps.conftest import Invoke, current_snapshot_id, project_config

pytestmark = pytest.mark.slow  # each test trains and gates two models (a few seconds each)


def child_runs(client: MlflowClient, parent_run_id: str) -> list:
    experiment = client.get_run(parent_run_id).info.experiment_id
    return client.search_runs([experiment], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'")


def read_lineage_of(config: ProjectConfig) -> pd.DataFrame:
    with open_lake(config) as lake:
        lines = read_lineage(lake, config.lake.table)
    assert lines is not None
    return lines


def version_count(config: ProjectConfig) -> int:
    client = configure_mlflow(config)
    return len(client.search_model_versions(f"name = '{config.tracking.model_name}'"))


def test_retrain_learns_from_the_increment_records_lineage_and_gates_against_the_champion(
    project: Path, config: ProjectConfig, champion: str, invoke: Invoke
) -> None:
    trained_on = current_snapshot_id(project)
    batch = add_batch(config, rows=400, seed=2)
    assert batch.snapshot is not None
    result = invoke("retrain", "--no-progress")
    assert result.exit_code == 0, result.output
    new = batch.snapshot.snapshot_id
    assert f"challenging version {champion}, the champion, trained on bank_marketing.raw@{trained_on}" in result.output
    assert f"increment: 400 new rows up to snapshot {new}" in result.output
    assert "quality gate passed: version 2 is the challenger (against champion version 1)" in result.output
    report = json.loads((project / "reports" / "retrain.json").read_text())
    assert report["status"] == "retrained" and report["model_version"] == "2"
    assert (report["previous_snapshot_id"], report["snapshot_id"], report["increment_rows"]) == (trained_on, new, 400)
    assert report["gate"]["passed"] is True and report["gate"]["champion_version"] == champion
    assert Path(report["gate"]["report"]).is_file()
    # Lineage on the training runs (parent and candidates) and on the new version.
    client = configure_mlflow(config)
    lineage = {
        LineageTag.PREVIOUS_SNAPSHOT: str(trained_on),
        LineageTag.SNAPSHOT: str(new),
        LineageTag.INCREMENT_ROWS: "400",
        LineageTag.CHALLENGES: champion,
    }
    for run in [client.get_run(report["parent_run_id"]), *child_runs(client, report["parent_run_id"])]:
        assert lineage.items() <= run.data.tags.items()
        assert run.data.tags[Tag.SNAPSHOT] == str(new)
    version = get_version(config, "2")
    assert lineage.items() <= (version.tags or {}).items()
    assert (version.tags or {})[Tag.SNAPSHOT] == str(new)
    # Trained on history plus increment: the whole current snapshot, recorded as the MLflow dataset input.
    run = client.get_run(report["selected_run_id"])
    [dataset] = [i.dataset for i in run.inputs.dataset_inputs]
    assert json.loads(dataset.source)["uri"] == f"{ICEBERG_SCHEME}bank_marketing.raw@{new}"
    params = run.data.params
    rows = sum(int(params[f"split.{part}_rows"]) for part in ("train", "validation", "test"))
    assert rows == 4521 + 400
    assert (version.tags or {})[VALIDATION_STATUS] == "passed"
    # The champion's held-out rows stay held out: its test split is inside the new one, and every synthetic row
    # took the part of the row it was drawn from (recorded by row key with each version).
    old_model, new_model = load_model_version(config, version=champion), load_model_version(config, version="2")
    old_test, new_test = read_split(old_model, TEST_SPLIT_ARTIFACT), read_split(new_model, TEST_SPLIT_ARTIFACT)
    assert set(row_keys(old_test)) <= set(row_keys(new_test))
    old_record, new_record = read_record(old_model.run_id), read_record(new_model.run_id)
    assert old_record is not None and new_record is not None
    assert old_record.merge(new_record, on="row_key").pipe(lambda both: (both.part_x == both.part_y).all())
    lines = read_lineage_of(config)
    parts = dict(zip(new_record.row_key, new_record.part, strict=True))
    assert len(lines) == 400 and all(
        parts[row] == parts[source] for row, source in zip(lines.row_key, lines.source_key, strict=True)
    )
    assert len(new_test) > len(old_test)
    assert report["history_rows"] == 4521 and (version.tags or {})[LineageTag.HISTORY_ROWS] == "4521"
    assert str(alias_version(config, CHALLENGER).version) == "2"  # type: ignore[union-attr]
    assert str(alias_version(config, CHAMPION).version) == champion  # type: ignore[union-attr]  # deploy moves it


def test_nothing_new_means_no_training_unless_forced(
    project: Path, config: ProjectConfig, champion: str, invoke: Invoke
) -> None:
    result = invoke("retrain", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "increment: 0 new rows" in result.output and "nothing new since then: no retraining" in result.output
    assert version_count(config) == 1
    assert json.loads((project / "reports" / "retrain.json").read_text())["status"] == "up_to_date"
    result = invoke("retrain", "--no-progress", "--force")
    assert result.exit_code == 0, result.output
    assert version_count(config) == 2
    assert (get_version(config, "2").tags or {})[LineageTag.INCREMENT_ROWS] == "0"


def test_a_failed_gate_exits_1_and_leaves_the_champion_and_challenger(
    project: Path, config: ProjectConfig, champion: str, invoke: Invoke
) -> None:
    challenger_before = str(alias_version(config, CHALLENGER).version)  # type: ignore[union-attr]
    add_batch(config, rows=300, seed=3)
    set_gates(project, floors={"roc_auc": 0.99})
    result = invoke("retrain", "--no-progress")
    assert result.exit_code == 1
    assert "quality gate FAILED for version 2 (against champion version 1): floor: roc_auc" in result.output
    assert str(project / "reports" / "gate" / "gate-v2.md") in result.output
    assert (get_version(config, "2").tags or {})[VALIDATION_STATUS] == "failed"
    config = project_config(project)
    assert str(alias_version(config, CHALLENGER).version) == challenger_before  # type: ignore[union-attr]
    assert str(alias_version(config, CHAMPION).version) == champion  # type: ignore[union-attr]
    assert json.loads((project / "reports" / "retrain.json").read_text())["gate"]["passed"] is False


def test_without_a_champion_it_challenges_the_newest_gated_version(config: ProjectConfig) -> None:
    version = train_gated_version(config)
    baseline = find_baseline(config)
    assert (baseline.version, baseline.alias) == (version, None)
    add_batch(config, rows=300, seed=4)
    result = run_retrain(config, progress=False)
    assert result.status == "retrained" and result.version == "2"
    assert result.gate is not None and result.gate.champion_version is None  # non-inferiority skipped: no champion
    assert (get_version(config, "2").tags or {})[LineageTag.CHALLENGES] == version


def test_a_rewritten_table_cannot_be_followed_and_nothing_is_trained(
    project: Path, config: ProjectConfig, champion: str, invoke: Invoke
) -> None:
    assert invoke("lake", "load").exit_code == 0  # replaces the table: no longer append-only since the champion
    result = invoke("retrain", "--no-progress")
    assert result.exit_code == 1
    assert "cannot read the rows added since snapshot" in result.output and "is not append-only" in result.output
    assert "run `cml-mlops train`" in result.output
    assert version_count(config) == 1


def test_without_any_gated_version_retrain_says_what_to_run_first(config: ProjectConfig, invoke: Invoke) -> None:
    result = invoke("retrain", "--no-progress")
    assert result.exit_code == 1
    assert "has no champion and no version that passed the gate" in result.output
    assert "Run `cml-mlops train`, `cml-mlops gate` and `cml-mlops deploy` first." in result.output
    with pytest.raises(RetrainError):
        run_retrain(config, progress=False)


def test_drifted_data_is_retrained_on_too(config: ProjectConfig, champion: str) -> None:
    batch = add_batch(
        config, rows=500, seed=5, drift=Drift(shift={"age": 1.5}, category_mix={"poutcome": {"success": 0.4}})
    )
    result = run_retrain(config, progress=False)
    assert batch.snapshot is not None and result.snapshot_id == batch.snapshot.snapshot_id
    assert result.increment_rows == 500 and result.training is not None

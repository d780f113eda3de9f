"""Issue 16's scenario end to end: v1, a drifted batch and v2, a batch without drift and v3, which passes its gate."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cml_mlops.batches import Drift, add_batch
from cml_mlops.config import ProjectConfig
from cml_mlops.gates.runner import read_split
from cml_mlops.registry import set_alias
from cml_mlops.retraining import run_retrain
from cml_mlops.row_keys import row_keys
from cml_mlops.tracking import CHAMPION, TEST_SPLIT_ARTIFACT, configure_mlflow, load_model_version
from cml_mlops.training import train
from cml_mlops.training.row_parts import ROW_PARTS_ARTIFACT, read_record, version_record
from tests.steps.conftest import project_config
from tests.training.conftest import configure

pytestmark = pytest.mark.slow  # two or three trainings and gates each (~10 s each on a busy machine)


def seen_in_training(config: ProjectConfig, version: str) -> set[str]:
    record = read_record(load_model_version(config, version=version).run_id)
    assert record is not None
    return set(record.loc[record["part"].isin(["train", "validation"]), "row_key"])


def test_a_second_retrain_without_drift_passes_and_never_tests_on_a_champions_training_row(
    config: ProjectConfig, champion: str
) -> None:
    add_batch(config, rows=450, seed=11, drift=Drift(shift={"age": 1.5}, category_mix={"poutcome": {"success": 0.4}}))
    second = run_retrain(config, progress=False)
    assert second.gate is not None and second.version == "2"
    if second.gate_passed:  # the main job deploys a version that passed: it becomes the champion
        set_alias(config, "2", CHAMPION)
    add_batch(config, rows=450, seed=12)  # no drift
    third = run_retrain(config, progress=False)
    assert third.gate is not None and third.version == "3"
    assert third.gate_passed, third.gate.to_markdown()
    test = read_split(load_model_version(config, version="3"), TEST_SPLIT_ARTIFACT)
    keys = set(row_keys(test))
    assert not keys & seen_in_training(config, "1") and not keys & seen_in_training(config, "2")
    checks = {check.name: check for check in third.gate.checks}
    unseen = checks[f"test rows unseen by champion v{third.gate.champion_version}"]
    assert unseen.status == "passed" and unseen.value == 0
    sources = {row["source"] for row in checks[f"vs champion v{third.gate.champion_version}"].data["sources"]}
    assert "history" in sources and sum(source.startswith("synthetic@") for source in sources) == 2
    markdown = third.gate.to_markdown()
    assert "per data source" in markdown and "on its own original test split" in markdown


def test_a_new_seed_and_new_split_shares_move_no_recorded_row(
    project: Path, config: ProjectConfig, champion: str
) -> None:
    configure(project, seed=777, split={"strategy": "stratified", "validation": 0.3, "test": 0.3})
    add_batch(project_config(project), rows=300, seed=13)
    result = train(project_config(project), progress=False)
    before = read_record(load_model_version(config, version=champion).run_id)
    after = read_record(load_model_version(config, version=result.model_version).run_id)
    assert before is not None and after is not None
    both = before.merge(after, on="row_key", suffixes=("_before", "_after"))
    assert len(both) == len(before) and (both["part_before"] == both["part_after"]).all()
    assert len(after) > len(before)  # the batch's rows were added, each with its source row's part


def test_a_champion_from_before_row_parts_gets_its_record_rebuilt_from_its_splits_and_snapshot(
    config: ProjectConfig, champion: str
) -> None:
    """Upgrading must not lock the gate: the old champion's parts come back from its logged splits and snapshot."""
    run_id = load_model_version(config, version=champion).run_id
    logged = read_record(run_id)
    assert logged is not None
    artifacts = Path(configure_mlflow(config).get_run(run_id).info.artifact_uri.removeprefix("file://"))
    (artifacts / ROW_PARTS_ARTIFACT).unlink()
    assert read_record(run_id) is None
    rebuilt = version_record(config, run_id)
    assert rebuilt is not None
    pd.testing.assert_frame_equal(
        rebuilt.sort_values("row_key").reset_index(drop=True)[["row_key", "part"]],
        logged.sort_values("row_key").reset_index(drop=True)[["row_key", "part"]],
    )
    add_batch(config, rows=300, seed=14)
    result = run_retrain(config, progress=False)
    assert result.gate is not None
    [unseen] = [check for check in result.gate.checks if check.name == f"test rows unseen by champion v{champion}"]
    assert unseen.status == "passed"

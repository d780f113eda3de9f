"""`cml-mlops train` on bank.csv: real MLflow (SQLite under the project), real lake, tiny grids."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.metrics import roc_auc_score

from cml_mlops.lake import open_lake
from cml_mlops.metrics import METRICS, best_threshold, compute_metrics
from cml_mlops.tracking import (
    TEST_SPLIT_ARTIFACT,
    VALIDATION_SPLIT_ARTIFACT,
    Tag,
    configure_mlflow,
    load_model_version,
)
from cml_mlops.training import TrainingResult
from cml_mlops.training.data import IcebergDatasetSource
from cml_mlops.training.trainer import SELECTED_RUN_TAG
from tests.steps.conftest import Invoke, current_snapshot_id, project_config
from tests.steps.test_validate import corrupt_table
from tests.training.conftest import ONE_CANDIDATE, configure, run_training


def tracking_client(project: Path) -> MlflowClient:
    return configure_mlflow(project_config(project))


def child_runs(client: MlflowClient, parent_run_id: str) -> list[mlflow.entities.Run]:
    experiment = client.get_run(parent_run_id).info.experiment_id
    return client.search_runs([experiment], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'")


def split_artifact(client: MlflowClient, run_id: str, artifact: str, tmp_path: Path) -> pd.DataFrame:
    return pd.read_parquet(client.download_artifacts(run_id, artifact, str(tmp_path)))


def test_train_command_trains_selects_on_validation_registers_and_reports(tiny_project: Path, invoke: Invoke) -> None:
    result = invoke("train", "--no-progress")
    assert result.exit_code == 0, result.output
    report = json.loads((tiny_project / "reports" / "training.json").read_text())
    assert report["model_version"] == "1" and len(report["candidates"]) == 3
    assert "registered: bank-marketing-classifier version 1" in result.output
    client = tracking_client(tiny_project)
    children = child_runs(client, report["parent_run_id"])
    assert sorted(run.info.run_id for run in children) == sorted(report["run_ids"])
    # The selected run is the best on validation, judged from what MLflow recorded.
    best = max(children, key=lambda run: run.data.metrics["val_roc_auc"])
    assert report["selected_run_id"] == best.info.run_id
    assert [run.info.run_id for run in children if run.data.tags[Tag.SELECTED] == "true"] == [best.info.run_id]
    assert client.get_run(report["parent_run_id"]).data.tags[SELECTED_RUN_TAG] == best.info.run_id
    version = client.get_model_version("bank-marketing-classifier", "1")
    assert version.run_id == best.info.run_id
    assert f"* {best.info.run_name}" in result.output
    for run in children:
        assert {f"{split}_{name}" for split in ("val", "test") for name in METRICS} <= set(run.data.metrics)


def test_the_selected_run_carries_every_convention(tiny_project: Path) -> None:
    result = run_training(tiny_project)
    run = tracking_client(tiny_project).get_run(result.selected_run_id)
    tags, params = run.data.tags, run.data.params
    assert json.loads(tags[Tag.FEATURES]) == result.features
    assert float(tags[Tag.THRESHOLD]) == result.threshold
    assert (tags[Tag.POSITIVE_LABEL], tags[Tag.NEGATIVE_LABEL], tags[Tag.TARGET]) == ("yes", "no", "y")
    assert tags[Tag.TABLE] == "bank_marketing.raw" and tags[Tag.SNAPSHOT] == str(current_snapshot_id(tiny_project))
    assert tags[Tag.CONTRACT_VERSION] == "1.0.0"
    assert tags[Tag.GIT_COMMIT] == "unknown"  # the baked project is not a git repository
    assert (tags[Tag.CANDIDATE], tags[Tag.SPLIT], tags[Tag.SELECTED]) == (result.selected.name, "stratified", "true")
    assert params["split.strategy"] == "stratified"
    assert (
        int(params["split.train_rows"]) + int(params["split.validation_rows"]) + int(params["split.test_rows"]) == 4521
    )
    assert 0.05 < float(params["split.test_positive_rate"]) < 0.2
    model_info = mlflow.models.get_model_info(f"runs:/{result.selected_run_id}/model")
    assert model_info.signature is not None and model_info.saved_input_example_info is not None
    assert model_info.signature.inputs.input_names() == result.features


def test_logged_metrics_equal_rescoring_the_logged_splits_with_the_registered_model(
    tiny_project: Path, tmp_path: Path
) -> None:
    result = run_training(tiny_project)
    config = project_config(tiny_project)
    client = tracking_client(tiny_project)
    model = load_model_version(config, version=result.model_version)
    logged = client.get_run(result.selected_run_id).data.metrics
    validation = split_artifact(client, result.selected_run_id, VALIDATION_SPLIT_ARTIFACT, tmp_path / "v")
    test = split_artifact(client, result.selected_run_id, TEST_SPLIT_ARTIFACT, tmp_path / "t")
    assert len(validation) + len(test) < 4521 and "duration" in test.columns  # raw columns, as in the lake
    y_validation, y_test = (validation["y"] == "yes").to_numpy(int), (test["y"] == "yes").to_numpy(int)
    # The threshold is the validation split's F1 optimum, re-derived from the logged rows.
    assert model.threshold == best_threshold(y_validation, model.predict_proba(validation), objective="f1")
    rescored = compute_metrics(y_test, model.predict_proba(test), model.threshold)
    for name, value in rescored.items():
        assert logged[f"test_{name}"] == pytest.approx(value, rel=1e-12)
    assert logged["test_roc_auc"] == pytest.approx(roc_auc_score(y_test, model.predict_proba(test)), rel=1e-12)
    labels = model.predict(test.head(20))["label"]
    assert set(labels) <= {"yes", "no"}


def test_same_config_and_snapshot_give_the_same_metrics(tiny_project: Path) -> None:
    first, second = run_training(tiny_project), run_training(tiny_project)
    assert first.run_ids != second.run_ids
    assert [c.validation for c in first.candidates] == [c.validation for c in second.candidates]
    assert [c.test for c in first.candidates] == [c.test for c in second.candidates]
    assert (first.model_version, second.model_version) == ("1", "2")  # a new run is a new version


def test_duration_is_excluded_by_default_and_put_back_by_the_switch(loaded_project: Path) -> None:
    configure(loaded_project, candidates=ONE_CANDIDATE)
    without = run_training(loaded_project)
    configure(loaded_project, features={"use_leakage_columns": True})
    with_leak = run_training(loaded_project)
    config = project_config(loaded_project)
    assert "duration" not in without.features and "duration" in with_leak.features
    for result, has_duration in ((without, False), (with_leak, True)):
        pipeline = load_model_version(config, version=result.model_version).pipeline
        assert ("duration" in pipeline.feature_names_in_) is has_duration
    # The call length all but gives the answer away: the leaky model is far better, which is why it is off.
    assert with_leak.validation_metrics["roc_auc"] > without.validation_metrics["roc_auc"] + 0.1


def test_time_split_trains_on_the_first_rows_and_tests_on_the_last(loaded_project: Path, tmp_path: Path) -> None:
    configure(loaded_project, candidates=ONE_CANDIDATE, split={"strategy": "time", "validation": 0.2, "test": 0.1})
    result = run_training(loaded_project)
    config = project_config(loaded_project)
    with open_lake(config) as lake:
        table = lake.read(config.lake.table)
    client = tracking_client(loaded_project)
    assert client.get_run(result.selected_run_id).data.tags[Tag.SPLIT] == "time"
    test = split_artifact(client, result.selected_run_id, TEST_SPLIT_ARTIFACT, tmp_path / "t")
    validation = split_artifact(client, result.selected_run_id, VALIDATION_SPLIT_ARTIFACT, tmp_path / "v")
    pd.testing.assert_frame_equal(test, table.tail(453).reset_index(drop=True))
    pd.testing.assert_frame_equal(validation, table.iloc[-453 - 905 : -453].reset_index(drop=True))
    assert result.split["train_rows"] == 4521 - 905 - 453


def test_runs_record_the_table_and_snapshot_as_dataset_input(loaded_project: Path, invoke: Invoke) -> None:
    configure(loaded_project, candidates=ONE_CANDIDATE)
    original = current_snapshot_id(loaded_project)
    config = project_config(loaded_project)
    with open_lake(config) as lake:  # a newer snapshot: training must still use the one asked for
        newer = lake.create_or_replace(
            config.lake.table, lake.read(config.lake.table).head(3000), lake.schema(config.lake.table)
        ).snapshot_id
    assert invoke("train", "--no-progress", "--snapshot-id", str(original)).exit_code == 0
    report = json.loads((loaded_project / "reports" / "training.json").read_text())
    assert report["snapshot_id"] == original != newer
    client = tracking_client(loaded_project)
    for run_id in (report["parent_run_id"], report["selected_run_id"]):
        run = client.get_run(run_id)
        (dataset_input,) = run.inputs.dataset_inputs
        dataset = dataset_input.dataset
        assert dataset.name == f"bank_marketing.raw@{original}"
        assert dataset.source_type == "iceberg"
        source = mlflow.data.get_source(dataset)
        assert isinstance(source, IcebergDatasetSource)
        assert (source.table, source.snapshot_id) == ("bank_marketing.raw", original)
        assert json.loads(dataset.profile)["num_rows"] == 4521
        assert run.data.tags[Tag.SNAPSHOT] == str(original)
    version = client.get_model_version("bank-marketing-classifier", report["model_version"])
    assert version.tags[Tag.SNAPSHOT] == str(original)
    # Without --snapshot-id: the current snapshot.
    assert run_training(loaded_project).snapshot_id == newer


def test_a_table_breaking_the_contract_stops_training_before_any_run(loaded_project: Path, invoke: Invoke) -> None:
    configure(loaded_project, candidates=ONE_CANDIDATE)
    corrupted = corrupt_table(loaded_project)
    result = invoke("train", "--no-progress")
    assert result.exit_code == 1
    assert f"training stopped: snapshot {corrupted}" in result.output
    assert "age: in_range (1)" in result.output and "month: isin (1)" in result.output
    client = tracking_client(loaded_project)
    assert client.search_registered_models() == []
    experiment = client.get_experiment_by_name(project_config(loaded_project).tracking.experiment)
    assert client.search_runs([experiment.experiment_id]) == []
    assert not (loaded_project / "reports" / "training.json").exists()


def test_a_bad_grid_value_stops_training_before_any_run(loaded_project: Path, invoke: Invoke) -> None:
    configure(loaded_project, candidates={"forest": {"estimator": "random_forest", "grid": {"max_depth": [-3]}}})
    result = invoke("train", "--no-progress")
    assert result.exit_code == 1
    assert "training.candidates.forest.grid: The 'max_depth' parameter" in result.output
    client = tracking_client(loaded_project)
    assert client.search_registered_models() == []


def test_an_unknown_snapshot_is_a_clear_error(loaded_project: Path, invoke: Invoke) -> None:
    result = invoke("train", "--no-progress", "--snapshot-id", "12345")
    assert result.exit_code == 1
    assert "12345" in result.output and "Traceback" not in result.output


def test_precision_at_budget_contacts_the_budgeted_share_of_validation_rows(loaded_project: Path) -> None:
    configure(loaded_project, candidates=ONE_CANDIDATE, threshold_objective="precision_at_budget", contact_budget=0.2)
    result = run_training(loaded_project)
    validation = result.split["validation_rows"]
    recall, precision = result.validation_metrics["recall"], result.validation_metrics["precision"]
    positives = round(result.split["validation_positive_rate"] * validation)
    contacted = recall * positives / precision
    assert contacted == pytest.approx(0.2 * validation, abs=2)


@pytest.mark.slow
def test_default_candidates_train_and_select_on_bank_sample(loaded_project: Path) -> None:
    result: TrainingResult = run_training(loaded_project)
    assert len(result.candidates) == 8  # 2 logistic regressions, 2 forests, 4 gradient boostings
    assert {c.estimator for c in result.candidates} == {
        "logistic_regression",
        "random_forest",
        "hist_gradient_boosting",
    }
    best = max(c.validation["roc_auc"] for c in result.candidates)
    assert result.validation_metrics["roc_auc"] == best
    assert result.test_metrics["roc_auc"] > 0.7
    assert np.isfinite(result.threshold) and 0 < result.threshold < 1


def test_a_candidate_that_fails_to_fit_registers_nothing(loaded_project: Path, invoke: Invoke) -> None:
    # Valid values one by one, an invalid combination: scikit-learn only finds out when fitting.
    candidates = {
        **ONE_CANDIDATE,
        "l1": {"estimator": "logistic_regression", "grid": {"solver": ["newton-cg"], "l1_ratio": [1.0]}},
    }
    configure(loaded_project, candidates=candidates)
    result = invoke("train", "--no-progress")
    assert result.exit_code == 1
    assert "candidate l1[l1_ratio=1.0,solver=newton-cg] could not be fitted: Solver newton-cg" in result.output
    client = tracking_client(loaded_project)
    assert client.search_registered_models() == []
    experiment = client.get_experiment_by_name(project_config(loaded_project).tracking.experiment)
    statuses = {run.info.run_name: run.info.status for run in client.search_runs([experiment.experiment_id])}
    assert statuses["l1[l1_ratio=1.0,solver=newton-cg]"] == "FAILED"
    assert statuses["logistic_regression[C=1.0]"] == "FINISHED"
    assert [status for name, status in statuses.items() if name.startswith("train ")] == ["FAILED"]

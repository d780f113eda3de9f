"""`cml-mlops simulate` against a real local model server, logging to SQLite (default) and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from cml_mlops.lake import open_lake
from cml_mlops.monitoring.store import PredictionRecord
from cml_mlops.monitoring.store.spill import SpillFile
from cml_mlops.simulation.runner import report_path
from cml_mlops.simulation.scenarios import scenario_rows
from cml_mlops.simulation.served import served_version
from cml_mlops.tracking import load_model_version
from tests.simulation.conftest import Served
from tests.simulation.helpers import START, START_EPOCH, logged, served_with, simulate, store

pytestmark = pytest.mark.slow  # one model server per module (bake, load, register, deploy: ~30 s on 2 busy cores)

FEATURES = ["age", "job", "marital", "education", "default", "balance", "housing", "loan", "contact", "day", "month",
            "campaign", "pdays", "previous", "poutcome"]  # fmt: skip


def canonical(record: dict) -> str:  # type: ignore[type-arg]
    return json.dumps(record, sort_keys=True)


def expected_rows(served: Served, scenario: str, **options: object) -> pd.DataFrame:
    config = served.config()
    return scenario_rows(config, scenario, served_version(config, served.version), **options).frame  # type: ignore[arg-type]


def test_holdout_logs_every_prediction_with_simulated_time_and_delayed_labels(served: Served) -> None:
    result = simulate(
        served.project, "--scenario", "holdout", "--rows", "120", "--label-share", "0.25", "--start", START,
        "--interval-seconds", "60", "--label-delay-seconds", "7200", "--concurrency", "4",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "120 rows sent, 0 failed predictions (0 requests)" in result.output
    assert "120 of 120 predictions captured by the server and 30 labels logged" in result.output
    config = served.config()
    frame = logged(config)
    sent = expected_rows(served, "holdout", rows=120)
    assert len(frame) == 120 and frame["prediction_id"].is_unique
    # Row i was requested at start + 60 s * i, with row i's own features, whatever the concurrency.
    np.testing.assert_allclose(frame["requested_at"], START_EPOCH + 60.0 * np.arange(120))
    assert [row for row in frame["features"]] == sent[FEATURES].to_dict(orient="records")
    assert set(frame["model_version"]) == {served.version} and set(frame["scenario"]) == {"holdout"}
    assert (frame["latency_ms"] > 0).all()
    # The probabilities are the served model's own (it is scored here in process for comparison).
    model = load_model_version(config, version=served.version)
    np.testing.assert_allclose(frame["probability"], model.predict_proba(sent), rtol=1e-9)
    assert (frame["prediction"] == (frame["probability"] >= model.threshold).astype(int)).all()
    labelled = frame.dropna(subset=["label"])
    assert len(labelled) == 30
    truth = (sent["y"] == "yes").astype(int).to_numpy()
    assert (labelled["label"].astype(int).to_numpy() == truth[labelled.index]).all()
    np.testing.assert_allclose(labelled["labelled_at"], labelled["requested_at"] + 7200)
    report = json.loads(report_path(config).read_text(encoding="utf-8"))
    assert report["predictions_logged"] == 120 and report["failed_predictions"] == 0
    assert report["capture_missing"] == [] and report["predictions_per_second"] > 0


@pytest.mark.postgres
def test_batched_requests_still_log_one_prediction_each_to_postgres(
    served: Served, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with served_with(served.project, served.version, monkeypatch, CML_MLOPS_MONITORING_DSN=postgres_url):
        result = simulate(served.project, "--rows", "300", "--records-per-request", "25", "--label-share", "0")
        assert result.exit_code == 0, result.output
        assert "300 of 300 predictions captured by the server and 0 labels logged to postgresql" in result.output
        frame = logged(served.config())
    assert len(frame) == 300 and frame["prediction_id"].is_unique
    sent = expected_rows(served, "holdout", rows=300)
    assert sorted(map(canonical, frame["features"])) == sorted(map(canonical, sent[FEATURES].to_dict("records")))


def test_drift_replay_sends_the_tables_last_rows_in_table_order(served: Served, tmp_path: Path) -> None:
    result = simulate(served.project, "--scenario", "drift-replay", "--label-share", "1", "--start", START,
                      "--interval-seconds", "1", "--records-per-request", "10")  # fmt: skip
    assert result.exit_code == 0, result.output
    config = served.config()
    with open_lake(config) as lake:
        table = lake.read(config.lake.table)
    tail = table.iloc[len(table) - int(np.ceil(len(table) * 0.2)) :]
    frame = logged(config).query("scenario == 'drift-replay'")
    assert [row for row in frame["features"]] == tail[FEATURES].to_dict(orient="records")
    assert (frame["label"].astype(int).to_numpy() == (tail["y"] == "yes").astype(int).to_numpy()).all()


def test_batch_needs_new_rows_then_sends_exactly_them(served: Served) -> None:
    result = simulate(served.project, "--scenario", "batch")
    assert result.exit_code == 1
    assert "no rows were added to" in result.output and "cml-mlops newbatch" in result.output
    config = served.config()
    with open_lake(config) as lake:
        table = lake.read(config.lake.table)
        batch = table.sample(40, random_state=3).assign(balance=lambda f: f["balance"] + 7)
        lake.append(config.lake.table, batch)
    result = simulate(served.project, "--scenario", "batch", "--label-share", "0.5")
    assert result.exit_code == 0, result.output
    frame = logged(config).query("scenario == 'batch'")
    assert [row for row in frame["features"]] == batch[FEATURES].to_dict(orient="records")


def test_a_spill_file_is_replayed_once_and_removed(served: Served, tmp_path: Path) -> None:
    records = [
        PredictionRecord(f"spilled-{n}", START_EPOCH + n, "bank", served.version, {"age": 30 + n}, 0.4, 0)
        for n in range(5)
    ]
    spill = SpillFile(tmp_path)
    spill.write(records)
    assert spill.path is not None
    result = simulate(served.project, "--replay-spill", str(spill.path))
    assert result.exit_code == 0, result.output
    assert "replayed 5 predictions and 0 labels" in result.output and not spill.path.exists()
    engine = store(served.config())
    with engine.connect() as connection:
        ids = connection.execute(text("SELECT prediction_id FROM predictions WHERE prediction_id LIKE 'spilled-%'"))
        assert sorted(ids.scalars()) == [record.prediction_id for record in records]
    engine.dispose()
    again = simulate(served.project, "--replay-spill", str(spill.path))
    assert again.exit_code == 1 and "no spill file" in again.output


def test_a_wrong_access_key_stops_the_run_with_the_servers_message(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = len(logged(served.config()))
    monkeypatch.setenv("CML_MLOPS_SERVING_ACCESS_KEY", "not-the-key")
    result = simulate(served.project, "--rows", "100", "--concurrency", "2")
    assert result.exit_code == 1
    assert "requests to" in result.output and "all failed" in result.output
    assert "HTTP 401" in result.output and "access key given in accessKey is wrong" in result.output
    assert "not-the-key" not in result.output
    assert len(logged(served.config())) == before


@pytest.mark.postgres
def test_a_predictions_table_of_another_shape_stops_the_run_before_any_request(
    served: Served, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = store(served.config())  # the SQLite store, for the count below
    monkeypatch.setenv("CML_MLOPS_MONITORING_DSN", postgres_url)
    pg = store(served.config())
    with pg.begin() as connection:
        connection.execute(text("CREATE TABLE predictions (id integer PRIMARY KEY, score real)"))
        connection.execute(text("INSERT INTO predictions VALUES (1, 0.5)"))
    result = simulate(served.project, "--rows", "10")
    assert result.exit_code == 1
    assert (
        "already has table(s) predictions" in result.output
        and "predictions has no column prediction_id" in result.output
    )
    with pg.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM predictions")).scalar() == 1
    pg.dispose()
    engine.dispose()

"""Server-side capture: what a client that is not `simulate` gets served lands in the store, whatever the store does."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from sqlalchemy import Engine, select
from sqlalchemy.exc import ProgrammingError

from cml_mlops.config import CaptureSection
from cml_mlops.monitoring.schema import predictions
from cml_mlops.monitoring.store import read_spill
from cml_mlops.serving.app import AppSettings, ServingApp
from cml_mlops.serving.capture import Capture
from cml_mlops.serving.capture_log import CaptureLog
from cml_mlops.serving.scoring import Scorer
from cml_mlops.serving.server import tcp_listener
from tests.monitoring.store.conftest import Outage, _engine
from tests.serving.helpers import ACCESS_KEY
from tests.simulation.private_postgres import wait_until

RECORD = {
    "age": 41, "job": "technician", "marital": "married", "education": "secondary", "default": "no",
    "balance": 1200, "housing": "yes", "loan": "no", "contact": "cellular", "day": 5, "month": "may",
    "campaign": 2, "pdays": -1, "previous": 0, "poutcome": "unknown",
}  # fmt: skip
HEADERS = {"authorization": f"Bearer {ACCESS_KEY}"}


def make_capture(engine: Engine, spill_dir: Path, **settings: Any) -> Capture:
    log = CaptureLog(engine, spill_dir=spill_dir, batch_size=50, flush_seconds=0.05, retry_initial_seconds=0.05,
                     retry_max_seconds=0.2, close_timeout_seconds=5)  # fmt: skip
    return Capture(log, CaptureSection(**settings), model_name="bank-test", positive_label="yes")


@contextmanager
def serving(scorer: Scorer, capture: Capture | None) -> Iterator[httpx.Client]:
    """The app with `capture` behind a real uvicorn, and an httpx client of it (closed and flushed after)."""
    app = ServingApp(scorer, AppSettings("bank-test", ACCESS_KEY), capture=capture)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", access_log=False, log_level="warning"))
    listener = tcp_listener("127.0.0.1", 0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    assert wait_until(lambda: server.started, timeout=30)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with httpx.Client(base_url=url, headers=HEADERS, timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def stored(engine: Engine) -> dict[str, dict[str, Any]]:
    """The stored predictions by id (none while the tables are not made yet)."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(predictions)).mappings().all()
    except ProgrammingError:
        return {}
    return {row["prediction_id"]: dict(row) for row in rows}


def served_ids(client: httpx.Client) -> list[str]:
    """One record, dataframe_records, dataframe_split and /invocations: the ids of the 8 predictions served."""
    one = client.post("/model", json={"request": RECORD}).json()["response"]
    records = client.post("/model", json={"request": {"dataframe_records": [RECORD] * 3}}).json()["response"]
    split = {"columns": list(RECORD), "data": [list(RECORD.values())] * 2}
    batch = client.post("/model", json={"request": {"dataframe_split": split}}).json()["response"]
    mlflow = client.post("/invocations", json={"dataframe_records": [RECORD] * 2}).json()["predictions"]
    answered = [one, *records["predictions"], *batch["predictions"], *mlflow]
    return [prediction["prediction_id"] for prediction in answered]


def test_every_prediction_a_plain_http_client_gets_is_in_the_store(
    scorer: Scorer, engine: Engine, tmp_path: Path
) -> None:
    capture = make_capture(engine, tmp_path / "spill")
    with serving(scorer, capture) as client:
        ids = served_ids(client)
        assert client.get("/health").json()["capture"] == "ok"
    summary = capture.close()
    assert summary.complete and len(set(ids)) == 8
    rows = stored(engine)
    assert set(rows) == set(ids)
    row = rows[ids[0]]
    assert row["model_name"] == "bank-test" and row["model_version"] == "7" and row["arm"] is None
    assert row["features"] == RECORD and row["scenario"] == "served" and row["latency_ms"] > 0
    assert row["prediction"] == int(row["probability"] >= 0.3)  # the model's threshold


def test_configured_pii_columns_are_hashed_or_dropped(scorer: Scorer, sqlite_url: str, tmp_path: Path) -> None:
    store = _engine(sqlite_url)
    capture = make_capture(store, tmp_path / "spill", hash_columns=["job"], drop_columns=["age", "balance"],
                           hash_salt="pepper")  # fmt: skip
    with serving(scorer, capture) as client:
        (prediction_id,) = served_ids(client)[:1]
    capture.close()
    features = stored(store)[prediction_id]["features"]
    assert "age" not in features and "balance" not in features
    assert features["job"] == hashlib.sha256(b"pepper" + orjson.dumps("technician")).hexdigest()
    assert features["month"] == "may"
    store.dispose()


def test_capture_switched_off_serves_and_logs_nothing(scorer: Scorer) -> None:
    with serving(scorer, None) as client:
        assert client.get("/health").json()["capture"] == "off"
        assert len(served_ids(client)) == 8


@pytest.mark.postgres
def test_a_store_that_is_away_at_start_is_spilled_to_then_replayed(
    scorer: Scorer, postgres_engine: Engine, outage: Outage, tmp_path: Path
) -> None:
    outage.begin()  # the store does not answer when the server starts
    capture = make_capture(postgres_engine, tmp_path / "spill")
    with serving(scorer, capture) as client:
        before = served_ids(client)  # served all the same
        assert wait_until(lambda: capture.log.spill.path is not None, timeout=30)
        health = client.get("/health").json()
        assert health["status"] == "degraded" and str(tmp_path / "spill") in health["capture_problem"]
        spilled, _ = read_spill(capture.log.spill.path)
        assert {record.prediction_id for record in spilled} <= set(before)
        outage.end()
        after = served_ids(client)  # the next write succeeds, then the spill is replayed
        assert wait_until(lambda: set(before + after) <= set(stored(postgres_engine)), timeout=30)
        assert wait_until(lambda: client.get("/health").json()["status"] == "ok", timeout=30)
    summary = capture.close()
    assert summary.predictions_written + capture.log.predictions_replayed >= 16
    assert not list((tmp_path / "spill").glob("spill-*.jsonl"))  # replayed files are removed
    assert len(stored(postgres_engine)) == 16


def test_an_unwritable_spill_directory_is_reported_by_name(scorer: Scorer, engine: Engine, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the spill directory should be", encoding="utf-8")
    capture = make_capture(engine, blocker / "spill")
    with serving(scorer, capture) as client:
        served_ids(client)
        health = client.get("/health").json()
    capture.close()
    assert health["status"] == "degraded" and health["capture"] == "degraded"
    assert str(blocker / "spill") in health["capture_problem"] and "cannot be written" in health["capture_problem"]
    assert len(stored(engine)) == 8  # the store answers: nothing needed the spill directory


def test_a_full_queue_spills_instead_of_growing(scorer: Scorer, engine: Engine, tmp_path: Path) -> None:
    capture = make_capture(engine, tmp_path / "spill", queue_rows=2)  # a batch of 3 does not fit
    with serving(scorer, capture) as client:
        ids = served_ids(client)
    capture.close()
    # The batch of 3 (and any that came while the converter was behind) went to the spill file, and from
    # there (replayed after the next write) into the store.
    assert capture.overflowed >= 3 and capture.log.predictions_replayed == capture.overflowed
    assert set(stored(engine)) == set(ids)

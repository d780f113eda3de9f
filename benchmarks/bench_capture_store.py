"""Server-side capture into PostgreSQL (issue 11): its write rate, and its losses when the database restarts.

- captured predictions per second into PostgreSQL (a fresh database on the shared server), single-row
  requests observed as fast as one thread can, until all are written: at least 5,000/s;
- a private PostgreSQL 15 stopped for 2 s and started again while predictions keep coming: the number lost
  (observed, and not in the store after close) must be 0.
The load average of the machine at start and end is in each result's details.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg2

from benchmarks.bench_capture import with_load
from benchmarks.harness import BenchResult
from cml_mlops.config import CaptureSection
from cml_mlops.monitoring.store import migrate
from cml_mlops.serving.capture import Capture
from cml_mlops.serving.capture_log import CaptureLog
from tests.simulation.private_postgres import private_cluster

PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "root", "dbname": "test"}
THROUGHPUT_ROWS = 60_000
RESTART_ROWS = 30_000
BATCH_SIZE = int(os.environ.get("BENCH_CAPTURE_BATCH_SIZE", "2000"))  # prediction_log.batch_size


def run() -> list[BenchResult]:
    return with_load(lambda: [captured_per_second_into_postgres(), lost_across_a_restart()])


# -- predictions per second into PostgreSQL ------------------------------------------------------------------


def _fresh_database() -> str:
    name = f"bench_capture_{secrets.token_hex(4)}"
    admin = psycopg2.connect(**PG_ADMIN)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return f"postgresql+psycopg2://root@127.0.0.1:5432/{name}"


def _drop_database(url: str) -> None:
    admin = psycopg2.connect(**PG_ADMIN)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    admin.close()


def _capture(url: str, spill: Path) -> Capture:
    from sqlalchemy import create_engine

    engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    migrate(engine)
    log = CaptureLog(engine, spill_dir=spill, batch_size=BATCH_SIZE, flush_seconds=0.2, retry_max_seconds=0.5,
                     close_timeout_seconds=60)  # fmt: skip
    return Capture(log, CaptureSection(), model_name="bench", positive_label="yes")


def _request(index: int) -> tuple[dict[str, list[Any]], list[dict[str, Any]]]:
    """One single-row request as the server observes it: validated columns (15 features) and the prediction."""
    columns: dict[str, list[Any]] = {
        "age": [30 + index % 50], "job": ["technician"], "marital": ["married"], "education": ["secondary"],
        "default": ["no"], "balance": [index % 5000], "housing": ["yes"], "loan": ["no"], "contact": ["cellular"],
        "day": [1 + index % 28], "month": ["may"], "campaign": [2], "pdays": [-1],
        "previous": [0], "poutcome": ["unknown"],
    }  # fmt: skip
    prediction = {"prediction_id": f"bench-{index:09d}", "probability": (index % 100) / 100, "label": "no",
                  "model_version": "1"}  # fmt: skip
    return columns, [prediction]


def _stored(url: str) -> int:
    connection = psycopg2.connect(url.replace("postgresql+psycopg2", "postgresql"), connect_timeout=5)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(DISTINCT prediction_id) FROM predictions")
            return int(cursor.fetchone()[0])  # type: ignore[index]
    finally:
        connection.close()


def captured_per_second_into_postgres() -> BenchResult:
    url = _fresh_database()
    try:
        capture = _capture(url, Path(tempfile.mkdtemp(prefix="bench-capture-spill-")))
        requests = [_request(i) for i in range(THROUGHPUT_ROWS)]
        started = time.perf_counter()
        for columns, predictions in requests:
            capture.observe(columns, predictions, started)
        observed = time.perf_counter() - started
        assert capture.flush(timeout=600), "the capture did not drain"
        seconds = time.perf_counter() - started
        summary = capture.close()
        stored = _stored(url)
    finally:
        _drop_database(url)
    rate = stored / seconds
    details = {"rows": THROUGHPUT_ROWS, "stored": stored, "seconds": round(seconds, 3),
               "observe_seconds": round(observed, 3),
               "observe_us_per_request": round(observed / THROUGHPUT_ROWS * 1e6, 2),
               "spilled": summary.predictions_spilled, "batch_size": BATCH_SIZE}  # fmt: skip
    passed = rate >= 5000 and stored == THROUGHPUT_ROWS
    return BenchResult("capture_predictions_per_second_postgres", rate, "predictions/s", "target",
                       5000.0, ">= 5,000 predictions/s", passed, details)  # fmt: skip


# -- no loss across a restart --------------------------------------------------------------------------------


def lost_across_a_restart() -> BenchResult:
    with private_cluster() as cluster:
        url = cluster.create_database("capture")
        capture = _capture(url, Path(tempfile.mkdtemp(prefix="bench-capture-spill-")))
        events: list[str] = []

        def restart() -> None:
            time.sleep(1.0)
            cluster.stop()
            events.append(f"stopped at {time.perf_counter() - began:.2f}s")
            time.sleep(2.0)
            cluster.start()
            events.append(f"started at {time.perf_counter() - began:.2f}s")

        began = time.perf_counter()
        restarter = threading.Thread(target=restart, daemon=True)
        restarter.start()
        pace = 6.0 / RESTART_ROWS  # spread over ~6 s: before, during and after the outage
        for index in range(RESTART_ROWS):
            columns, predictions = _request(index)
            capture.observe(columns, predictions, time.perf_counter())
            delay = began + (index + 1) * pace - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        restarter.join(timeout=120)
        capture.flush(timeout=120)
        summary = capture.close(timeout=120)
        stored = _stored(url)
    lost = RESTART_ROWS - stored
    details = {"rows": RESTART_ROWS, "stored": stored, "events": events, "retries": summary.retries,
               "spilled_then_replayed": capture.log.predictions_replayed,
               "left_in_spill_files": summary.predictions_spilled - capture.log.predictions_replayed}  # fmt: skip
    return BenchResult("capture_predictions_lost_on_postgres_restart", float(lost), "predictions", "target", 0.0,
                       "== 0", lost == 0, details)  # fmt: skip

"""Server-side capture (issue 11): its cost to the server, its write rate into PostgreSQL, its losses on a restart.

In one run:
- capture on against capture off, the same model served by `deploy` (the real server process) with the
  default SQLite store: single-row p50 within +10%, throughput at concurrency 8 within -5%. Rounds alternate
  (on, off, on, off) and the median of each is compared, as the machine is shared and its load moves;
- captured predictions per second into PostgreSQL (a fresh database on the shared server), single-row
  requests observed as fast as one thread can, until all are written: at least 5,000/s;
- a private PostgreSQL 15 stopped for 2 s and started again while predictions keep coming: the number lost
  (observed, and not in the store after close) must be 0.
The load average of the machine at start and end is in each result's details.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg2

from benchmarks.bench_serving import load_test, single_row_bodies
from benchmarks.harness import BenchResult
from benchmarks.project import loaded_config, scratch_environ
from cml_mlops.config import CaptureSection
from cml_mlops.deploy.local import LocalTarget
from cml_mlops.lake import open_lake
from cml_mlops.monitoring.store import migrate
from cml_mlops.serving.capture import Capture
from cml_mlops.serving.capture_log import CaptureLog
from cml_mlops.tracking import load_model_version
from tests.serving.helpers import gated_version
from tests.simulation.private_postgres import private_cluster
from tests.support.net import free_port

ROUNDS = 2  # on/off rounds, alternating
PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "root", "dbname": "test"}
THROUGHPUT_ROWS = 60_000
RESTART_ROWS = 30_000
BATCH_SIZE = int(os.environ.get("BENCH_CAPTURE_BATCH_SIZE", "2000"))  # prediction_log.batch_size


def load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def run() -> list[BenchResult]:
    load_at_start = load()
    on_off = capture_on_against_off()
    rate = captured_per_second_into_postgres()
    lost = lost_across_a_restart()
    machine_load = {"load_average_1_5_15_at_start": load_at_start, "load_average_1_5_15_at_end": load()}
    for result in (*on_off, rate, lost):
        result.details["machine_load"] = machine_load
    return [*on_off, rate, lost]


# -- capture on against off ----------------------------------------------------------------------------------


def capture_on_against_off() -> list[BenchResult]:
    scratch = Path(tempfile.mkdtemp(prefix="bench-capture-"))
    key, port = secrets.token_urlsafe(24), free_port()
    overrides = {"CML_MLOPS_SERVING_PORT": str(port), "CML_MLOPS_SERVING_ACCESS_KEY": key}
    os.environ.update(scratch_environ(scratch, **overrides))
    config = loaded_config(scratch, **overrides)
    version = str(gated_version(config).version)
    model = load_model_version(config, version=version)
    with open_lake(config) as lake:
        frame = lake.read(config.lake.table).sample(1000, random_state=0).reset_index(drop=True)
    records = json.loads(frame[model.features].to_json(orient="records"))
    bodies = single_row_bodies(records, model.features, envelope=True)
    auth = {"Authorization": f"Bearer {key}"}
    runs: dict[str, list[dict[str, dict[str, float]]]] = {"on": [], "off": []}
    target = LocalTarget(config)
    try:
        for _ in range(ROUNDS):
            for mode in ("on", "off"):
                os.environ["CML_MLOPS_CAPTURE_ENABLED"] = "true" if mode == "on" else "false"
                target.deploy(version)
                runs[mode].append({f"c{c}": load_test(port, "/model", auth, bodies, c) for c in (1, 8)})
    finally:
        target.undeploy()
        os.environ.pop("CML_MLOPS_CAPTURE_ENABLED", None)
    p50 = {mode: statistics.median(r["c1"]["p50_ms"] for r in runs[mode]) for mode in runs}
    rps = {mode: statistics.median(r["c8"]["rps"] for r in runs[mode]) for mode in runs}
    details: dict[str, Any] = {"rounds": runs, "store": "SQLite (the default)"}
    return [
        BenchResult("capture_single_row_p50", p50["on"], "ms", "capture off, same run", p50["off"],
                    "ratio <= 1.10", p50["on"] <= 1.10 * p50["off"], details),
        BenchResult("capture_throughput_c8", rps["on"], "req/s", "capture off, same run", rps["off"],
                    "ratio >= 0.95", rps["on"] >= 0.95 * rps["off"], details),
    ]  # fmt: skip


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

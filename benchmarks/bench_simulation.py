"""Simulation throughput against the local model server, every prediction logged to PostgreSQL (issue 5).

The served model is the default candidates' choice trained on bank-full (as in bench_serving); requests are
rows of bank-full's last fifth (drift-replay). Target: at least 500 predictions/s. Baseline, measured in the same
run: the same requests from the same number of threads without logging (the endpoint alone), so the ratio is
what logging costs. Measured with one record per request (each request one prediction) and with records
batched per request (each record still its own logged prediction with its own id). The load generator, the
server and PostgreSQL share the same 2 cores.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg2
from psycopg2 import sql
from sqlalchemy.engine import make_url

from benchmarks.harness import BenchResult
from benchmarks.project import loaded_config, scratch_environ
from cml_mlops.deploy.local import LocalTarget
from cml_mlops.registry import set_gate_record
from cml_mlops.simulation.endpoint import EndpointClient, resolve_endpoint
from cml_mlops.simulation.runner import SimulationOptions, json_records, run_simulation
from cml_mlops.simulation.scenarios import scenario_rows
from cml_mlops.simulation.served import served_version
from cml_mlops.training import train
from tests.support.net import free_port

PG_DSN = os.environ.get("CML_MLOPS_TEST_PG_DSN", "postgresql://root@127.0.0.1:5432/test")
TARGET = 500.0  # predictions/s
CONCURRENCY = 8
# (records per request, rows sent): enough requests for a steady rate, few enough for a 2-core machine.
RUNS = ((1, 3000), (20, 9000))


def _admin(statement: sql.Composable) -> None:
    admin = psycopg2.connect(PG_DSN, connect_timeout=10)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(statement)
    finally:
        admin.close()


def endpoint_alone(config, records: list[dict], per_request: int) -> float:  # type: ignore[no-untyped-def]
    """Predictions/s of the same requests from the same threads, nothing logged: the baseline."""
    client = EndpointClient(resolve_endpoint(config, "local"))
    chunks = iter(range(0, len(records), per_request))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                first = next(chunks, None)
            if first is None:
                return
            client.predict(records[first : first + per_request])

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    client.close()
    return len(records) / seconds


def run() -> list[BenchResult]:
    scratch = Path(tempfile.mkdtemp(prefix="bench-simulation-"))
    database = f"cml_mlops_bench_sim_{uuid.uuid4().hex[:10]}"
    dsn = make_url(PG_DSN).set(drivername="postgresql+psycopg2", database=database).render_as_string(False)
    key = secrets.token_urlsafe(24)
    environ = {
        "CML_MLOPS_SERVING_PORT": str(free_port()),
        "CML_MLOPS_SERVING_ACCESS_KEY": key,
        "CML_MLOPS_MONITORING_DSN": dsn,
    }
    saved = dict(os.environ)
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        config = loaded_config(scratch, **environ)
        os.environ.update(scratch_environ(scratch, **environ))  # the model server reads its config from there
        version = train(config, progress=False).model_version
        set_gate_record(config, version, True, "benchmark: gate not under test")
        target = LocalTarget(config)
        target.deploy(version)
        try:
            served = served_version(config, version)
            rows = scenario_rows(config, "drift-replay", served).frame
            records = json_records(rows[served.features])
            measured = []
            for per_request, count in RUNS:
                baseline = endpoint_alone(config, records[:count], per_request)
                options = SimulationOptions(
                    scenario="drift-replay", rows=count, concurrency=CONCURRENCY, records_per_request=per_request,
                    label_share=0.5, interval_seconds=60.0, progress=False,
                )  # fmt: skip
                summary = run_simulation(config, options)
                measured.append((per_request, summary, baseline))
        finally:
            target.undeploy()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(scratch, ignore_errors=True)
        _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    results = []
    for per_request, summary, baseline in measured:
        details = {
            "records_per_request": per_request,
            "concurrency": CONCURRENCY,
            "rows_sent": summary.rows_sent,
            "failed_predictions": summary.failed_predictions,
            "failed_requests": summary.failed_requests,
            "predictions_logged": summary.predictions_logged,
            "labels_logged": summary.labels_logged,
            "seconds": summary.seconds,
            "store": "PostgreSQL 15 (127.0.0.1)",
            "model": f"{summary.model_name} version {summary.model_version} (default candidates, bank-full)",
        }
        complete = summary.failed_predictions == 0 and summary.predictions_logged == summary.rows_sent
        name = f"simulation_throughput_{'single_record' if per_request == 1 else f'{per_request}_per_request'}"
        results.append(
            BenchResult(name, summary.predictions_per_second, "predictions/s",
                        f"the same requests without logging ({per_request} per request)", round(baseline, 1),
                        f">= {TARGET:.0f} predictions/s, every prediction logged",
                        complete and summary.predictions_per_second >= TARGET, details)
        )  # fmt: skip
    return results

"""Serving latency and throughput of the local model server over loopback (issue 3).

In one run, on the same registered model (the default candidates trained on bank-full): our server, in-process
`predict` (the floor) and `mlflow models serve` (the peer). Targets: single-row p50 <= 2 ms and p99 <= 10 ms;
throughput at least MLflow's at concurrency 1, 8 and 32; a 1,000-row batch within 1.5x of in-process predict.
The load generator runs on the same 2 cores as the server: absolute numbers include its cost, ratios are fair.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import BenchResult, timed_runs
from benchmarks.project import loaded_config, scratch_environ
from cml_mlops.config import ProjectConfig
from cml_mlops.deploy.local import LocalTarget
from cml_mlops.lake import open_lake
from cml_mlops.registry import set_gate_record
from cml_mlops.tracking import load_model_version
from cml_mlops.training import train
from tests.support.net import free_port

CONCURRENCY = (1, 8, 32)
REQUESTS = {1: 1000, 8: 2000, 32: 3200}


class Client:
    """One keep-alive HTTP/1.1 connection, as a load-test client thread holds it."""

    def __init__(self, port: int, path: str, headers: dict[str, str]) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.path, self.headers = path, {"Content-Type": "application/json", **headers}

    def post(self, body: bytes) -> float:
        started = time.perf_counter()
        self.connection.request("POST", self.path, body=body, headers=self.headers)
        response = self.connection.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {payload[:300]!r}")
        return elapsed


def load_test(port: int, path: str, headers: dict[str, str], bodies: list[bytes], concurrency: int) -> dict[str, float]:
    """Send `bodies` round-robin from `concurrency` threads; latency percentiles (ms) and requests per second."""
    total = REQUESTS[concurrency]
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        client = Client(port, path, headers)
        mine = [client.post(bodies[(index + i * concurrency) % len(bodies)]) for i in range(total // concurrency)]
        with lock:
            latencies.extend(mine)

    Client(port, path, headers).post(bodies[0])  # warm-up
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "rps": len(latencies) / wall,
        "requests": len(latencies),
    }


def wait_for(url_port: int, path: str, *, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {url_port} exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", url_port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {url_port}{path} within {timeout} s")


@contextmanager
def mlflow_server(config: ProjectConfig, version: str) -> Iterator[int]:
    port = free_port()
    # MLflow starts `uvicorn` by name: this interpreter's scripts must be on PATH.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": config.tracking_uri()}
    model_uri = f"models:/{config.tracking.model_name}/{version}"
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local"]
    process = subprocess.Popen(
        [*command, "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port, "/ping", process=process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def single_row_bodies(rows: list[dict[str, Any]], columns: list[str], *, envelope: bool) -> list[bytes]:
    if envelope:
        return [json.dumps({"request": row}).encode() for row in rows]
    return [
        json.dumps({"dataframe_split": {"columns": columns, "data": [[row[c] for c in columns]]}}).encode()
        for row in rows
    ]


def run() -> list[BenchResult]:
    scratch = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    key = secrets.token_urlsafe(24)
    port = free_port()
    # The server process reads its config from the environment, like the CLI.
    os.environ.update(scratch_environ(scratch, CML_MLOPS_SERVING_PORT=str(port), CML_MLOPS_SERVING_ACCESS_KEY=key))
    config = loaded_config(scratch, CML_MLOPS_SERVING_PORT=str(port), CML_MLOPS_SERVING_ACCESS_KEY=key)
    outcome = train(config, progress=False)
    version = outcome.model_version
    set_gate_record(config, version, True, "benchmark: gate not under test")
    model = load_model_version(config, version=version)
    with open_lake(config) as lake:
        frame = lake.read(config.lake.table).sample(1000, random_state=0).reset_index(drop=True)
    columns = model.features
    records = json.loads(frame[columns].to_json(orient="records"))

    in_process = np.array(timed_runs(lambda: model.predict(frame.iloc[[0]]), repeat=300)) * 1000
    batch_in_process = statistics.median(timed_runs(lambda: model.predict(frame), repeat=20))
    target = LocalTarget(config)
    target.deploy(version)
    auth = {"Authorization": f"Bearer {key}"}
    try:
        ours = {
            c: load_test(port, "/model", auth, single_row_bodies(records, columns, envelope=True), c)
            for c in CONCURRENCY
        }
        batch_body = json.dumps(
            {"dataframe_split": {"columns": columns, "data": frame[columns].values.tolist()}}
        ).encode()
        client = Client(port, "/invocations", auth)
        batch_ours = statistics.median(client.post(batch_body) for _ in range(20))
    finally:
        target.undeploy()
    with mlflow_server(config, version) as mlflow_port:
        bodies = single_row_bodies(records, columns, envelope=False)
        theirs = {c: load_test(mlflow_port, "/invocations", {}, bodies, c) for c in CONCURRENCY}

    floor_p50, floor_p99 = float(np.percentile(in_process, 50)), float(np.percentile(in_process, 99))
    details = {
        "ours": ours,
        "mlflow_models_serve": theirs,
        "in_process_p50_ms": floor_p50,
        "in_process_p99_ms": floor_p99,
    }
    results = [
        BenchResult("serving_single_row_p50", ours[1]["p50_ms"], "ms", "in-process predict p50", floor_p50,
                    "<= 2 ms", ours[1]["p50_ms"] <= 2.0, details),
        BenchResult("serving_single_row_p99", ours[1]["p99_ms"], "ms", "in-process predict p99", floor_p99,
                    "<= 10 ms", ours[1]["p99_ms"] <= 10.0, details),
        BenchResult("serving_batch_1000_rows", batch_ours * 1000, "ms", "in-process predict of 1,000 rows",
                    batch_in_process * 1000, "ratio <= 1.5", batch_ours <= 1.5 * batch_in_process, details),
    ]  # fmt: skip
    for c in CONCURRENCY:
        results.append(
            BenchResult(f"serving_throughput_c{c}", ours[c]["rps"], "req/s", f"mlflow models serve at concurrency {c}",
                        theirs[c]["rps"], "ratio >= 1.0 (at least MLflow's)", ours[c]["rps"] >= theirs[c]["rps"],
                        {"ours": ours[c], "mlflow": theirs[c]})
        )  # fmt: skip
    return results

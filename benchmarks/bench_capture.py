"""Server-side capture (issue 11): its cost to the server (here), its write rate into PostgreSQL and its losses on a
restart (bench_capture_store.py).

- capture on against capture off, the same model served by `deploy` (the real server process) with the
  default SQLite store: single-row p50 within +10%, throughput at concurrency 8 within -5%. Rounds alternate
  (on, off, on, off) and the median of each is compared, as the machine is shared and its load moves;
The load average of the machine at start and end is in each result's details.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.bench_serving import load_test, single_row_bodies
from benchmarks.harness import BenchResult
from benchmarks.project import loaded_config, scratch_environ
from cml_mlops.deploy.local import LocalTarget
from cml_mlops.lake import open_lake
from cml_mlops.tracking import load_model_version
from tests.serving.helpers import gated_version
from tests.support.net import free_port

ROUNDS = 2  # on/off rounds, alternating


def load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def with_load(measure: Callable[[], list[BenchResult]]) -> list[BenchResult]:
    """`measure`'s results, each noting the machine's load average before and after (the machine is shared)."""
    load_at_start = load()
    results = measure()
    machine_load = {"load_average_1_5_15_at_start": load_at_start, "load_average_1_5_15_at_end": load()}
    for result in results:
        result.details["machine_load"] = machine_load
    return results


def run() -> list[BenchResult]:
    return with_load(capture_on_against_off)


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

"""Download (loopback HTTP) + contract check + Iceberg write + read back of bank-full (45,211 rows).

Target (issue 2): under 3 s wall. Baseline in the same run: the bare I/O floor for the same data, i.e. copying the
zip, extracting the CSV, pandas read_csv and a Parquet write + read with pyarrow (no checks, no catalog).
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from benchmarks.harness import BenchResult, best_seconds
from benchmarks.project import BANK_ZIP, scratch_config
from cml_mlops.ingest import fetch_dataset
from cml_mlops.lake import open_lake
from cml_mlops.loading import load_raw_csv

TARGET_SECONDS = 3.0


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def pipeline(url: str, scratch: Path) -> int:
    config = scratch_config(scratch, CML_MLOPS_DATA_URL=url)
    fetch_dataset(config, progress=False, force=True)
    load_raw_csv(config)
    with open_lake(config) as lake:
        return len(lake.read(config.lake.table))


def io_floor(scratch: Path) -> int:
    shutil.copyfile(BANK_ZIP, scratch / "bank.zip")
    with zipfile.ZipFile(scratch / "bank.zip") as archive:
        archive.extract("bank-full.csv", scratch)
    frame = pd.read_csv(scratch / "bank-full.csv", sep=";")
    frame.to_parquet(scratch / "bank.parquet")
    return len(pq.read_table(scratch / "bank.parquet").to_pandas())


def fresh_scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="bench-ingest-"))


def run() -> list[BenchResult]:
    www = fresh_scratch()
    shutil.copyfile(BANK_ZIP, www / "bank.zip")
    with serve(www) as base_url:
        url = f"{base_url}/bank.zip"
        assert pipeline(url, fresh_scratch()) == 45_211  # warm-up: imports, first catalog
        seconds = best_seconds(lambda: pipeline(url, fresh_scratch()), repeat=3)
    started = time.perf_counter()
    assert io_floor(fresh_scratch()) == 45_211
    baseline = min(time.perf_counter() - started, best_seconds(lambda: io_floor(fresh_scratch()), repeat=3))
    return [
        BenchResult(
            name="ingest_lake_roundtrip_bank_full",
            value=seconds,
            unit="s",
            baseline_name="copy+unzip+read_csv+parquet write/read",
            baseline_value=baseline,
            target=f"< {TARGET_SECONDS} s wall",
            passed=seconds < TARGET_SECONDS,
            details={"rows": 45_211, "steps": "HTTP download, extract, sha256, contract check, Iceberg write, read"},
        )
    ]

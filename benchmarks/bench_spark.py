"""The Spark engine at scale: validation against pandera.pyspark, peak memory against pandas, batch scoring.

A bank-shaped Iceberg table of CML_MLOPS_BENCH_SPARK_ROWS rows (default 10M) is made by bootstrapping
bank-full with noise on `balance`, `duration` and `age`, written by Spark (local[2]).
- validation: our compiled row checks (RawRecord: one pass, counts and sample failing rows) against
  pandera.pyspark with the same row checks on the same table, target ratio <= 1.0; the whole contract
  (RawDataset, with the data-set rules: a duplicate count needs a shuffle) is timed too, in the details;
- peak memory (RSS of this process and its JVM, sampled) of the Spark path against the pandas path
  (PyIceberg read + pandera); the pandas path may refuse the table: what happened is recorded;
- batch scoring of CML_MLOPS_BENCH_SCORE_ROWS rows (default 1M) on Spark (mapInPandas, written as one snapshot)
  against the same pipeline in pandas, in process: rows/s.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from benchmarks.harness import BenchResult
from benchmarks.project import bank_full_text, contracts

ROWS = int(os.environ.get("CML_MLOPS_BENCH_SPARK_ROWS", 10_000_000))
SCORE_ROWS = int(os.environ.get("CML_MLOPS_BENCH_SCORE_ROWS", 1_000_000))
PANDAS_MAX_ROWS = int(os.environ.get("CML_MLOPS_BENCH_PANDAS_MAX_ROWS", 5_000_000))  # beyond: refused (memory)
SEED = 7


def _load() -> float:
    return os.getloadavg()[0]


def peak_rss_mb(func: Callable[[], object]) -> tuple[float, object]:
    """Peak resident memory of this process and its children (the JVM), sampled every 50 ms while `func` runs."""
    me = psutil.Process()
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            total = me.memory_info().rss
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
            peak = max(peak, total / 2**20)
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        result = func()
    finally:
        done.set()
        thread.join()
    return peak, result


def _bank_table(lake: Any, rows: int) -> None:
    """bank-full, typed by the contract, bootstrapped to `rows` rows with noise, as Iceberg table `bank`."""
    from pyspark.sql import functions as F

    c = contracts()
    base = c.RawRecord.validate(bank_full_text()).reset_index(drop=True)
    base["_i"] = np.arange(len(base))
    spark = lake.spark
    seeds = F.broadcast(spark.createDataFrame(base))
    drawn = spark.range(rows).select(
        F.floor(F.rand(SEED) * len(base)).cast("long").alias("_i"), F.randn(SEED + 1).alias("_n")
    )
    noisy = drawn.join(seeds, "_i").select(
        *[
            (F.col("balance") + (F.col("_n") * 500).cast("long")).alias("balance")
            if name == "balance"
            else (F.col("duration") + F.abs(F.col("_n") * 20).cast("long")).alias("duration")
            if name == "duration"
            else F.col(name)
            for name in base.columns
            if name != "_i"
        ]
    )
    lake.write_dataframe("bank", noisy.repartition(4))


def _pandera_pyspark_model(c: Any) -> Any:
    """The project's row checks (dtype, nullability, isin, ranges) as a pandera.pyspark model."""
    import pandera.pyspark as pyspark_pa
    from pyspark.sql import types as T

    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__module__": __name__}
    for name, column in c.RawRecord.to_schema().columns.items():
        integral = "int" in str(column.dtype)
        annotations[name] = T.LongType() if integral else T.StringType()
        kwargs: dict[str, Any] = {"nullable": bool(column.nullable)}
        for check in column.checks:
            stats = check.statistics
            if check.name == "in_range":
                kwargs["ge"], kwargs["le"] = stats["min_value"], stats["max_value"]
            elif check.name == "isin":
                kwargs["isin"] = list(stats["allowed_values"])
        namespace[name] = pyspark_pa.Field(**kwargs)
    namespace["__annotations__"] = annotations
    return type("RawRecordPySpark", (pyspark_pa.DataFrameModel,), namespace)


def run() -> list[BenchResult]:
    from cml_mlops.contracts import validate_frame
    from cml_mlops.contracts.spark_runner import validate_dataframe
    from cml_mlops.lake import PyIcebergLake
    from cml_mlops.lake.spark_lake import SparkLake
    from cml_mlops.lake.spark_session import SparkSettings

    c = contracts()
    scratch = Path(tempfile.mkdtemp(prefix="cml-mlops-bench-spark-"))
    uri, warehouse = f"sqlite:///{scratch}/catalog.db", str(scratch / "warehouse")
    settings = SparkSettings(master="local[2]", conf={"spark.driver.memory": "6g", "spark.sql.shuffle.partitions": "8"})
    lake = SparkLake("bench", uri, warehouse, "bench", settings)
    lake.spark.sparkContext.setLogLevel("ERROR")
    started = time.perf_counter()
    _bank_table(lake, ROWS)
    build_seconds = time.perf_counter() - started
    facts = {"rows": ROWS, "table_build_seconds": round(build_seconds, 1), "load_average_1m_before": _load()}

    model = _pandera_pyspark_model(c)
    started = time.perf_counter()
    checked = model.validate(check_obj=lake.dataframe("bank"))
    errors = dict(checked.pandera.errors)
    theirs_seconds = time.perf_counter() - started
    # The same checks as pandera.pyspark: the row checks (RawRecord); and the whole contract for the record.
    started = time.perf_counter()
    ours = validate_dataframe(lake.dataframe("bank"), c.RawRecord)
    ours_seconds = time.perf_counter() - started
    started = time.perf_counter()
    whole = validate_dataframe(lake.dataframe("bank"), c.RawDataset)
    whole_seconds = time.perf_counter() - started
    validation = BenchResult(
        name="spark_validation_vs_pandera_pyspark",
        value=ours_seconds,
        unit="s",
        baseline_name="pandera.pyspark, same row checks",
        baseline_value=theirs_seconds,
        target="ratio <= 1.0 with sample failing rows",
        passed=ours_seconds <= theirs_seconds,
        details={
            **facts,
            "ours_checks": "RawRecord row checks (dtype, nullability, isin, ranges), counts and sample failing rows",
            "ours_passed": ours.passed,
            "ours_failures": [f.check for f in ours.failures],
            "whole_contract_seconds": round(whole_seconds, 2),
            "whole_contract_checks": "RawDataset: row checks + data-set rules (row count, positive rate, duplicates)",
            "whole_contract_passed": whole.passed,
            "pandera_pyspark_errors": errors,
            "load_average_1m_after": _load(),
        },
    )

    spark_peak, _ = peak_rss_mb(lambda: validate_dataframe(lake.dataframe("bank"), c.RawDataset))
    pandas_outcome = "ran"
    pandas_peak = 0.0
    if ROWS > PANDAS_MAX_ROWS:
        pandas_outcome = f"not run: {ROWS:,} rows is over CML_MLOPS_BENCH_PANDAS_MAX_ROWS={PANDAS_MAX_ROWS:,}"
    else:
        with PyIcebergLake("bench", uri, warehouse, "bench") as embedded:
            try:
                pandas_peak, _ = peak_rss_mb(lambda: validate_frame(embedded.read("bank"), c.RawDataset))
            except MemoryError as exc:
                pandas_outcome = f"refused: MemoryError {exc}"
    memory = BenchResult(
        name="spark_validation_peak_memory",
        value=spark_peak,
        unit="MB",
        baseline_name="pandas path (PyIceberg read + pandera)",
        baseline_value=pandas_peak,
        target="report (the JVM is counted)",
        passed=True,
        details={**facts, "pandas_path": pandas_outcome, "load_average_1m_after": _load()},
    )
    return [validation, memory, _scoring(lake, c, facts)]


def _scoring(lake: Any, c: Any, facts: dict[str, Any]) -> BenchResult:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from cml_mlops.batch_scoring import _score_on_spark, predict_frame
    from cml_mlops.tracking import LoadedModel

    lake.write_dataframe("bank_score", lake.dataframe("bank").limit(SCORE_ROWS))
    frame = lake.read("bank_score")
    numeric = [n for n in frame.columns if frame[n].dtype.kind in "iu" and n != c.TARGET]
    categorical = [n for n in frame.columns if frame[n].dtype == object and n != c.TARGET]
    pipeline = Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [("n", StandardScaler(), numeric), ("c", OneHotEncoder(handle_unknown="ignore"), categorical)]
                ),
            ),
            ("model", LogisticRegression(max_iter=300)),
        ]
    ).fit(frame.head(50_000), frame[c.TARGET].head(50_000) == c.POSITIVE_LABEL)
    model = LoadedModel(pipeline, "bench", "1", "run", 0.5, c.POSITIVE_LABEL, "no", numeric + categorical)
    snapshot = lake.current_snapshot("bank_score").snapshot_id
    started = time.perf_counter()
    _score_on_spark(lake, "bank_score", snapshot, "bank_predictions", model)
    spark_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predict_frame(model, frame, snapshot)
    pandas_seconds = time.perf_counter() - started
    rows = len(frame)
    return BenchResult(
        name="spark_batch_scoring",
        value=rows / spark_seconds,
        unit="rows/s",
        baseline_name="the same pipeline in pandas, in process",
        baseline_value=rows / pandas_seconds,
        target="report rows/s (Spark also checks and writes)",
        passed=True,
        details={
            **facts,
            "score_rows": rows,
            "spark_seconds_incl_contract_and_write": round(spark_seconds, 2),
            "pandas_seconds_predict_only": round(pandas_seconds, 2),
            "load_average_1m_after": _load(),
        },
    )

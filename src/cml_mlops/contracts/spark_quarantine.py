"""Quarantine on Spark: rows that break the contract move to `<table>_quarantine` without leaving Spark."""

from __future__ import annotations

from dataclasses import dataclass

from pandera.api.dataframe.model import DataFrameModel

from cml_mlops.contracts.runner import ContractReport
from cml_mlops.contracts.spark_runner import invalid_rows, validate_dataframe
from cml_mlops.errors import LakeError
from cml_mlops.lake.spark_lake import SparkLake
from cml_mlops.quarantine import REASON_COLUMN, SOURCE_COLUMN, TIME_COLUMN


@dataclass(frozen=True)
class SparkQuarantine:
    report: ContractReport  # of the rows that remain
    snapshot_id: int  # the table's new snapshot
    quarantined: int


def quarantine_on_spark(
    lake: SparkLake, table: str, snapshot_id: int, model: type[DataFrameModel], *, source: str
) -> SparkQuarantine | None:
    """Move the failing rows to the quarantine table and keep the rest, only when the rest passes the contract.

    None (nothing written) when no row fails a row check or the remaining rows still fail the contract.
    Two commits: the quarantine append first, so a failure in between loses no row (it is then in both).
    """
    from pyspark.sql import functions as F

    data = lake.dataframe(table, snapshot_id)
    invalid, valid = invalid_rows(data, model)
    count = invalid.count()
    if not count:
        return None
    remaining = validate_dataframe(valid, model)
    if not remaining.passed:
        return None
    # Invalid rows cannot be typed by the contract they break: every data column is kept as text.
    rows = invalid.select(
        *[F.col(f"`{name}`").cast("string").alias(name) for name in data.columns],
        F.col(REASON_COLUMN),
        F.lit(source).alias(SOURCE_COLUMN),
        F.current_timestamp().alias(TIME_COLUMN),
    )
    quarantine = f"{table}_quarantine"
    if lake.table_exists(quarantine) and set(lake.schema(quarantine).names) != set(rows.columns):
        raise LakeError(
            f"the quarantine table {quarantine} has other columns than table {table} now: "
            f"drop it (`cml-mlops lake drop --table {quarantine} --yes`) or validate with lake.engine: pyiceberg"
        )
    lake.write_dataframe(
        quarantine, rows.select(*(lake.schema(quarantine).names if lake.table_exists(quarantine) else rows.columns))
    )
    kept = lake.overwrite_dataframe(table, valid)
    return SparkQuarantine(remaining, kept.snapshot_id, count)

"""Batch scoring: a table at a snapshot, scored by a registered model, written as one Iceberg snapshot.

On the Spark engine the same pipeline runs inside Spark (mapInPandas, one pandas batch at a time), so a
table larger than one machine's memory can be scored; on the PyIceberg engine the table is scored in pandas
(small tables). Either way the predictions are checked against the predictions contract before anything is
written: bad predictions never reach the output table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from cml_mlops.config import ProjectConfig
from cml_mlops.contracts import ContractReport
from cml_mlops.errors import ContractViolation, LakeError
from cml_mlops.lake import Lake, Snapshot, open_lake
from cml_mlops.predictions import LABEL, PROBABILITY, prediction_model, validate_predictions
from cml_mlops.tracking import CHAMPION, LoadedModel, load_model_version

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from cml_mlops.lake.spark_lake import SparkLake

MODEL_VERSION = "model_version"
SOURCE_SNAPSHOT = "source_snapshot_id"
# What scoring adds to the input columns; the first two are the predictions contract's.
OUTPUT_FIELDS = [
    pa.field(PROBABILITY, pa.float64(), nullable=False),
    pa.field(LABEL, pa.string(), nullable=False),
    pa.field(MODEL_VERSION, pa.string(), nullable=False),
    pa.field(SOURCE_SNAPSHOT, pa.int64(), nullable=False),
]


@dataclass(frozen=True)
class BatchScoring:
    table: str
    snapshot_id: int
    output_table: str
    output_snapshot: Snapshot
    rows: int
    model_version: str
    report: ContractReport  # the predictions contract's


def score_table(
    config: ProjectConfig,
    *,
    output_table: str,
    snapshot_id: int | None = None,
    version: str | int | None = None,
    alias: str | None = None,
) -> BatchScoring:
    """Score `lake.table` at `snapshot_id` (default current) with a registered version (default the champion)."""
    table = config.lake.table
    if output_table == table:
        raise LakeError(f"the output table must not be the input table {table}: choose another --output-table")
    model = load_model_version(config, version=version, alias=alias if version is not None or alias else CHAMPION)
    with open_lake(config) as lake:
        current = lake.current_snapshot(table)
        if current is None:
            raise LakeError(f"table {config.lake.namespace}.{table} has no data: run `cml-mlops lake load` first")
        chosen = current.snapshot_id if snapshot_id is None else snapshot_id
        if type(lake).__name__ == "SparkLake":
            written, rows, report = _score_on_spark(lake, table, chosen, output_table, model)  # type: ignore[arg-type]
        else:
            written, rows, report = _score_in_pandas(lake, table, chosen, output_table, model)
    return BatchScoring(table, chosen, output_table, written, rows, model.version, report)


def predict_frame(model: LoadedModel, frame: pd.DataFrame, snapshot_id: int) -> pd.DataFrame:
    """The input rows with their prediction, the model version and the source snapshot (the output table's rows)."""
    predicted = model.predict(frame)
    scored = frame.copy()
    scored[PROBABILITY] = predicted[PROBABILITY].to_numpy()
    scored[LABEL] = predicted[LABEL].to_numpy()
    scored[MODEL_VERSION] = str(model.version)
    scored[SOURCE_SNAPSHOT] = snapshot_id
    return scored


def _score_in_pandas(
    lake: Lake, table: str, snapshot_id: int, output_table: str, model: LoadedModel
) -> tuple[Snapshot, int, ContractReport]:
    frame = lake.read(table, snapshot_id)
    scored = predict_frame(model, frame, snapshot_id)
    report = validate_predictions(scored[[PROBABILITY, LABEL]], model.positive_label, model.negative_label)
    _refuse(report, model)
    schema = pa.schema([*lake.schema(table), *OUTPUT_FIELDS])
    return lake.create_or_replace(output_table, scored, schema), len(scored), report


def _score_on_spark(
    lake: SparkLake, table: str, snapshot_id: int, output_table: str, model: LoadedModel
) -> tuple[Snapshot, int, ContractReport]:
    from pyspark import StorageLevel
    from pyspark.sql.pandas.types import from_arrow_schema

    from cml_mlops.contracts.spark_runner import validate_dataframe

    data = lake.dataframe(table, snapshot_id)
    schema = pa.schema([*lake.schema(table), *OUTPUT_FIELDS])

    def score(batches: Iterable[pd.DataFrame]) -> Iterable[pd.DataFrame]:
        for batch in batches:
            yield predict_frame(model, batch, snapshot_id)

    # Kept while it is checked and written, so the model runs once per row.
    scored: DataFrame = data.mapInPandas(score, from_arrow_schema(schema)).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        contract = prediction_model(model.positive_label, model.negative_label)
        report = validate_dataframe(scored.select(PROBABILITY, LABEL), contract)
        _refuse(report, model)
        if lake.table_exists(output_table):
            written = lake.overwrite_dataframe(output_table, scored)
        else:
            written = lake.write_dataframe(output_table, scored)
    finally:
        scored.unpersist()
    return written, report.rows, report


def _refuse(report: ContractReport, model: LoadedModel) -> None:
    if not report.passed:
        raise ContractViolation(
            f"model version {model.version} produced predictions that break the predictions contract; "
            "nothing was written",
            report=report,
        )

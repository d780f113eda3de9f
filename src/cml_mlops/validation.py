"""`cml-mlops validate`: check what the lake table holds (read back, not the CSV) against the data set contract."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from cml_mlops.config import ProjectConfig
from cml_mlops.contracts import ContractReport, validate_frame, write_report
from cml_mlops.errors import LakeError
from cml_mlops.lake import Lake, arrow_schema, open_lake
from cml_mlops.project import load_project_module
from cml_mlops.quarantine import quarantine_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableValidation:
    report: ContractReport
    snapshot_id: int
    quarantined: int
    report_paths: tuple[Path, Path]


def validate_table(
    config: ProjectConfig, *, snapshot_id: int | None = None, quarantine: bool = False
) -> TableValidation:
    """Validate the table at a snapshot (default current) lazily; optionally move failing rows to quarantine.

    Quarantining rewrites the table without the failing rows (one new snapshot, history kept) only when
    what remains passes the whole contract; the returned report is then that of the remaining rows.
    """
    contracts = load_project_module(config, "contracts")
    with open_lake(config) as lake:
        return _validate(config, lake, contracts, snapshot_id=snapshot_id, quarantine=quarantine)


def _validate(
    config: ProjectConfig, lake: Lake, contracts: ModuleType, *, snapshot_id: int | None, quarantine: bool
) -> TableValidation:
    table = config.lake.table
    current = lake.current_snapshot(table) if lake.table_exists(table) else None
    if current is None:
        raise LakeError(f"table {config.lake.namespace}.{table} has no data: run `cml-mlops lake load` first")
    chosen = snapshot_id if snapshot_id is not None else current.snapshot_id
    if _is_spark(lake):
        return _validate_on_spark(config, lake, contracts, chosen, quarantine and chosen == current.snapshot_id)
    frame = lake.read(table, snapshot_id=chosen)
    report = validate_frame(frame, contracts.RawDataset)
    quarantined = 0
    if not report.passed and quarantine and len(report.invalid_index) and chosen == current.snapshot_id:
        remaining = validate_frame(frame.drop(index=report.invalid_index), contracts.RawDataset)
        if remaining.passed and remaining.valid_frame is not None:
            quarantine_rows(lake, config.lake.quarantine_table, frame, report, source=f"{table}@{chosen}")
            kept = remaining.valid_frame.reset_index(drop=True)
            chosen = lake.create_or_replace(table, kept, arrow_schema(contracts.RawRecord)).snapshot_id
            quarantined = len(report.invalid_index)
            log.warning("moved %d invalid rows to %s", quarantined, config.lake.quarantine_table)
            report = remaining
    paths = write_report(report, config.path(config.reports.dir), "validation")
    return TableValidation(report, chosen, quarantined, paths)


def _is_spark(lake: Lake) -> bool:
    """Whether the lake runs on Spark (checked by name: pyspark is imported only when that engine is chosen)."""
    return type(lake).__name__ == "SparkLake"


def _validate_on_spark(
    config: ProjectConfig, lake: Lake, contracts: ModuleType, chosen: int, quarantine: bool
) -> TableValidation:
    """The same validation where the data lives: the contract compiled to Spark, quarantine written by Spark."""
    from cml_mlops.contracts.spark_quarantine import quarantine_on_spark
    from cml_mlops.contracts.spark_runner import validate_dataframe
    from cml_mlops.lake.spark_lake import SparkLake

    assert isinstance(lake, SparkLake)
    table = config.lake.table
    report = validate_dataframe(lake.dataframe(table, chosen), contracts.RawDataset)
    quarantined = 0
    if not report.passed and quarantine and report.invalid_count:
        moved = quarantine_on_spark(lake, table, chosen, contracts.RawDataset, source=f"{table}@{chosen}")
        if moved is not None:
            report, chosen, quarantined = moved.report, moved.snapshot_id, moved.quarantined
            log.warning("moved %d invalid rows to %s", quarantined, config.lake.quarantine_table)
    paths = write_report(report, config.path(config.reports.dir), "validation")
    return TableValidation(report, chosen, quarantined, paths)

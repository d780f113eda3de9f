"""Step 01: the raw CSV, checked against the data set contract, becomes a typed Iceberg table."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal

import pandas as pd

from cml_mlops.config import ProjectConfig
from cml_mlops.contracts import ContractReport, read_raw_csv, validate_frame, write_report
from cml_mlops.contracts.report import failure_summary
from cml_mlops.errors import ContractViolation, DataFormatError
from cml_mlops.lake import Lake, Snapshot, arrow_schema, open_lake
from cml_mlops.project import load_project_module
from cml_mlops.quarantine import quarantine_rows

log = logging.getLogger(__name__)
LoadMode = Literal["replace", "append"]


@dataclass(frozen=True)
class LoadResult:
    table: str
    snapshot: Snapshot
    rows: int
    quarantined: int
    report_paths: tuple[Path, Path]


def raw_csv_path(config: ProjectConfig) -> Path:
    return config.path(config.data.raw_dir) / config.data.member


def load_raw_csv(
    config: ProjectConfig, *, csv_path: Path | None = None, mode: LoadMode = "replace", quarantine: bool = False
) -> LoadResult:
    """Validate the CSV with the project's `RawDataset` and write it to the lake; nothing is written on failure.

    With `quarantine`, rows failing row-level checks go to the quarantine table and the rest is loaded,
    provided the remaining rows pass the whole contract.
    """
    contracts = load_project_module(config, "contracts")
    path = csv_path or raw_csv_path(config)
    if not path.is_file():
        raise DataFormatError(f"{path} does not exist: run `cml-mlops ingest` first (or pass --csv)")
    frame = read_raw_csv(path, separator=config.data.separator, encoding=config.data.encoding)
    report = validate_frame(frame, contracts.RawDataset)
    with open_lake(config) as lake:
        return _write(config, lake, path, frame, report, contracts, mode=mode, quarantine=quarantine)


def _write(
    config: ProjectConfig,
    lake: Lake,
    path: Path,
    frame: pd.DataFrame,
    report: ContractReport,
    contracts: ModuleType,
    *,
    mode: LoadMode,
    quarantine: bool,
) -> LoadResult:
    typed, quarantined = report.valid_frame, 0
    if not report.passed and quarantine and len(report.invalid_index):
        remaining = validate_frame(frame.drop(index=report.invalid_index), contracts.RawDataset)
        if remaining.passed:
            quarantine_rows(lake, config.lake.quarantine_table, frame, report, source=str(path))
            typed, quarantined = remaining.valid_frame, len(report.invalid_index)
            log.warning("%d rows failed the contract and went to %s", quarantined, config.lake.quarantine_table)
    # The report always describes the whole file, quarantined rows included.
    paths = write_report(report, config.path(config.reports.dir), "load")
    if typed is None:
        raise ContractViolation(
            f"{path.name} breaks the contract, the lake is unchanged ({paths[1]}): {failure_summary(report)}",
            report=report,
        )
    typed = typed.reset_index(drop=True)
    schema = arrow_schema(contracts.RawRecord)
    table = config.lake.table
    snapshot = lake.append(table, typed) if mode == "append" else lake.create_or_replace(table, typed, schema)
    return LoadResult(table, snapshot, len(typed), quarantined, paths)

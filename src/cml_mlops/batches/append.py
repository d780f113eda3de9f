"""Step 05: a synthetic batch, checked against the contract, appended to the lake table as one new snapshot.

The batch's rows must pass `RawRecord`, and the table with the batch must pass `RawDataset` (size, class balance,
duplicates), since training reads the whole table through that contract. A batch that fails either is refused:
the contract report is written and the table stays at its snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from cml_mlops.batches.bounds import contract_bounds
from cml_mlops.batches.drift import BatchError, Drift
from cml_mlops.batches.generator import BatchSpec, batch_effects, generate_batch, source_positions
from cml_mlops.batches.lineage import batch_label, record_lineage
from cml_mlops.batches.report import BATCH_FOLDER, write_batch_report
from cml_mlops.config import DriftSection, ProjectConfig
from cml_mlops.contracts import ContractReport, validate_frame, write_report
from cml_mlops.contracts.report import failure_summary
from cml_mlops.errors import ContractViolation
from cml_mlops.lake import Snapshot, open_lake
from cml_mlops.project import load_feature_spec, load_project_module
from cml_mlops.row_keys import row_keys

DEFAULT_SHARE = 0.10  # rows of a batch when neither the command nor the config says: a tenth of the table
CONTRACT_REPORT = "contract"  # reports/batches/contract.{json,md}: the last batch's contract check


@dataclass(frozen=True)
class BatchResult:
    """A generated batch and where it went (`snapshot` None for a dry run)."""

    table: str  # namespace.table
    source_snapshot_id: int
    snapshot: Snapshot | None
    rows: int
    table_rows: int  # rows of the table with the batch
    seed: int
    noise: float
    drift: Drift
    effects: dict[str, Any]
    contract: str
    dry_run: bool
    report_paths: tuple[Path, ...] = ()
    frame: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)


def config_drift(section: DriftSection) -> Drift:
    return Drift(shift=section.shift, category_mix=section.category_mix, flip_labels=section.flip_labels)


def add_batch(
    config: ProjectConfig,
    *,
    rows: int | None = None,
    seed: int | None = None,
    noise: float | None = None,
    drift: Drift | None = None,
    dry_run: bool = False,
) -> BatchResult:
    """Generate a batch from the table's current snapshot and append it; unset options come from `newbatch`.

    `drift` is applied over the config's default drift. Raises BatchError for bad options or a missing table and
    ContractViolation for a batch the contract refuses; in both cases the table is unchanged.
    """
    settings = config.newbatch
    contracts = load_project_module(config, "contracts")
    features = load_feature_spec(config)
    table = config.lake.table
    qualified = f"{config.lake.namespace}.{table}"
    with open_lake(config) as lake:
        current = lake.current_snapshot(table) if lake.table_exists(table) else None
        if current is None:
            raise BatchError(f"table {qualified} has no data to draw a batch from: run `cml-mlops lake load` first")
        source = lake.read(table, snapshot_id=current.snapshot_id)
        spec = BatchSpec(
            rows=(settings.rows or max(1, round(DEFAULT_SHARE * len(source)))) if rows is None else rows,
            seed=settings.seed if seed is None else seed,
            noise=settings.noise if noise is None else noise,
            drift=(drift or Drift()).over(config_drift(settings.drift)),
            target=features.target,
            positive_label=features.positive_label,
            bounds=contract_bounds(contracts.RawRecord),
        )
        batch = generate_batch(source, spec)
        report = _check_contract(batch, source, contracts)
        folder = config.path(config.reports.dir) / BATCH_FOLDER
        if not report.passed:
            at = f"still at snapshot {current.snapshot_id}"
            where = "" if dry_run else f" ({write_report(report, folder, CONTRACT_REPORT)[1]})"
            raise ContractViolation(
                f"the new batch breaks the contract and was not appended, {qualified} is unchanged ({at}){where}: "
                f"{failure_summary(report)}",
                report=report,
            )
        assert report.valid_frame is not None  # set on every passed report
        typed = report.valid_frame.iloc[len(source) :].reset_index(drop=True)
        result = BatchResult(
            table=qualified,
            source_snapshot_id=current.snapshot_id,
            snapshot=None,
            rows=len(typed),
            table_rows=len(source) + len(typed),
            seed=spec.seed,
            noise=spec.noise,
            drift=spec.drift,
            effects=batch_effects(source, typed, spec),
            contract=f"{report.contract} {report.contract_version or ''}".strip(),
            dry_run=dry_run,
            frame=typed,
        )
        if dry_run:
            return result
        _writable(folder)
        # Lineage first: a batch in the table always says which row each of its rows was drawn from.
        record_lineage(lake, table, _lineage_lines(source, typed, spec, current.snapshot_id))
        snapshot = lake.append(table, typed)
    contract_paths = write_report(report, folder, CONTRACT_REPORT)
    appended = replace(result, snapshot=snapshot, table_rows=snapshot.total_rows)
    paths = write_batch_report(appended, folder)
    return replace(appended, report_paths=(*paths, *contract_paths))


def _lineage_lines(source: pd.DataFrame, batch: pd.DataFrame, spec: BatchSpec, source_snapshot_id: int) -> pd.DataFrame:
    picked = source.iloc[source_positions(source, spec)]
    return pd.DataFrame(
        {
            "row_key": row_keys(batch).to_numpy(),
            "source_key": row_keys(picked).to_numpy(),
            "source": batch_label(source_snapshot_id, spec.seed),
        }
    )


def _writable(folder: Path) -> None:
    """Refuse an unusable report folder before the table changes, not after."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(
            f"cannot write the batch report to {folder}: {exc.strerror or exc}; nothing was appended"
        ) from None


def _check_contract(batch: pd.DataFrame, source: pd.DataFrame, contracts: Any) -> ContractReport:
    """The batch's rows against RawRecord; when they pass, the table with the batch against RawDataset.

    The combined frame keeps the batch's rows last, so a passing report's valid frame ends with the typed batch.
    """
    rows = validate_frame(batch, contracts.RawRecord)
    if not rows.passed:
        return rows
    combined = pd.concat([source, batch], ignore_index=True)
    return validate_frame(combined, contracts.RawDataset)

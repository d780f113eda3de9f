"""Rows that break the contract go to `<table>_quarantine` with the checks they failed, never dropped silently."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pyarrow as pa

from cml_mlops.contracts import ContractReport
from cml_mlops.lake import Lake, Snapshot

REASON_COLUMN = "_failed_checks"
TIME_COLUMN = "_quarantined_at"
SOURCE_COLUMN = "_source"


def quarantine_schema(columns: list[str]) -> pa.Schema:
    """Invalid rows cannot be typed by the contract they break: every data column is kept as text."""
    fields = [pa.field(name, pa.string()) for name in columns]
    fields += [
        pa.field(REASON_COLUMN, pa.string(), nullable=False),
        pa.field(SOURCE_COLUMN, pa.string(), nullable=False),
        pa.field(TIME_COLUMN, pa.timestamp("us", tz="UTC"), nullable=False),
    ]
    return pa.schema(fields)


def quarantine_rows(
    lake: Lake, table: str, frame: pd.DataFrame, report: ContractReport, *, source: str
) -> Snapshot | None:
    """Append the rows of `frame` that failed a row-level check to the quarantine table; None when there are none."""
    labels = report.invalid_index
    if len(labels) == 0:
        return None
    reasons = report.row_checks
    selected = frame.loc[labels]
    # Text, with real missing values as None (not the string "nan"), since the row may be typed or raw.
    rows = selected.astype("string").astype(object).mask(selected.isna())
    rows[REASON_COLUMN] = [", ".join(reasons.get(label, [])) or "row check" for label in labels]
    rows[SOURCE_COLUMN] = source
    rows[TIME_COLUMN] = pd.Timestamp(datetime.now(timezone.utc))
    rows = rows.reset_index(drop=True)
    if lake.table_exists(table) and set(lake.schema(table).names) == set(rows.columns):
        return lake.append(table, rows)
    if lake.table_exists(table):
        # The data's columns changed since the last quarantine: keep the old rows readable in history.
        return lake.create_or_replace(table, pd.concat([lake.read(table), rows], ignore_index=True), _schema(rows))
    return lake.create_or_replace(table, rows, _schema(rows))


def _schema(rows: pd.DataFrame) -> pa.Schema:
    data_columns = [c for c in rows.columns if c not in (REASON_COLUMN, SOURCE_COLUMN, TIME_COLUMN)]
    return quarantine_schema(data_columns)

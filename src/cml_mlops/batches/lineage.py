"""Where each synthetic row came from: the lake table `<table>_row_sources` (row_key, source_key, source).

`newbatch` writes one line per batch row before it appends the batch, so a batch in the table always has its
lineage (an append that then fails leaves lines for rows that do not exist, which nothing reads as data). Training
reads it to give a synthetic row the part of the row it was drawn from (see training.row_parts). Only the Lake
interface is used, so it works on every engine.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from cml_mlops.lake import Lake

SUFFIX = "_row_sources"
SCHEMA = pa.schema([("row_key", pa.string()), ("source_key", pa.string()), ("source", pa.string())])


def lineage_table(table: str) -> str:
    return f"{table}{SUFFIX}"


def batch_label(source_snapshot_id: int, seed: int) -> str:
    """The data source name of a synthetic batch in gate reports: what it was drawn from, and its seed."""
    return f"synthetic@{source_snapshot_id}:seed{seed}"


def record_lineage(lake: Lake, table: str, lines: pd.DataFrame) -> None:
    """Append `lines` (row_key, source_key, source) to the table's lineage, creating it the first time."""
    frame = lines.loc[:, SCHEMA.names].astype(str).reset_index(drop=True)
    name = lineage_table(table)
    if lake.table_exists(name):
        lake.append(name, frame)
    else:
        lake.create_or_replace(name, frame, SCHEMA)


def read_lineage(lake: Lake, table: str) -> pd.DataFrame | None:
    """The table's lineage lines, None when no batch was ever added."""
    name = lineage_table(table)
    if not lake.table_exists(name) or lake.current_snapshot(name) is None:
        return None
    return lake.read(name).drop_duplicates("row_key", keep="first")

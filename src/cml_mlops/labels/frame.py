"""Reading a ground-truth source (CSV file or Iceberg table) and checking it against the labels contract.

The contract is a pandera schema built from `monitoring.labels`: the key columns are present and filled (a
prediction id of 1 to 64 characters, or the business key and a time), each key appears once, the label is 0 or 1,
and the optional `labelled_at` is a time. Values are checked as they come (text from CSV, typed from Iceberg), so
one rule reads both. A source that breaks the contract is refused as a whole with a one-line error naming the
first bad rows: loading part of a file would leave the store in a state nobody asked for.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from cml_mlops.config import MonitoringLabelsSection, ProjectConfig
from cml_mlops.errors import CmlMlopsError, ConfigError
from cml_mlops.monitoring.store.records import MAX_ID_LENGTH

ICEBERG_PREFIX = "iceberg:"
SHOWN_PROBLEMS = 3
CSV_FIRST_ROW = 2  # the line of a CSV's first data row (after the header), for messages


class LabelSourceError(CmlMlopsError):
    """The ground-truth source cannot be read, or breaks the labels contract; nothing was written."""


@dataclass(frozen=True)
class LabelFrame:
    """A checked source: per row its key (a prediction id, or a business key value and epoch time), label, time."""

    source: str
    keys: list[str]
    times: list[float] | None  # the prediction's time per row when keyed by business key, else None
    labels: list[int]
    labelled_at: list[float | None]


def read_label_source(config: ProjectConfig, source: str) -> LabelFrame:
    """Read `source` (`path/to/file.csv` or `iceberg:<table>`) and check it; LabelSourceError when it is bad."""
    settings = config.monitoring.labels
    frame, first_row = _read(config, source)
    return check_label_frame(frame, settings, source, first_row=first_row)


def check_label_frame(
    frame: pd.DataFrame, settings: MonitoringLabelsSection, source: str, *, first_row: int = 0
) -> LabelFrame:
    """The frame's labels after the contract check (see the module); `first_row` numbers rows in messages."""
    key_columns = [settings.business_key, settings.time_column] if settings.business_key else [settings.id_column]
    needed = [*key_columns, settings.label_column]
    missing = [column for column in needed if column not in frame.columns]
    if missing:
        raise LabelSourceError(
            f"{source}: no column {', '.join(map(repr, missing))} (columns: {', '.join(map(str, frame.columns))}); "
            "the column names are set in monitoring.labels"
        )
    try:
        label_schema(settings, with_labelled_at=settings.labelled_at_column in frame.columns).validate(frame, lazy=True)
    except SchemaErrors as exc:
        raise LabelSourceError(f"{source}: {_problems(exc, first_row)}; nothing was written") from None
    labelled_at: list[float | None] = (
        [as_epoch(value) for value in frame[settings.labelled_at_column]]
        if settings.labelled_at_column in frame.columns
        else [None] * len(frame)
    )
    keys = [str(value).strip() for value in frame[key_columns[0]]]
    times = [_required(as_epoch(value)) for value in frame[settings.time_column]] if settings.business_key else None
    labels = [_required(as_binary(value)) for value in frame[settings.label_column]]
    return LabelFrame(source, keys, times, labels, labelled_at)


def label_schema(settings: MonitoringLabelsSection, *, with_labelled_at: bool) -> pa.DataFrameSchema:
    """The labels contract (pandera), for the configured columns."""
    filled = pa.Check(lambda value: _filled(value), element_wise=True, error="is empty")
    columns: dict[str, pa.Column] = {
        settings.label_column: pa.Column(
            checks=[pa.Check(lambda value: as_binary(value) is not None, element_wise=True, error="is not 0 or 1")],
            nullable=False,
        )
    }
    if settings.business_key:
        columns[settings.business_key] = pa.Column(checks=[filled], nullable=False)
        columns[settings.time_column] = pa.Column(
            checks=[pa.Check(lambda value: as_epoch(value) is not None, element_wise=True, error="is not a time")],
            nullable=False,
        )
        unique = [settings.business_key, settings.time_column]
    else:
        good_id = pa.Check(
            lambda value: _filled(value) and len(str(value).strip()) <= MAX_ID_LENGTH,
            element_wise=True,
            error=f"is not an id of 1 to {MAX_ID_LENGTH} characters",
        )
        columns[settings.id_column] = pa.Column(checks=[good_id], nullable=False)
        unique = [settings.id_column]
    if with_labelled_at:
        columns[settings.labelled_at_column] = pa.Column(
            checks=[
                pa.Check(
                    lambda value: not _filled(value) or as_epoch(value) is not None,
                    element_wise=True,
                    error="is not a time",
                )
            ],
            nullable=True,
        )
    return pa.DataFrameSchema(columns, unique=unique, report_duplicates="exclude_first", strict=False)


def as_binary(value: Any) -> int | None:
    """0 or 1 from 0/1, "0"/"1", 0.0/1.0 (a CSV read as numbers); None for anything else."""
    if isinstance(value, bool) or not _filled(value):
        return None
    text = str(value).strip()
    if text in ("0", "1"):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number in (0.0, 1.0) else None


def as_epoch(value: Any) -> float | None:
    """Epoch seconds from a number, an ISO 8601 text (UTC unless it says otherwise) or a timestamp; else None."""
    if isinstance(value, bool) or not _filled(value):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dt.datetime):  # pandas' Timestamp too
        moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
        return moment.timestamp()
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return number if math.isfinite(number) else None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)).timestamp()


def _filled(value: Any) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return False
    return bool(str(value).strip())


def _required(value: float | int | None) -> Any:
    if value is None:  # the schema check let it through: a bug, not bad data
        raise AssertionError("a value the labels contract accepted could not be read")
    return value


def _problems(exc: SchemaErrors, first_row: int) -> str:
    """'3 problems: row 4: label 'x' is not 0 or 1; ...' from pandera's failure cases."""
    cases = exc.failure_cases
    shown = []
    for case in cases.head(SHOWN_PROBLEMS).itertuples(index=False):
        where = "" if pd.isna(case.index) else f"row {int(case.index) + first_row}: "
        check = str(case.check)
        if check.startswith("field_uniqueness") or check == "multiple_fields_uniqueness":
            check = "appears more than once"
        elif check == "not_nullable":
            check = "is empty"
        shown.append(f"{where}{case.column} {case.failure_case!r} {check}".replace("'None' ", ""))
    more = f" (and {len(cases) - SHOWN_PROBLEMS} more)" if len(cases) > SHOWN_PROBLEMS else ""
    return f"{len(cases)} bad value(s) in the labels: " + "; ".join(shown) + more


def _read(config: ProjectConfig, source: str) -> tuple[pd.DataFrame, int]:
    if source.startswith(ICEBERG_PREFIX):
        return _read_iceberg(config, source.removeprefix(ICEBERG_PREFIX)), 0
    path = Path(source)
    if path.suffix.lower() != ".csv":
        raise ConfigError(f"label source {source!r}: give a .csv file or {ICEBERG_PREFIX}<table> (a lake table)")
    if not path.is_file():
        raise LabelSourceError(f"label source {source}: no such file")
    try:
        # As text: the contract reads every value itself, and ids such as 007 keep their zeros.
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LabelSourceError(f"label source {source}: not a readable CSV ({first})") from None
    return frame, CSV_FIRST_ROW


def _read_iceberg(config: ProjectConfig, table: str) -> pd.DataFrame:
    from cml_mlops.lake import open_lake

    with open_lake(config) as lake:
        if not lake.table_exists(table):
            raise LabelSourceError(f"label source {ICEBERG_PREFIX}{table}: the lake has no table {table!r}")
        return lake.read(table)

"""Derive the lake's Arrow schema from a data contract (a pandera DataFrameModel).

The contract is the single source of truth for column names, order, types and nullability, so the
Iceberg table gets typed columns instead of whatever pandas happened to infer from a CSV.
"""

from __future__ import annotations

import pyarrow as pa
from pandera import dtypes
from pandera.api.dataframe.model import DataFrameModel

# Arrow types that round-trip exactly through Iceberg and back to the pandas dtypes `read` returns.
INT = pa.int64()
FLOAT = pa.float64()
BOOL = pa.bool_()
STRING = pa.string()
DATE = pa.date32()
TIMESTAMP_UNIT = "us"  # Iceberg (format v2) stores timestamps in microseconds


def arrow_schema(model: type[DataFrameModel]) -> pa.Schema:
    """One Arrow field per contract column, in contract order, named by its alias when it has one.

    Integers widen to int64 and floats to float64 (Iceberg has no narrower pandas-exact types);
    strings, objects and categories become strings; datetimes become microsecond timestamps (UTC when
    the contract column is timezone-aware) and dates date32. Nullability comes from the column's
    `nullable`. Raises TypeError naming the column for a dtype the lake cannot store.
    """
    schema = model.to_schema()
    fields = []
    for name, column in schema.columns.items():
        if column.dtype is None:
            raise TypeError(f"contract column {name!r} has no dtype: give it one to store it in the lake")
        arrow_type = _arrow_type(str(name), column.dtype)
        fields.append(pa.field(str(name), arrow_type, nullable=bool(column.nullable)))
    return pa.schema(fields)


def _arrow_type(name: str, dtype: dtypes.DataType) -> pa.DataType:
    """The Arrow type for one contract column's pandera dtype."""
    # Order matters: pandera's bool counts as numeric and its timestamp as a date.
    if dtypes.is_bool(dtype):
        return BOOL
    if dtypes.is_uint(dtype):
        if getattr(dtype, "bit_width", 64) >= 64:
            raise TypeError(f"contract column {name!r}: uint64 does not fit Iceberg's signed 64-bit long")
        return INT
    if dtypes.is_int(dtype):
        return INT
    if dtypes.is_float(dtype):
        return FLOAT
    if dtypes.is_string(dtype) or dtypes.is_category(dtype):
        return STRING
    if dtypes.is_datetime(dtype):
        # Iceberg's timestamptz is stored in UTC whatever the contract's zone.
        return pa.timestamp(TIMESTAMP_UNIT, tz="UTC" if getattr(dtype, "tz", None) else None)
    if isinstance(dtype, dtypes.Date):
        return DATE
    if str(dtype) == "object":
        return STRING
    raise TypeError(
        f"contract column {name!r} has dtype {dtype}, which the lake cannot store: "
        "use an int, float, bool, str, category, datetime or date column"
    )

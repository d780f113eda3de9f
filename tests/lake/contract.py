"""A small data contract for the lake tests, and helpers to compare frames read back from the lake."""

from __future__ import annotations

import uuid

import pandas as pd
import pandera.pandas as pa
from hypothesis import HealthCheck, settings
from pandera.typing import Series

JOBS = ["admin.", "blue-collar", "technician"]

# The lake fixture is per test; each example writes to a table of its own, so sharing it is safe.
LAKE_SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class Customers(pa.DataFrameModel):
    """A bank-like contract: a bounded int, a float, a categorical str, a nullable str and a bool."""

    age: Series[int] = pa.Field(in_range={"min_value": 18, "max_value": 95})
    balance: Series[float]
    job: Series[str] = pa.Field(isin=JOBS)
    contact: Series[str] = pa.Field(nullable=True)
    default: Series[bool]

    class Config:
        strict = True


def customers(rows: int = 3, start: int = 20) -> pd.DataFrame:
    """A deterministic valid frame of `rows` customers."""
    return pd.DataFrame(
        {
            "age": [start + i for i in range(rows)],
            "balance": [100.5 * i for i in range(rows)],
            "job": [JOBS[i % len(JOBS)] for i in range(rows)],
            "contact": [None if i % 2 else f"phone {i}" for i in range(rows)],
            "default": [i % 3 == 0 for i in range(rows)],
        }
    )


def as_read(frame: pd.DataFrame) -> pd.DataFrame:
    """What the lake returns for `frame`: a fresh RangeIndex and None (not NaN) for a missing string."""
    result = frame.reset_index(drop=True).copy()
    for name in result.columns:
        if result[name].dtype == object:
            result[name] = result[name].astype(object).where(result[name].notna(), None)
    return result


def concat(frames: list[pd.DataFrame], like: pd.DataFrame) -> pd.DataFrame:
    """Concatenate batches, keeping `like`'s dtypes even when there is no batch or all are empty."""
    if not frames:
        return like.iloc[0:0].reset_index(drop=True)
    return as_read(pd.concat(frames, ignore_index=True).astype(like.dtypes.to_dict()))


def new_table() -> str:
    """A table name no other example uses."""
    return f"t_{uuid.uuid4().hex[:10]}"

"""The few SQL expressions that PostgreSQL and SQLite spell differently, for the monitoring aggregations.

- JSON: PostgreSQL reads a feature with `features ->> 'age'` (text; cast to a number), SQLite with
  `json_extract(features, '$."age"')` (a native value; `json_type` tells numbers apart).
- floor to an integer: `CAST(floor(x) AS INTEGER)` on PostgreSQL (a plain cast rounds there), a plain cast on
  SQLite, which truncates; the expressions given here are never negative, where the two agree.
- bins: PostgreSQL's `width_bucket(x, edges)` finds the bin by binary search; SQLite has no such function, so
  a CASE chain does the same (the number of edges at or below x).

Values come in as bound parameters; only feature names become part of the JSON path on SQLite, quoted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, Integer, String, bindparam, case, cast, func, literal
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION
from sqlalchemy.sql.elements import ColumnElement

from cml_mlops.errors import ConfigError
from cml_mlops.monitoring.schema import predictions
from cml_mlops.monitoring.windows import WindowPlan

SUPPORTED = ("postgresql", "sqlite")


class StoreDialect:
    """SQL building blocks for one database kind (`engine.dialect.name`)."""

    def __init__(self, name: str) -> None:
        if name not in SUPPORTED:
            raise ConfigError(f"the monitoring store must be PostgreSQL or SQLite, not {name}")
        self.name = name

    @property
    def postgresql(self) -> bool:
        return self.name == "postgresql"

    def floor_int(self, expression: ColumnElement[Any]) -> ColumnElement[int]:
        """floor() as an integer, for expressions that are never negative."""
        if self.postgresql:
            return cast(func.floor(expression), Integer)
        return cast(expression, Integer)

    def window_index(self, plan: WindowPlan) -> ColumnElement[int]:
        """The window of each row (0 = oldest); rows must be filtered to `in_range(plan)`."""
        elapsed = (literal(plan.until, Float) - predictions.c.requested_at) / literal(plan.length, Float)
        return literal(plan.count - 1, Integer) - self.floor_int(elapsed)

    @staticmethod
    def in_range(plan: WindowPlan) -> ColumnElement[bool]:
        return (predictions.c.requested_at > plan.since) & (predictions.c.requested_at <= plan.until)

    def json_text(self, key: str) -> ColumnElement[str]:
        """A feature as text (NULL when absent or JSON null); booleans as `true`/`false` on both databases."""
        features = predictions.c.features
        if self.postgresql:
            return features.op("->>", return_type=String)(literal(key, String))
        path = _json_path(key)
        kind = func.json_type(features, path)
        return case(
            (kind == "true", literal("true")),
            (kind == "false", literal("false")),
            else_=cast(func.json_extract(features, path), String),
        )

    def json_number(self, key: str, *, guarded: bool) -> ColumnElement[float]:
        """A numeric feature (NULL when absent or JSON null). Unguarded on PostgreSQL, a value that is not a number
        fails the query (DataError), which is quicker for the usual case; guarded, it is NULL (missing)."""
        features = predictions.c.features
        if self.postgresql:
            text = features.op("->>", return_type=String)(literal(key, String))
            if not guarded:
                return cast(text, DOUBLE_PRECISION)
            kind = func.jsonb_typeof(features.op("->")(literal(key, String)))
            return case((kind == "number", cast(text, DOUBLE_PRECISION)), else_=None)
        path = _json_path(key)
        return case((func.json_type(features, path).in_(("integer", "real")), func.json_extract(features, path)))

    def bucket(self, value: ColumnElement[float], edges: Sequence[float]) -> ColumnElement[int]:
        """The number of `edges` (ascending) at or below `value`, as numpy's searchsorted(side="right"); NULL stays
        NULL."""
        if self.postgresql:
            thresholds = bindparam(None, [float(edge) for edge in edges], type_=ARRAY(DOUBLE_PRECISION))
            return func.width_bucket(value, cast(thresholds, ARRAY(DOUBLE_PRECISION)))
        if not edges:
            return case((value.is_(None), None), else_=0)
        whens = [(value < literal(float(edge), Float), index) for index, edge in enumerate(edges)]
        return case((value.is_(None), None), *whens, else_=len(edges))

    def clamp(self, value: ColumnElement[int], low: int, high: int) -> ColumnElement[int]:
        return case((value < low, low), (value > high, high), else_=value)


def _json_path(key: str) -> str:
    if '"' in key or "\\" in key:
        raise ConfigError(f"feature name {key!r} cannot be read from the store: it has a quote or backslash")
    return f'$."{key}"'

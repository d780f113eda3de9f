"""The numeric ranges a contract allows, so that generated values can be kept inside them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pandera.api.dataframe.model import DataFrameModel


@dataclass(frozen=True)
class Bounds:
    """Closed range [low, high] of a numeric column; None where the contract sets no limit."""

    low: float | None = None
    high: float | None = None

    def clip(self, values: Any) -> Any:
        lower = -math.inf if self.low is None else self.low
        upper = math.inf if self.high is None else self.high
        return values.clip(lower, upper)


def contract_bounds(model: type[DataFrameModel]) -> dict[str, Bounds]:
    """Per column, the tightest closed range of its `in_range`, `ge`, `gt`, `le` and `lt` checks.

    A strict bound (gt, lt, an excluded end of in_range) becomes the next representable value inside it:
    the next integer for an integer column, the next float otherwise.
    """
    bounds: dict[str, Bounds] = {}
    for name, column in model.to_schema().columns.items():
        integer = "int" in str(column.dtype).lower()
        lows: list[float] = []
        highs: list[float] = []
        for check in column.checks:
            _collect(str(check.name), check.statistics or {}, integer, lows, highs)
        if lows or highs:
            bounds[str(name)] = Bounds(max(lows) if lows else None, min(highs) if highs else None)
    return bounds


def _collect(name: str, stats: Mapping[str, Any], integer: bool, lows: list[float], highs: list[float]) -> None:
    if name == "in_range":
        lows.append(_inside(stats["min_value"], up=True, integer=integer, strict=not stats.get("include_min", True)))
        highs.append(_inside(stats["max_value"], up=False, integer=integer, strict=not stats.get("include_max", True)))
    elif name in ("greater_than_or_equal_to", "greater_than"):
        lows.append(_inside(stats["min_value"], up=True, integer=integer, strict=name == "greater_than"))
    elif name in ("less_than_or_equal_to", "less_than"):
        highs.append(_inside(stats["max_value"], up=False, integer=integer, strict=name == "less_than"))


def _inside(bound: Any, *, up: bool, integer: bool, strict: bool) -> float:
    value = float(bound)
    if integer:
        value = math.ceil(value) if up else math.floor(value)
        return value + (1 if up else -1) if strict and value == float(bound) else value
    return math.nextafter(value, math.inf if up else -math.inf) if strict else value

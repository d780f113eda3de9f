"""Compile a pandera contract into Spark column expressions: one definition, checked where the data lives.

Each compiled row check is a boolean Column that is true where a row FAILS (nulls never fail a value check,
as in pandera; a null in a non-nullable column fails `not_nullable`). The data-set rules of the project's
contract (`enough_rows`, `positive_rate_in_band`, `few_duplicates`) compile to aggregates using the
constants of the contract's module. Anything else (arbitrary Python) cannot be compiled: it is returned as
a sampled check, evaluated by pandas on a bounded sample.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pandera.api.dataframe.model import DataFrameModel

from cml_mlops.contracts.runner import COLUMN_MISSING, COLUMN_UNEXPECTED, DTYPE
from cml_mlops.lake.arrow_schema import arrow_schema

if TYPE_CHECKING:
    from pandera.api.checks import Check
    from pyspark.sql import Column, DataFrame

NOT_NULLABLE = "not_nullable"
UNIQUE = "field_uniqueness"
# The project's data-set rules (template contracts.py) and the module constants that parameterise them.
DATASET_RULES = {
    "enough_rows": ("MIN_ROWS",),
    "positive_rate_in_band": ("POSITIVE_RATE_BAND", "TARGET", "POSITIVE_LABEL"),
    "few_duplicates": ("MAX_DUPLICATE_SHARE",),
}


@dataclass(frozen=True)
class RowCheck:
    """A compiled row check: `fails` is true on the rows that break it."""

    check: str
    column: str | None
    description: str
    fails: Column


@dataclass(frozen=True)
class SampledCheck:
    """A check that only pandas can run (arbitrary Python): evaluated on a bounded sample."""

    check: str
    column: str | None
    description: str
    pandera_check: Check


@dataclass(frozen=True)
class StructuralFailure:
    """A missing or unexpected column: the frame's shape breaks the contract before any value does."""

    check: str
    column: str


@dataclass(frozen=True)
class CompiledContract:
    row_checks: list[RowCheck]
    unique_columns: list[str]
    dataset_rules: dict[str, tuple[Any, ...]]  # rule name -> its constants
    dataset_descriptions: dict[str, str]
    sampled: list[SampledCheck]
    structural: list[StructuralFailure]
    columns: list[str]  # the contract's columns present in the frame, in contract order


def compile_contract(model: type[DataFrameModel], frame: DataFrame) -> CompiledContract:
    """The model's checks as Spark expressions over `frame`'s columns."""
    from pyspark.sql import functions as F

    schema = model.to_schema()
    expected = arrow_schema(model)
    present = set(frame.columns)
    structural = [StructuralFailure(COLUMN_MISSING, name) for name in expected.names if name not in present]
    if schema.strict:
        structural += [
            StructuralFailure(COLUMN_UNEXPECTED, name) for name in frame.columns if name not in expected.names
        ]
    row_checks: list[RowCheck] = []
    sampled: list[SampledCheck] = []
    unique: list[str] = []
    spark_types = {field.name: field.dataType for field in frame.schema.fields}
    for name, column in schema.columns.items():
        name = str(name)
        if name not in present:
            continue
        value = F.col(f"`{name}`")
        typed, dtype_fails = _typed(
            value, spark_types[name], expected.field(name).type, bool(schema.coerce or column.coerce)
        )
        if dtype_fails is not None:
            row_checks.append(RowCheck(DTYPE, name, f"dtype('{column.dtype}')", dtype_fails))
        if not column.nullable:
            row_checks.append(RowCheck(NOT_NULLABLE, name, NOT_NULLABLE, value.isNull()))
        if column.unique:
            unique.append(name)
        for check in column.checks:
            condition = _condition(check, typed)
            description = str(check.error or check.description or check.name)
            if condition is None:
                sampled.append(SampledCheck(str(check.name), name, description, check))
            else:
                row_checks.append(RowCheck(str(check.name), name, description, typed.isNotNull() & ~condition))
    rules: dict[str, tuple[Any, ...]] = {}
    descriptions: dict[str, str] = {}
    module = sys.modules.get(model.__module__)
    for check in schema.checks:
        name = str(check.name)
        constants = DATASET_RULES.get(name)
        description = str(check.error or check.description or name)
        if constants is not None and module is not None and all(hasattr(module, c) for c in constants):
            rules[name] = tuple(getattr(module, c) for c in constants)
            descriptions[name] = description
        else:
            sampled.append(SampledCheck(name, None, description, check))
    columns = [name for name in expected.names if name in present]
    return CompiledContract(row_checks, unique, rules, descriptions, sampled, structural, columns)


def _typed(value: Column, actual: Any, wanted: pa.DataType, coerce: bool) -> tuple[Column, Column | None]:
    """The column as the contract's type, and where it fails the dtype check (None: the type is right)."""
    from pyspark.sql.pandas.types import from_arrow_type, to_arrow_type

    if _same_kind(to_arrow_type(actual), wanted):
        return value, None
    target = from_arrow_type(wanted)
    if not coerce:
        return value.cast(target), value.isNotNull() | value.isNull()  # every row has the wrong type
    cast = value.cast(target)
    return cast, value.isNotNull() & cast.isNull()


def _same_kind(actual: pa.DataType, wanted: pa.DataType) -> bool:
    if pa.types.is_integer(wanted):
        return pa.types.is_integer(actual)
    if pa.types.is_floating(wanted):
        return pa.types.is_floating(actual)
    if pa.types.is_string(wanted):
        return pa.types.is_string(actual) or pa.types.is_large_string(actual)
    return bool(actual == wanted) or (pa.types.is_timestamp(actual) and pa.types.is_timestamp(wanted))


def _condition(check: Check, value: Column) -> Column | None:
    """The Spark condition a valid value meets, or None when the check is not one of pandera's built-ins."""
    from pyspark.sql import functions as F

    stats = dict(check.statistics or {})
    name = check.name
    if name == "in_range":
        low = value >= stats["min_value"] if stats.get("include_min", True) else value > stats["min_value"]
        high = value <= stats["max_value"] if stats.get("include_max", True) else value < stats["max_value"]
        return low & high
    comparisons = {
        "greater_than_or_equal_to": lambda v, s: v >= s["min_value"],
        "greater_than": lambda v, s: v > s["min_value"],
        "less_than_or_equal_to": lambda v, s: v <= s["max_value"],
        "less_than": lambda v, s: v < s["max_value"],
        "equal_to": lambda v, s: v == s["value"],
        "not_equal_to": lambda v, s: v != s["value"],
    }
    if name in comparisons:
        return comparisons[name](value, stats)
    if name == "isin":
        return value.isin(list(stats["allowed_values"]))
    if name == "notin":
        return ~value.isin(list(stats["forbidden_values"]))
    if name == "str_length":
        length = F.length(value)
        if stats.get("exact_value") is not None:
            return length == stats["exact_value"]
        low = F.lit(True) if stats.get("min_value") is None else length >= stats["min_value"]
        high = F.lit(True) if stats.get("max_value") is None else length <= stats["max_value"]
        return low & high
    patterns = {"str_matches": "^(?:{})", "str_contains": "{}", "str_startswith": "^{}", "str_endswith": "{}$"}
    if name in patterns:
        pattern = stats.get("pattern", stats.get("string"))
        text = pattern.pattern if isinstance(pattern, re.Pattern) else str(pattern)
        if name in ("str_startswith", "str_endswith"):
            text = re.escape(text)
        # Java regex semantics match Python's for the patterns contracts use (anchors, classes, quantifiers).
        return value.rlike(patterns[name].format(text))
    return None

"""Fast request validation: the project's `RawRecord` contract compiled once into plain-Python row checks.

Running pandera on every request costs milliseconds; these checks cost microseconds. What the compiler knows:
the column dtypes (int, float, str, bool), `nullable`, and the built-in checks `isin`, `notin`, `in_range`,
`ge`/`gt`/`le`/`lt`, `eq`/`ne`, `str_length`, `str_matches`, `str_contains`, `str_startswith`, `str_endswith`.
Anything else (a custom column check, a dataframe-wide check, another dtype) is not dropped: those columns and
checks are run through pandera on the request's batch after the fast pass, so the contract is always enforced.

Request columns:
- every model input (the model's recorded features) is required;
- a contract column the model does not use (the target, a leakage column such as `duration`) is accepted and
  ignored without being checked, so that callers can send whole raw records;
- any other column is an error when the contract is strict (`Config.strict = True`), ignored otherwise.
Types are strict where JSON allows it: an int column takes JSON integers (and integral floats, which MLflow
clients send), never strings or booleans; a float column takes any finite number; a str column takes strings.
Uniqueness (`unique=True`) is a data-set rule and is not applied to requests.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import pandera.pandas as pa
from pandera import dtypes
from pandera.api.dataframe.model import DataFrameModel
from pandera.errors import SchemaErrors

from cml_mlops.errors import CmlMlopsError

Kind = Literal["int", "float", "str", "bool", "other"]
# A compiled check: None when the value passes, else what is wrong with it (the field name is added later).
ValueCheck = Callable[[Any], "str | None"]
# The same check on a whole column of cleaned values at once (min/max, set operations): True when all pass.
BulkCheck = Callable[[list[Any]], bool]

MAX_REPORTED_ERRORS = 20  # a 10,000-row batch of garbage should not produce a 10,000-line answer
_ALLOWED_SHOWN = 15


@dataclass(frozen=True)
class FieldError:
    """One problem with a request, naming the field (and the row in a batch) it concerns."""

    message: str
    field: str | None = None
    row: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "row": self.row, "message": self.message}


class InvalidRequest(CmlMlopsError):
    """A request the server refuses, with its HTTP status (4xx) and every problem found (up to a limit)."""

    def __init__(self, status: int, errors: Sequence[FieldError]) -> None:
        self.status = status
        self.errors = list(errors)
        first = self.errors[0].message if self.errors else "invalid request"
        more = len(self.errors) - 1
        super().__init__(first if more <= 0 else f"{first} (and {more} more problem{'s' if more > 1 else ''})")

    @classmethod
    def single(cls, status: int, message: str, field: str | None = None, row: int | None = None) -> InvalidRequest:
        return cls(status, [FieldError(message, field, row)])


@dataclass(frozen=True)
class FieldRule:
    """How one request field is checked: its kind, whether null is allowed, and its compiled value checks."""

    name: str
    kind: Kind
    nullable: bool
    checks: tuple[ValueCheck, ...] = ()
    example: Any = None  # a value that passes: used for smoke tests of a deployed server
    bulk_checks: tuple[BulkCheck, ...] | None = None  # None: some check has no bulk form

    def clean_column(self, values: list[Any]) -> list[Any] | None:
        """All values cleaned at once when every one is plainly valid, else None (then `clean` finds what is wrong).

        The fast path for batches: type and range checks run as C-level set/min/max operations over the column.
        """
        types = set(map(type, values))
        kind = self.kind
        if kind == "int":
            if types == {float}:  # MLflow clients send integers as floats
                if not all(map(float.is_integer, values)):
                    return None
                values = list(map(int, values))
            elif types != {int}:
                if not types <= {int, float} or not all(map(_integral, values)):
                    return None
                values = list(map(int, values))
        elif kind == "float":
            if types != {float}:
                if not types <= {int, float}:
                    return None
                values = list(map(float, values))
            if not all(map(math.isfinite, values)):
                return None
        elif (kind == "str" and types != {str}) or (kind == "bool" and types != {bool}) or kind == "other":
            return None
        if self.bulk_checks is not None:
            return values if all(check(values) for check in self.bulk_checks) else None
        for value in values:
            for check in self.checks:
                if check(value) is not None:
                    return None
        return values

    def clean(self, value: Any) -> tuple[Any, str | None]:
        """The value as the model gets it (e.g. 35.0 -> 35 for an int), and the problem with it, if any."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None, None if self.nullable else "must not be null"
        kind = self.kind
        if kind == "str":
            if type(value) is not str:
                return value, f"expected a string, got {_describe(value)}"
        elif kind == "int":
            if type(value) is not int:
                if type(value) is float and value.is_integer():
                    value = int(value)
                else:
                    return value, f"expected an integer, got {_describe(value)}"
        elif kind == "float":
            if type(value) is int:
                value = float(value)
            elif type(value) is not float:
                return value, f"expected a number, got {_describe(value)}"
            elif math.isinf(value):
                return value, "expected a finite number, got infinity"
        elif kind == "bool" and type(value) is not bool:
            return value, f"expected true or false, got {_describe(value)}"
        for check in self.checks:
            problem = check(value)
            if problem is not None:
                return value, problem
        return value, None


class RowValidator:
    """Validates request rows against the compiled contract and returns them as typed columns, model order."""

    def __init__(
        self,
        rules: Sequence[FieldRule],
        *,
        ignored: Iterable[str] = (),
        strict: bool = True,
        fallback: pa.DataFrameSchema | None = None,
    ) -> None:
        self.rules = tuple(rules)
        self.columns = tuple(rule.name for rule in self.rules)
        self._by_name = {rule.name: rule for rule in self.rules}
        self.ignored = frozenset(ignored) - set(self.columns)
        self.strict = strict
        self.fallback = fallback  # pandera for what the compiler does not know; None when all is compiled
        self.fast = True  # try the column-at-once pass first (the tests turn it off to compare both passes)

    @classmethod
    def from_contract(cls, contract: type[DataFrameModel], inputs: Sequence[str]) -> RowValidator:
        """Compile `contract` for requests carrying `inputs` (the model's features, in the model's order)."""
        schema = contract.to_schema()
        missing = [name for name in inputs if name not in schema.columns]
        if missing:
            raise CmlMlopsError(
                f"the model's input columns {missing} are not in the contract {contract.__name__}: "
                "the model and the contract disagree; retrain the model on the current contract"
            )
        rules: list[FieldRule] = []
        leftovers: dict[str, pa.Column] = {}
        for name in inputs:
            rule, uncompiled = _compile_column(name, schema.columns[name])
            rules.append(rule)
            if uncompiled is not None:
                leftovers[name] = uncompiled
        fallback = None
        if leftovers or schema.checks:
            # Dataframe-wide checks see only the request's columns: a contract whose wide checks need other
            # columns makes every request fail, which the deploy smoke test reports before anyone is served.
            fallback = pa.DataFrameSchema(leftovers, checks=list(schema.checks), strict=False)
        ignored = [str(name) for name in schema.columns if name not in inputs]
        return cls(rules, ignored=ignored, strict=schema.strict is True, fallback=fallback)

    # -- the three request shapes -----------------------------------------------------------------

    def from_record(self, record: Any) -> dict[str, list[Any]]:
        """One record (a JSON object of field -> value), as columns of one row."""
        if not isinstance(record, dict):
            raise InvalidRequest.single(
                400, f"a record must be a JSON object of field -> value, got {_describe(record)}"
            )
        return self.from_records([record], batch=False)

    def from_records(self, records: Any, *, batch: bool = True) -> dict[str, list[Any]]:
        """A list of records (MLflow's `dataframe_records`), as typed columns."""
        if not isinstance(records, list):
            raise InvalidRequest.single(400, f"dataframe_records must be a list of objects, got {_describe(records)}")
        _check_not_empty(len(records))
        fast = self._fast_records(records) if self.fast else None
        if fast is not None:
            return self._checked(fast)
        columns: dict[str, list[Any]] = {name: [] for name in self.columns}
        errors = _Errors()
        for index, record in enumerate(records):
            row = index if batch else None
            if not isinstance(record, dict):
                errors.add(f"a record must be a JSON object, got {_describe(record)}", None, row)
                continue
            for name, rule in self._by_name.items():
                if name in record:
                    value, problem = rule.clean(record[name])
                    if problem is not None:
                        errors.add(problem, name, row)
                    columns[name].append(value)
                else:
                    errors.add("is missing", name, row)
            if len(record) != len(self.columns) or errors:
                for name in record:
                    if name not in self._by_name:
                        self._extra(name, errors, row)
            if errors.full:
                break
        errors.raise_if_any()
        return self._checked(columns)

    def from_split(self, split: Any) -> dict[str, list[Any]]:
        """MLflow's `dataframe_split` (`{"columns": [...], "data": [[...], ...]}`), as typed columns."""
        if not isinstance(split, dict):
            raise InvalidRequest.single(400, f"dataframe_split must be an object, got {_describe(split)}")
        names, data = split.get("columns"), split.get("data")
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise InvalidRequest.single(400, "dataframe_split.columns must be a list of column names")
        if not isinstance(data, list):
            raise InvalidRequest.single(400, "dataframe_split.data must be a list of rows (lists of values)")
        _check_not_empty(len(data))
        if len(set(names)) != len(names):
            repeated = sorted({name for name in names if names.count(name) > 1})
            raise InvalidRequest(
                400, [FieldError(f"field {name!r} is given more than once", name) for name in repeated]
            )
        errors = _Errors()
        for name in self.columns:
            if name not in names:
                errors.add("is missing", name, None)
        for name in names:
            if name not in self._by_name:
                self._extra(name, errors, None)
        errors.raise_if_any()
        positions = [(names.index(rule.name), rule) for rule in self.rules]
        width = len(names)
        fast = self._fast_split(positions, width, data) if self.fast else None
        if fast is not None:
            return self._checked(fast)
        columns: dict[str, list[Any]] = {name: [] for name in self.columns}
        for index, row in enumerate(data):
            if not isinstance(row, list) or len(row) != width:
                errors.add(
                    f"a row must be a list of {width} values (one per column), got {_describe(row)}", None, index
                )
            else:
                for position, rule in positions:
                    value, problem = rule.clean(row[position])
                    if problem is not None:
                        errors.add(problem, rule.name, index)
                    columns[rule.name].append(value)
            if errors.full:
                break
        errors.raise_if_any()
        return self._checked(columns)

    def example_record(self) -> dict[str, Any]:
        """A record that passes the compiled checks: the deploy smoke test sends it."""
        return {rule.name: rule.example for rule in self.rules}

    # -- internals --------------------------------------------------------------------------------

    def _fast_records(self, records: list[Any]) -> dict[str, list[Any]] | None:
        """Typed columns when every record is plainly valid, else None: the row-by-row pass explains why."""
        expected = self._by_name.keys()
        for record in records:
            if type(record) is not dict:
                return None
            keys = record.keys()
            if keys != expected and (not keys >= expected or not self._ignorable(keys - expected)):
                return None
        return self._fast_columns({name: [record[name] for record in records] for name in self.columns})

    def _fast_split(
        self, positions: list[tuple[int, FieldRule]], width: int, data: list[Any]
    ) -> dict[str, list[Any]] | None:
        if not all(type(row) is list and len(row) == width for row in data):
            return None
        transposed = list(zip(*data, strict=True))
        return self._fast_columns({rule.name: list(transposed[position]) for position, rule in positions})

    def _fast_columns(self, columns: dict[str, list[Any]]) -> dict[str, list[Any]] | None:
        cleaned = {}
        for rule in self.rules:
            values = rule.clean_column(columns[rule.name])
            if values is None:
                return None
            cleaned[rule.name] = values
        return cleaned

    def _ignorable(self, names: Iterable[str]) -> bool:
        return not self.strict or all(name in self.ignored for name in names)

    def _extra(self, name: str, errors: _Errors, row: int | None) -> None:
        if name in self.ignored or not self.strict:
            return
        errors.add(f"is not a known column; the model's inputs are: {', '.join(self.columns)}", name, row)

    def _checked(self, columns: dict[str, list[Any]]) -> dict[str, list[Any]]:
        if self.fallback is None:
            return columns
        valid = run_fallback(self.fallback, pd.DataFrame(columns, columns=list(self.columns)))
        for rule in self.rules:
            if rule.kind == "other":  # pandera coerced these (e.g. text to timestamps): keep its values
                columns[rule.name] = valid[rule.name].tolist()
        return columns


def run_fallback(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """Run the checks the compiler does not know with pandera on the whole batch; InvalidRequest on failure."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            valid: pd.DataFrame = schema.validate(frame, lazy=True)
            return valid
    except SchemaErrors as exc:
        errors = _Errors()
        for case in exc.failure_cases.itertuples(index=False):
            column = None if case.schema_context == "DataFrameSchema" else str(case.column)
            index = case.index
            row = int(index) if isinstance(index, (int, float)) and not pd.isna(index) else None
            errors.add(f"fails the contract check {case.check} (value {case.failure_case!r})", column, row)
            if errors.full:
                break
        if len(frame) == 1:
            errors.drop_rows()
        raise InvalidRequest(422, errors.items or [FieldError("fails the contract")]) from None


class _Errors:
    """Collects FieldErrors up to MAX_REPORTED_ERRORS; the message names the row (in batches) and the field."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def full(self) -> bool:
        return len(self.items) >= MAX_REPORTED_ERRORS

    def add(self, problem: str, field: str | None, row: int | None) -> None:
        if self.full:
            return
        # "field 'age' is missing", "field 'age': 150 is out of range [18, 100]"
        where = "" if field is None else f"field {field!r} " if problem.startswith("is ") else f"field {field!r}: "
        prefix = f"row {row}: " if row is not None else ""
        self.items.append(FieldError(f"{prefix}{where}{problem}", field, row))

    def drop_rows(self) -> None:
        self.items = [FieldError(e.message.removeprefix(f"row {e.row}: "), e.field, None) for e in self.items]

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidRequest(422, self.items)


def _check_not_empty(rows: int) -> None:
    if rows == 0:
        raise InvalidRequest.single(400, "empty batch: send at least one row")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object"}
    text = repr(value)
    return f"{kind.get(type(value), type(value).__name__)} ({text if len(text) <= 40 else text[:37] + '...'})"


# -- compiling one contract column ----------------------------------------------------------------


def _kind(dtype: Any) -> Kind:
    # Order matters: pandera counts bool as numeric.
    if dtype is None:
        return "other"
    if dtypes.is_bool(dtype):
        return "bool"
    if dtypes.is_int(dtype) or dtypes.is_uint(dtype):
        return "int"
    if dtypes.is_float(dtype):
        return "float"
    if dtypes.is_string(dtype) or str(dtype) in ("object", "str"):
        return "str"
    return "other"


def _compile_column(name: str, column: pa.Column) -> tuple[FieldRule, pa.Column | None]:
    """The column's FieldRule, and a pandera Column holding what could not be compiled (None if all was)."""
    kind = _kind(column.dtype)
    compiled: list[ValueCheck] = []
    bulk: list[BulkCheck | None] = []
    leftover: list[pa.Check] = []
    for check in column.checks:
        value_check = _compile_check(check, kind)
        if value_check is None:
            leftover.append(check)
        else:
            compiled.append(value_check)
            bulk.append(_bulk_check(check, kind))
    bulk_checks = None if None in bulk else tuple(check for check in bulk if check is not None)
    rule = FieldRule(name, kind, bool(column.nullable), tuple(compiled), _example(kind, column.checks), bulk_checks)
    if kind == "other" or leftover:
        return rule, pa.Column(column.dtype, checks=leftover, nullable=column.nullable, coerce=True, name=name)
    return rule, None


def _compile_check(check: pa.Check, kind: Kind) -> ValueCheck | None:
    """A plain-Python version of a built-in pandera check, or None when it is unknown (pandera runs it)."""
    stats: Mapping[str, Any] = check.statistics or {}
    name = str(check.name)
    numeric = kind in ("int", "float")
    if numeric and name == "in_range":
        low, high = stats["min_value"], stats["max_value"]
        low_ok = stats.get("include_min", True)
        high_ok = stats.get("include_max", True)
        text = f"{'[' if low_ok else '('}{low}, {high}{']' if high_ok else ')'}"

        def in_range(value: Any) -> str | None:
            inside = (low <= value if low_ok else low < value) and (value <= high if high_ok else value < high)
            return None if inside else f"{value} is out of range {text}"

        return in_range
    bounds: dict[str, tuple[str, Callable[[Any, Any], bool], str]] = {
        "greater_than_or_equal_to": ("min_value", lambda v, b: v >= b, "at least"),
        "greater_than": ("min_value", lambda v, b: v > b, "greater than"),
        "less_than_or_equal_to": ("max_value", lambda v, b: v <= b, "at most"),
        "less_than": ("max_value", lambda v, b: v < b, "less than"),
    }
    if numeric and name in bounds:
        key, holds, words = bounds[name]
        bound = stats[key]
        return lambda value: None if holds(value, bound) else f"{value} must be {words} {bound}"
    if name == "isin":
        allowed = frozenset(stats["allowed_values"])
        shown = _listing(stats["allowed_values"])
        return lambda value: None if value in allowed else f"{value!r} is not an allowed value; allowed: {shown}"
    if name == "notin":
        forbidden = frozenset(stats["forbidden_values"])
        return lambda value: f"{value!r} is a forbidden value" if value in forbidden else None
    if name == "equal_to":
        expected = stats["value"]
        return lambda value: None if value == expected else f"{value!r} must equal {expected!r}"
    if name == "not_equal_to":
        unwanted = stats["value"]
        return lambda value: f"{value!r} must not equal {unwanted!r}" if value == unwanted else None
    if kind == "str":
        return _compile_string_check(name, stats)
    return None


def _bulk_check(check: pa.Check, kind: Kind) -> BulkCheck | None:
    """The column-at-once form of a compiled check (same verdict as the per-value form), None if it has none."""
    stats: Mapping[str, Any] = check.statistics or {}
    name = str(check.name)
    if kind in ("int", "float"):
        if name == "in_range":
            low, high = stats["min_value"], stats["max_value"]
            low_ok, high_ok = stats.get("include_min", True), stats.get("include_max", True)

            def in_range(values: list[Any]) -> bool:
                smallest, largest = min(values), max(values)
                above = low <= smallest if low_ok else low < smallest
                return above and (largest <= high if high_ok else largest < high)

            return in_range
        if name in ("greater_than_or_equal_to", "greater_than"):
            low, strict = stats["min_value"], name == "greater_than"
            return lambda values: min(values) > low if strict else min(values) >= low
        if name in ("less_than_or_equal_to", "less_than"):
            high, strict = stats["max_value"], name == "less_than"
            return lambda values: max(values) < high if strict else max(values) <= high
    if name == "isin":
        allowed = frozenset(stats["allowed_values"])
        return allowed.issuperset
    if name == "notin":
        forbidden = frozenset(stats["forbidden_values"])
        return forbidden.isdisjoint
    return None


def _integral(value: Any) -> bool:
    return type(value) is int or bool(value.is_integer())


def _compile_string_check(name: str, stats: Mapping[str, Any]) -> ValueCheck | None:
    if name == "str_length":
        exact, low, high = stats.get("exact_value"), stats.get("min_value"), stats.get("max_value")

        def str_length(value: str) -> str | None:
            size = len(value)
            if exact is not None:
                return None if size == exact else f"must be {exact} characters long, got {size}"
            if (low is not None and size < low) or (high is not None and size > high):
                upper = high if high is not None else "any"
                return f"must be {low if low is not None else 0} to {upper} characters long, got {size}"
            return None

        return str_length
    if name in ("str_matches", "str_contains"):
        pattern = stats["pattern"]
        compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
        find = compiled.match if name == "str_matches" else compiled.search
        verb = "match" if name == "str_matches" else "contain"
        return lambda value: None if find(value) else f"{value!r} does not {verb} the pattern {compiled.pattern!r}"
    if name == "str_startswith":
        start = stats["string"]
        return lambda value: None if value.startswith(start) else f"{value!r} must start with {start!r}"
    if name == "str_endswith":
        end = stats["string"]
        return lambda value: None if value.endswith(end) else f"{value!r} must end with {end!r}"
    return None


def _listing(values: Iterable[Any]) -> str:
    items = [str(value) for value in values]
    shown = ", ".join(items[:_ALLOWED_SHOWN])
    return shown if len(items) <= _ALLOWED_SHOWN else f"{shown}, ... ({len(items)} in all)"


def _example(kind: Kind, checks: Sequence[pa.Check]) -> Any:
    """A value of `kind` that the column's built-in checks accept (best effort for the rest)."""
    stats: dict[str, Mapping[str, Any]] = {str(check.name): check.statistics or {} for check in checks}
    if "isin" in stats and stats["isin"].get("allowed_values"):
        return sorted(stats["isin"]["allowed_values"], key=str)[0]
    if "equal_to" in stats:
        return stats["equal_to"]["value"]
    if kind in ("int", "float"):
        low = _first(stats, ("in_range", "min_value"), ("greater_than_or_equal_to", "min_value"))
        high = _first(stats, ("in_range", "max_value"), ("less_than_or_equal_to", "max_value"))
        above = _first(stats, ("greater_than", "min_value"))
        below = _first(stats, ("less_than", "max_value"))
        low = low if low is not None else above
        high = high if high is not None else below
        if low is not None and high is not None:
            middle = (low + high) / 2
        elif low is not None:
            middle = low + 1
        elif high is not None:
            middle = high - 1
        else:
            middle = 0
        return int(middle) if kind == "int" else float(middle)
    if kind == "bool":
        return False
    if kind == "str":
        prefix = _first(stats, ("str_startswith", "string")) or ""
        length = _first(stats, ("str_length", "exact_value")) or _first(stats, ("str_length", "min_value")) or 1
        return (prefix + "x" * int(length))[: max(int(length), len(prefix))]
    return None


def _first(stats: Mapping[str, Mapping[str, Any]], *paths: tuple[str, str]) -> Any:
    for check, key in paths:
        value = stats.get(check, {}).get(key)
        if value is not None:
            return value
    return None

"""Validate a frame against a pandera DataFrameModel and describe every failed check in a ContractReport."""

from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from pandera.api.dataframe.model import DataFrameModel
from pandera.errors import SchemaError, SchemaErrorReason, SchemaErrors

from cml_mlops.contracts import report as render
from cml_mlops.errors import ContractViolation

# Check names for pandera's built-in structural checks, as they appear in reports.
COLUMN_MISSING = "column_in_dataframe"
COLUMN_UNEXPECTED = "column_in_schema"
DTYPE = "dtype"


@dataclass(frozen=True)
class CheckFailure:
    """One failed check: on a column (`column` set) or on the whole frame (`column` None)."""

    check: str
    column: str | None
    failure_count: int
    samples: list[dict[str, Any]]
    examples: list[Any] = field(default_factory=list)  # distinct failing values (or the frame check's result)
    description: str = ""  # the rule as pandera states it, e.g. "in_range(18, 100)"
    sample_rows: int | None = None  # set when the check ran on a sample of this many rows, not on every row


@dataclass
class ContractReport:
    """The outcome of validating one frame against one contract."""

    contract: str
    contract_version: str | None
    rows: int
    passed: bool
    failures: list[CheckFailure]
    duration_seconds: float
    valid_frame: pd.DataFrame | None = field(default=None, repr=False)  # coerced; only when passed
    invalid_index: pd.Index = field(default_factory=lambda: pd.Index([]), repr=False)
    # Row label -> the checks that row failed (row-level checks only): what quarantine records per row.
    row_checks: dict[Any, list[str]] = field(default_factory=dict, repr=False)
    # Engines that do not bring the rows to pandas (Spark) count the invalid rows instead of listing labels.
    invalid_rows: int | None = None
    notes: list[str] = field(default_factory=list)  # e.g. which checks ran on a sample only

    @property
    def invalid_count(self) -> int:
        return len(self.invalid_index) if self.invalid_rows is None else self.invalid_rows

    def to_dict(self) -> dict[str, Any]:
        return render.report_to_dict(self)

    def to_json(self, path: Path) -> Path:
        return render.write_json(self, path)

    def to_markdown(self) -> str:
        return render.report_to_markdown(self)

    def raise_for_failures(self) -> None:
        """Raise ContractViolation (carrying this report) when any check failed."""
        if not self.passed:
            raise ContractViolation(render.failure_summary(self), report=self)


def validate_frame(frame: pd.DataFrame, model: type[DataFrameModel], *, sample_size: int = 5) -> ContractReport:
    """Validate lazily (every check runs) and report each failed (column, check) with sample rows."""
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # pandera's own concat of failure cases warns about a pandas deprecation: noise for our users.
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"pandera\.")
            valid = cast(pd.DataFrame, model.validate(frame, lazy=True))
    except SchemaErrors as exc:
        return _report(model, frame, started, *_failures(frame, model, exc, sample_size), None)
    except SchemaError as exc:  # raised outside the lazy collection (e.g. by a model's own validate)
        collected = SchemaErrors(model.to_schema(), [exc], frame)
        return _report(model, frame, started, *_failures(frame, model, collected, sample_size), None)
    return _report(model, frame, started, [], {}, valid)


def contract_version(model: type[DataFrameModel]) -> str | None:
    """CONTRACT_VERSION of the module that defines the model, if it has one."""
    version = getattr(sys.modules.get(model.__module__), "CONTRACT_VERSION", None)
    return str(version) if version is not None else None


def _report(
    model: type[DataFrameModel],
    frame: pd.DataFrame,
    started: float,
    failures: list[CheckFailure],
    row_checks: dict[Any, list[str]],
    valid: pd.DataFrame | None,
) -> ContractReport:
    return ContractReport(
        contract=model.__name__,
        contract_version=contract_version(model),
        rows=len(frame),
        passed=not failures,
        failures=failures,
        duration_seconds=round(time.perf_counter() - started, 4),
        valid_frame=valid,
        invalid_index=pd.Index(list(row_checks)),
        row_checks=row_checks,
    )


def _failures(
    frame: pd.DataFrame, model: type[DataFrameModel], exc: SchemaErrors, sample_size: int
) -> tuple[list[CheckFailure], dict[Any, list[str]]]:
    cases = _named_cases(exc, model)
    # Checks that crashed because their column could not be coerced (or is missing) repeat that failure.
    uncoerced = set(cases.loc[cases["name"] == DTYPE, "column"])
    structural = bool((cases["name"] == COLUMN_MISSING).any())
    follow_on = cases["crashed"] & (cases["column"].isin(uncoerced) | (cases["column"].isna() & structural))
    cases = cases[~follow_on]
    failures = [
        _failure(frame, group, sample_size)
        for _, group in cases.groupby(["column_key", "name"], sort=False, dropna=False)
    ]
    row_checks: dict[Any, list[str]] = {}
    for label, name in cases.loc[cases["index"].notna(), ["index", "name"]].itertuples(index=False):
        names = row_checks.setdefault(label, [])
        if name not in names:
            names.append(name)
    return failures, row_checks


def _named_cases(exc: SchemaErrors, model: type[DataFrameModel]) -> pd.DataFrame:
    """exc.failure_cases with the check's short name, the column it concerns and whether the check crashed."""
    schema = model.to_schema()
    crashed_checks = {
        (error.column_name, getattr(error.check, "name", None))
        for error in exc.schema_errors
        if error.reason_code == SchemaErrorReason.CHECK_ERROR
    }
    cases = exc.failure_cases.copy()
    names, descriptions, columns, crashed = [], [], [], []
    for row in cases.itertuples(index=False):
        column = None if row.schema_context == "DataFrameSchema" else row.column
        name, description = _check_name(schema, row.check, column, row.check_number)
        if name in (COLUMN_MISSING, COLUMN_UNEXPECTED):
            column = str(row.failure_case)
        names.append(name)
        descriptions.append(description)
        columns.append(column)
        crashed.append((column, name) in crashed_checks)
    cases["name"], cases["description"], cases["column"], cases["crashed"] = names, descriptions, columns, crashed
    cases["column_key"] = cases["column"].fillna("")  # groupby keeps frame-level checks with dropna=False too
    cases["index"] = cases["index"].where(cases["index"].notna(), None)
    return cases


def _check_name(schema: Any, check: str, column: str | None, check_number: Any) -> tuple[str, str]:
    """The check's own name (`in_range`, `enough_rows`) or a short one for pandera's built-in checks, and
    the rule as the contract states it: its error message, else its docstring (pandera's description)."""
    if check.startswith(("coerce_dtype(", "dtype(")):
        return DTYPE, check
    if _is_number(check_number):
        checks = schema.checks if column is None else getattr(schema.columns.get(column), "checks", [])
        position = int(check_number)
        if 0 <= position < len(checks):
            found = checks[position]
            return str(found.name), str(found.error or found.description or check)
    return check, check


def _is_number(value: Any) -> bool:
    # check_number is an int, a float or a numpy scalar depending on the mix of failures; NaN for built-ins.
    return isinstance(value, (int, float, np.integer, np.floating)) and not math.isnan(value)


def _failure(frame: pd.DataFrame, group: pd.DataFrame, sample_size: int) -> CheckFailure:
    first = group.iloc[0]
    labels = list(dict.fromkeys(group["index"].dropna()))
    # A dtype failure shows up twice per value (coercion, then dtype): count the rows, not the records.
    count = len(labels) if labels else len(group)
    examples = list(dict.fromkeys(render.json_safe(value) for value in group["failure_case"]))
    if first["column"] is None and all(isinstance(value, bool) for value in examples):
        examples = []  # a frame-level check's only "value" is its False verdict
    return CheckFailure(
        check=str(first["name"]),
        column=first["column"],
        failure_count=count,
        samples=_sample_rows(frame, labels[:sample_size]),
        examples=examples[:sample_size],
        description=str(first["description"]),
    )


def _sample_rows(frame: pd.DataFrame, labels: list[Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for label in labels:
        try:
            selected = frame.loc[[label]]
        except KeyError:  # a label pandera made up (e.g. for a reset index): skip, the count still holds
            continue
        rows.extend(
            {str(key): render.json_safe(value) for key, value in record.items()}
            for record in selected.to_dict(orient="records")
        )
    return rows[: len(labels)]

"""Validate a Spark DataFrame against the project's pandera contract: the same ContractReport as pandas.

All compiled row checks are counted in one aggregation pass; uniqueness and duplicates need one grouping
each. Each failed check gets its failure count and share and up to `sample_size` failing rows with their
values (one short, limited scan per failed check). Checks that cannot be compiled run on a bounded sample
and the report says so.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pandera.api.dataframe.model import DataFrameModel

from cml_mlops.contracts import report as render
from cml_mlops.contracts.runner import CheckFailure, ContractReport, contract_version
from cml_mlops.contracts.spark_checks import UNIQUE, CompiledContract, SampledCheck, compile_contract

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

CUSTOM_SAMPLE_ROWS = 10_000
REASON_COLUMN = "_failed_checks"


def validate_dataframe(
    frame: DataFrame,
    model: type[DataFrameModel],
    *,
    sample_size: int = 5,
    custom_sample_rows: int = CUSTOM_SAMPLE_ROWS,
) -> ContractReport:
    """Check `frame` against `model` where it lives; nothing but counts and sample rows reach the driver."""
    from pyspark.sql import functions as F

    started = time.perf_counter()
    compiled = compile_contract(model, frame)
    failures = [CheckFailure(s.check, s.column, 1, [], [s.column]) for s in compiled.structural]
    any_fail = _any_fail(compiled)
    aggregates = [F.count(F.lit(1)).alias("rows"), F.sum(any_fail.cast("long")).alias("invalid")]
    aggregates += [F.sum(check.fails.cast("long")).alias(f"c{i}") for i, check in enumerate(compiled.row_checks)]
    rate_rule = compiled.dataset_rules.get("positive_rate_in_band")
    if rate_rule is not None and rate_rule[1] in frame.columns:
        aggregates.append(F.sum((F.col(f"`{rate_rule[1]}`") == F.lit(rate_rule[2])).cast("long")).alias("positives"))
    totals = frame.agg(*aggregates).collect()[0].asDict()  # the one pass over every row check
    rows = int(totals["rows"])
    for i, check in enumerate(compiled.row_checks):
        count = int(totals[f"c{i}"] or 0)
        if count:
            samples = _samples(frame, check.fails, sample_size)
            failures.append(_failure(check.check, check.column, count, samples, check.description))
    for column in compiled.unique_columns:
        duplicated = F.col("n") > 1
        counts = frame.where(F.col(f"`{column}`").isNotNull()).groupBy(f"`{column}`").agg(F.count(F.lit(1)).alias("n"))
        count = int(counts.where(duplicated).agg(F.sum("n")).collect()[0][0] or 0)
        if count:
            repeated = [row[0] for row in counts.where(duplicated).limit(sample_size).collect()]
            samples = _samples(frame, F.col(f"`{column}`").isin(repeated), sample_size)
            failures.append(_failure(UNIQUE, column, count, samples, UNIQUE))
    failures += _dataset_failures(frame, compiled, rows, totals.get("positives"))
    notes: list[str] = []
    failures += _sampled_failures(frame, compiled.sampled, custom_sample_rows, sample_size, notes)
    return ContractReport(
        contract=model.__name__,
        contract_version=contract_version(model),
        rows=rows,
        passed=not failures,
        failures=failures,
        duration_seconds=round(time.perf_counter() - started, 4),
        invalid_rows=int(totals["invalid"] or 0),
        notes=notes,
    )


def invalid_rows(frame: DataFrame, model: type[DataFrameModel]) -> tuple[DataFrame, DataFrame]:
    """(rows failing a compiled row check, with the checks they failed in `_failed_checks`; the other rows)."""
    from pyspark.sql import functions as F

    compiled = compile_contract(model, frame)
    any_fail = _any_fail(compiled)
    # The names of the failed checks, as the pandas path records them.
    names = [F.when(F.coalesce(c.fails, F.lit(False)), F.lit(c.check)) for c in compiled.row_checks]
    reasons = F.array_join(F.array_distinct(F.array(*names)), ", ") if names else F.lit("")
    return frame.where(any_fail).withColumn(REASON_COLUMN, reasons), frame.where(~any_fail)


def _any_fail(compiled: CompiledContract) -> Column:
    from pyspark.sql import functions as F

    condition: Column = F.lit(False)
    for check in compiled.row_checks:
        condition = condition | F.coalesce(check.fails, F.lit(False))
    return condition


def _samples(frame: DataFrame, fails: Column, limit: int) -> list[dict[str, Any]]:
    return [
        {key: render.json_safe(value) for key, value in row.asDict().items()}
        for row in frame.where(fails).limit(limit).collect()
    ]


def _failure(check: str, column: str | None, count: int, samples: list[dict[str, Any]], rule: str) -> CheckFailure:
    examples = list(dict.fromkeys(row.get(column) for row in samples)) if column is not None else []
    return CheckFailure(check, column, count, samples, examples, rule)


def _dataset_failures(
    frame: DataFrame, compiled: CompiledContract, rows: int, positives: int | None
) -> list[CheckFailure]:
    """The data-set rules as aggregates, failing as the contract's pandas functions would."""
    failed = []
    rules = compiled.dataset_rules
    if "enough_rows" in rules and rows < rules["enough_rows"][0]:
        failed.append("enough_rows")
    if "positive_rate_in_band" in rules and rows and positives is not None:
        low, high = rules["positive_rate_in_band"][0]
        if not low <= positives / rows <= high:
            failed.append("positive_rate_in_band")
    if "few_duplicates" in rules and rows:
        distinct = frame.select(*[f"`{c}`" for c in frame.columns]).distinct().count()
        if (rows - distinct) / rows > rules["few_duplicates"][0]:
            failed.append("few_duplicates")
    return [CheckFailure(name, None, 1, [], [], compiled.dataset_descriptions[name]) for name in failed]


def _sampled_failures(
    frame: DataFrame, sampled: list[SampledCheck], sample_rows: int, sample_size: int, notes: list[str]
) -> list[CheckFailure]:
    """Run the checks only pandas can run on the first `sample_rows` rows; never skip one silently."""
    if not sampled:
        return []
    sample = frame.limit(sample_rows).toPandas()
    failures = []
    for check in sampled:
        where = f"{check.column}: {check.check}" if check.column else check.check
        notes.append(f"{where} evaluated on a sample of {len(sample):,} rows (it is Python, not a Spark expression)")
        result = check.pandera_check(sample if check.column is None else sample[check.column])
        if bool(result.check_passed):
            continue
        output = result.check_output
        if check.column is None or not hasattr(output, "__len__") or getattr(output, "ndim", 0) == 0:
            failures.append(CheckFailure(check.check, check.column, 1, [], [], check.description, len(sample)))
            continue
        passed = output.astype(bool)
        failing = sample.loc[passed.index[~passed.to_numpy()]]  # pandera leaves missing values out of the output
        rows = [{k: render.json_safe(v) for k, v in r.items()} for r in failing.head(sample_size).to_dict("records")]
        examples = list(dict.fromkeys(row.get(check.column) for row in rows))
        failures.append(
            CheckFailure(check.check, check.column, len(failing), rows, examples, check.description, len(sample))
        )
    return failures

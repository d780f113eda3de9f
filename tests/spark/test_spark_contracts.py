"""The project's pandera contract, compiled to Spark, finds what pandas finds and reports the failing rows."""

from __future__ import annotations

import importlib
import json
from types import ModuleType

import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.typing import Series

from cml_mlops.contracts import validate_frame
from cml_mlops.contracts.spark_runner import REASON_COLUMN, invalid_rows, validate_dataframe
from tests.conftest import read_bank_csv

pytestmark = pytest.mark.spark

MIN_ROWS = 3  # read by the data-set rule below, as in the template's contracts module
POSITIVE_RATE_BAND = (0.2, 0.8)
TARGET = "label"
POSITIVE_LABEL = "yes"
MAX_DUPLICATE_SHARE = 0.0


class Codes(pa.DataFrameModel):
    code: Series[str] = pa.Field(str_matches=r"[A-Z]{2}\d", str_length={"min_value": 3, "max_value": 3}, unique=True)
    score: Series[float] = pa.Field(ge=0.0, nullable=True)
    label: Series[str] = pa.Field(isin=["yes", "no"])

    @pa.check("score", name="integral_score")
    def integral_score(cls, series: pd.Series) -> pd.Series:
        return series.isna() | (series % 1 == 0)

    @pa.dataframe_check
    def enough_rows(cls, frame: pd.DataFrame) -> bool:
        return len(frame) >= MIN_ROWS

    @pa.dataframe_check
    def positive_rate_in_band(cls, frame: pd.DataFrame) -> bool:
        rate = float((frame[TARGET] == POSITIVE_LABEL).mean())
        return POSITIVE_RATE_BAND[0] <= rate <= POSITIVE_RATE_BAND[1]

    @pa.dataframe_check
    def few_duplicates(cls, frame: pd.DataFrame) -> bool:
        return float(frame.duplicated().mean()) <= MAX_DUPLICATE_SHARE


def _summary(report: object) -> set[tuple[str, str | None, int]]:
    return {(f.check, f.column, f.failure_count) for f in report.failures}  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def contracts(bank_package: ModuleType) -> ModuleType:
    """The baked project's own contracts module."""
    return importlib.import_module(f"{bank_package.__name__}.contracts")


@pytest.fixture(scope="module")
def bank_frame(contracts: ModuleType) -> pd.DataFrame:
    """bank.csv typed by the project's own contract, with broken rows mixed in."""
    frame = contracts.RawRecord.validate(read_bank_csv()).reset_index(drop=True)
    frame.loc[[3, 40, 400], "age"] = [150, 7, 101]
    frame.loc[[5, 6], "job"] = ["pilot", "astronaut"]
    frame.loc[9, "month"] = None
    frame.loc[11, "poutcome"] = "maybe"
    return frame


def test_the_project_contract_finds_on_spark_what_pandas_finds(
    spark: object, contracts: ModuleType, bank_frame: pd.DataFrame
) -> None:
    model = contracts.RawDataset
    on_pandas = validate_frame(bank_frame, model)

    on_spark = validate_dataframe(spark.createDataFrame(bank_frame), model)  # type: ignore[attr-defined]

    assert _summary(on_spark) == _summary(on_pandas)
    assert (on_spark.rows, on_spark.invalid_count, on_spark.passed) == (len(bank_frame), 7, False)
    age = next(f for f in on_spark.failures if f.column == "age")
    assert sorted(row["age"] for row in age.samples) == [7, 101, 150]
    assert sorted(age.examples) == [7, 101, 150]
    assert age.description == "in_range(18, 100)"
    document = on_spark.to_dict()
    assert document["failures"][0]["failure_share"] == pytest.approx(age.failure_count / len(bank_frame), abs=1e-6)
    json.dumps(document)
    assert "| in_range: in_range(18, 100) | `age` | 3 |" in on_spark.to_markdown()


def test_a_small_table_fails_the_data_set_rules_as_aggregates(
    spark: object, contracts: ModuleType, bank_frame: pd.DataFrame
) -> None:
    small = bank_frame.iloc[500:900].reset_index(drop=True)

    on_spark = validate_dataframe(spark.createDataFrame(small), contracts.RawDataset)  # type: ignore[attr-defined]

    assert _summary(on_spark) == _summary(validate_frame(small, contracts.RawDataset))
    assert ("enough_rows", None, 1) in _summary(on_spark)
    assert on_spark.notes == []  # every check of the project's contract compiled


def test_patterns_lengths_uniqueness_and_data_set_rules_compile(spark: object) -> None:
    frame = pd.DataFrame(
        {
            "code": ["AB1", "AB1", "abc", "ABCD", "CD2", "EF3"],
            "score": [1.0, 1.0, -2.0, None, 3.5, 4.0],
            "label": ["yes", "yes", "no", "no", "no", "no"],
        }
    )

    on_spark = validate_dataframe(spark.createDataFrame(frame), Codes)  # type: ignore[attr-defined]

    found = _summary(on_spark)
    assert {
        ("str_matches", "code", 2),
        ("str_length", "code", 1),
        ("field_uniqueness", "code", 2),
        ("greater_than_or_equal_to", "score", 1),
        ("few_duplicates", None, 1),
    } <= found
    assert found - {("integral_score", "score", 1)} == _summary(validate_frame(frame, Codes)) - {
        ("integral_score", "score", 1)
    }
    assert {row["code"] for row in next(f for f in on_spark.failures if f.check == "str_matches").samples} == {
        "abc",
        "ABCD",
    }


def test_a_python_check_runs_on_a_bounded_sample_and_the_report_says_so(spark: object) -> None:
    frame = pd.DataFrame(
        {"code": ["AB1", "CD2", "EF3", "GH4"], "score": [0.5, 1.0, 2.0, 2.5], "label": ["yes", "no"] * 2}
    )

    report = validate_dataframe(spark.createDataFrame(frame), Codes, custom_sample_rows=3)  # type: ignore[attr-defined]

    sampled = next(f for f in report.failures if f.check == "integral_score")
    assert (sampled.failure_count, sampled.sample_rows, sampled.examples) == (1, 3, [0.5])
    assert report.notes == [
        "score: integral_score evaluated on a sample of 3 rows (it is Python, not a Spark expression)"
    ]
    assert "evaluated on a sample of 3 rows" in report.to_markdown()
    assert report.to_dict()["failures"][-1]["evaluated_on_sample_rows"] == 3


def test_missing_and_unexpected_columns_are_structural_failures(spark: object) -> None:
    class Strict(pa.DataFrameModel):
        code: Series[str]
        label: Series[str]

        class Config:
            strict = True

    frame = pd.DataFrame({"code": ["a"], "other": [1]})

    report = validate_dataframe(spark.createDataFrame(frame), Strict)  # type: ignore[attr-defined]

    assert _summary(report) == _summary(validate_frame(frame, Strict))


def test_invalid_rows_carry_the_checks_they_failed(
    spark: object, contracts: ModuleType, bank_frame: pd.DataFrame
) -> None:
    invalid, valid = invalid_rows(spark.createDataFrame(bank_frame), contracts.RawDataset)  # type: ignore[attr-defined]

    reasons = {row["age"]: row[REASON_COLUMN] for row in invalid.where("age > 100 or age < 18").collect()}
    assert reasons == {150: "in_range", 7: "in_range", 101: "in_range"}
    assert invalid.count() == 7
    assert valid.count() == len(bank_frame) - 7

"""The contract accepts what it describes and rejects each broken rule by name."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from hypothesis import HealthCheck, given, settings
{%- if cookiecutter.dataset_preset == "bank-marketing" %}
from hypothesis import strategies as st
{%- endif %}

from {{ cookiecutter.package_name }}.contracts import CONTRACT_VERSION, TARGET, RawDataset, RawRecord

FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def failed_checks(frame: pd.DataFrame, model: type[pa.DataFrameModel]) -> set[tuple[str, str]]:
    """(column, check) of every failure; pandera names whole-frame checks after the model."""
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        pairs = zip(exc.failure_cases["column"], exc.failure_cases["check"], strict=True)
        return {(str(column), str(check).split("(")[0]) for column, check in pairs}
    return set()


def test_contract_version_is_semantic() -> None:
    assert [part.isdigit() for part in CONTRACT_VERSION.split(".")] == [True, True, True]


@FAST
@given(RawRecord.strategy(size=5))
def test_generated_rows_pass_the_row_contract(frame: pd.DataFrame) -> None:
    assert failed_checks(frame, RawRecord) == set()


def test_header_only_data_fails_the_row_count_rule() -> None:
    assert failed_checks(RawRecord.example(size=0), RawDataset) == {("RawDataset", "enough_rows")}


def test_a_missing_target_is_reported() -> None:
    frame = RawRecord.example(size=3).drop(columns=[TARGET])
    assert ("RawRecord", "column_in_dataframe") in failed_checks(frame, RawRecord)
{%- if cookiecutter.dataset_preset == "bank-marketing" %}


@FAST
@given(RawRecord.strategy(size=3), st.sampled_from(["age", "day", "campaign", "previous"]))
def test_an_out_of_range_value_fails_exactly_its_rule(frame: pd.DataFrame, column: str) -> None:
    frame = frame.copy()
    frame.loc[frame.index[0], column] = 10_000_000
    assert failed_checks(frame, RawRecord) == {(column, "in_range")}


@FAST
@given(RawRecord.strategy(size=3), st.sampled_from(["job", "marital", "education", "month", "poutcome", TARGET]))
def test_an_unknown_category_fails_exactly_its_rule(frame: pd.DataFrame, column: str) -> None:
    frame = frame.copy()
    frame.loc[frame.index[0], column] = "not-a-category"
    assert failed_checks(frame, RawRecord) == {(column, "isin")}


def test_an_extra_column_is_rejected() -> None:
    frame = RawRecord.example(size=2).assign(surprise=1)
    assert failed_checks(frame, RawRecord) == {("RawRecord", "column_in_schema")}
{%- endif %}

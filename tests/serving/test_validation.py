"""The compiled row validator: agrees with pandera on the contract, names the field of every problem."""

from __future__ import annotations

import copy
import warnings
from types import ModuleType
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandera.errors import SchemaError, SchemaErrors
from pandera.typing import Series

from cml_mlops.errors import CmlMlopsError
from cml_mlops.serving.validation import MAX_REPORTED_ERRORS, InvalidRequest, RowValidator

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def contract(bank_contracts: ModuleType) -> Any:
    return bank_contracts.RawRecord


@pytest.fixture(scope="module")
def inputs(bank_features: ModuleType) -> list[str]:
    return list(bank_features.FEATURES.inputs())


@pytest.fixture(scope="module")
def validator(contract: Any, inputs: list[str]) -> RowValidator:
    return RowValidator.from_contract(contract, inputs)


@pytest.fixture(scope="module")
def good(validator: RowValidator) -> dict[str, Any]:
    return {
        "age": 41, "job": "technician", "marital": "married", "education": "secondary", "default": "no",
        "balance": 1200, "housing": "yes", "loan": "no", "contact": "cellular", "day": 5, "month": "may",
        "campaign": 2, "pdays": -1, "previous": 0, "poutcome": "unknown",
    }  # fmt: skip


def refusal(call: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        call()
    return caught.value


def pandera_accepts(contract: Any, row: dict[str, Any]) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            contract.validate(pd.DataFrame([row]), lazy=True)
    except (SchemaError, SchemaErrors):
        return False
    return True


def test_the_bank_contract_compiles_entirely(validator: RowValidator, inputs: list[str]) -> None:
    assert validator.fallback is None  # every check of RawRecord is a built-in the compiler knows
    assert validator.columns == tuple(inputs)
    assert {"y", "duration"} <= validator.ignored


def test_a_good_record_becomes_typed_columns(validator: RowValidator, good: dict[str, Any]) -> None:
    columns = validator.from_record(good)
    assert list(columns) == list(validator.columns)
    assert columns["age"] == [41] and columns["job"] == ["technician"]


def test_the_example_record_passes_both_validators(validator: RowValidator, contract: Any) -> None:
    example = validator.example_record()
    validator.from_record(example)
    assert pandera_accepts(contract, {**example, "duration": 10, "y": "no"})


@FAST
@given(data=st.data())
def test_compiled_checks_agree_with_pandera(
    data: st.DataObject, validator: RowValidator, contract: Any, good: dict[str, Any]
) -> None:
    """For values of the right JSON type, the compiled validator accepts exactly what pandera accepts."""
    field = data.draw(st.sampled_from(validator.columns))
    rule = next(rule for rule in validator.rules if rule.name == field)
    allowed = data.draw(st.sampled_from(["technician", "admin.", "no", "yes", "may", "unknown", "married"]))
    value = data.draw(
        st.integers(-2_000_000, 20_000_000) | st.integers(-5, 120)
        if rule.kind == "int"
        else st.just(allowed) | st.text(max_size=12)
    )
    row = {**good, field: value}
    try:
        validator.from_record(row)
        compiled = True
    except InvalidRequest as exc:
        compiled = False
        assert [error.field for error in exc.errors] == [field]
        assert repr(field) in str(exc)
    assert compiled == pandera_accepts(contract, {**row, "duration": 10, "y": "no"})


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"age": "41"}, "age", "expected an integer"),
        ({"age": True}, "age", "expected an integer"),
        ({"age": 41.5}, "age", "expected an integer"),
        ({"age": None}, "age", "must not be null"),
        ({"age": 17}, "age", "out of range [18, 100]"),
        ({"job": 3}, "job", "expected a string"),
        ({"job": "astronaut"}, "job", "not an allowed value"),
        ({"month": "May"}, "month", "not an allowed value"),
        ({"surname": "Doe"}, "surname", "not a known column"),
    ],
)
def test_each_problem_names_its_field(
    validator: RowValidator, good: dict[str, Any], change: dict[str, Any], field: str, words: str
) -> None:
    error = refusal(lambda: validator.from_record({**good, **change}))
    assert error.status == 422
    assert [problem.field for problem in error.errors] == [field]
    assert f"field {field!r}" in str(error) and words in str(error)


def test_integral_floats_are_integers(validator: RowValidator, good: dict[str, Any]) -> None:
    """MLflow clients send every number as a float."""
    columns = validator.from_record({**good, "age": 41.0})
    assert columns["age"] == [41] and type(columns["age"][0]) is int


def test_a_missing_field_is_named(validator: RowValidator, good: dict[str, Any]) -> None:
    error = refusal(lambda: validator.from_record({k: v for k, v in good.items() if k != "pdays"}))
    assert error.errors[0].field == "pdays" and "field 'pdays' is missing" in str(error)


def test_target_and_leakage_columns_are_accepted_and_ignored(validator: RowValidator, good: dict[str, Any]) -> None:
    columns = validator.from_record({**good, "y": "yes", "duration": "not even checked"})
    assert "y" not in columns and "duration" not in columns


def test_batch_errors_name_row_and_field_and_are_capped(validator: RowValidator, good: dict[str, Any]) -> None:
    rows = [good, {**good, "age": 5}, good] + [{**good, "job": "?"}] * 100
    error = refusal(lambda: validator.from_records(rows))
    assert error.errors[0].row == 1 and error.errors[0].field == "age"
    assert str(error).startswith("row 1: field 'age': 5 is out of range")
    assert len(error.errors) == MAX_REPORTED_ERRORS


def test_empty_batches_are_refused(validator: RowValidator) -> None:
    assert refusal(lambda: validator.from_records([])).status == 400
    assert "empty batch" in str(refusal(lambda: validator.from_split({"columns": ["age"], "data": []})))


def test_split_payloads(validator: RowValidator, good: dict[str, Any]) -> None:
    names = list(good)
    columns = validator.from_split({"columns": names, "data": [list(good.values()), list(good.values())]})
    assert columns["age"] == [41, 41]
    missing = refusal(lambda: validator.from_split({"columns": names[1:], "data": [list(good.values())[1:]]}))
    assert missing.errors[0].field == "age"
    extra = refusal(lambda: validator.from_split({"columns": [*names, "x"], "data": [[*good.values(), 1]]}))
    assert extra.errors[0].field == "x"
    short = refusal(lambda: validator.from_split({"columns": names, "data": [list(good.values()), [1, 2]]}))
    assert short.errors[0].row == 1 and "15 values" in str(short)
    twice = refusal(lambda: validator.from_split({"columns": [*names, "age"], "data": [[*good.values(), 1]]}))
    assert twice.status == 400 and twice.errors[0].field == "age"


@pytest.mark.parametrize("payload", [None, 3, "x", [1, 2], {"columns": "age", "data": []}])
def test_malformed_batches_are_400(validator: RowValidator, payload: Any) -> None:
    assert refusal(lambda: validator.from_split(payload)).status == 400


def test_model_columns_must_be_in_the_contract(contract: Any) -> None:
    with pytest.raises(CmlMlopsError, match="not in the contract"):
        RowValidator.from_contract(contract, ["age", "shoe_size"])


class Custom(pa.DataFrameModel):
    """Checks the compiler does not know (custom and dataframe-wide), beside ones it does."""

    code: Series[str] = pa.Field(str_length={"min_value": 2, "max_value": 4}, str_startswith="C")
    score: Series[float] = pa.Field(nullable=True, ge=0.0, lt=1.0)
    count: Series[int] = pa.Field(ne=13)

    @pa.check("count")
    def even(cls, series: pd.Series) -> pd.Series:
        return series % 2 == 0

    @pa.dataframe_check
    def score_needs_count(cls, frame: pd.DataFrame) -> pd.Series:  # type: ignore[misc]
        return frame["score"].isna() | (frame["count"] > 0)

    class Config:
        strict = False


def test_unknown_checks_fall_back_to_pandera() -> None:
    validator = RowValidator.from_contract(Custom, ["code", "score", "count"])
    assert validator.fallback is not None
    validator.from_records([{"code": "C1", "score": 0.5, "count": 2}, {"code": "C22", "score": None, "count": 0}])
    odd = refusal(lambda: validator.from_record({"code": "C1", "score": 0.5, "count": 3}))
    assert odd.errors[0].field == "count" and "even" in str(odd)
    wide = refusal(lambda: validator.from_records([{"code": "C1", "score": 0.5, "count": 0}]))
    assert "score_needs_count" in str(wide)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"code": "X1"}, "code", "must start with 'C'"),
        ({"code": "C12345"}, "code", "characters long"),
        ({"score": 1.0}, "score", "less than 1.0"),
        ({"score": -0.1}, "score", "at least 0.0"),
        ({"score": "0.5"}, "score", "expected a number"),
        ({"count": 13}, "count", "must not equal 13"),
    ],
)
def test_compiled_string_and_bound_checks(change: dict[str, Any], field: str, words: str) -> None:
    validator = RowValidator.from_contract(Custom, ["code", "score", "count"])
    error = refusal(lambda: validator.from_record({"code": "C1", "score": 0.5, "count": 2, **change}))
    assert error.errors[0].field == field and words in str(error)


def test_non_strict_contracts_ignore_unknown_columns_and_nulls_follow_nullable() -> None:
    validator = RowValidator.from_contract(Custom, ["code", "score", "count"])
    columns = validator.from_record({"code": "C1", "score": None, "count": 2, "anything": 1})
    assert columns["score"] == [None] and "anything" not in columns
    assert "must not be null" in str(refusal(lambda: validator.from_record({"code": None, "score": 0.1, "count": 2})))


JSON_VALUES = (
    st.none()
    | st.booleans()
    | st.integers(-200, 20_000_000)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.integers(-5, 120).map(float)
    | st.integers(0, 100).map(lambda value: value + 0.5)
    | st.sampled_from(["technician", "admin.", "no", "yes", "may", "unknown", "married", "astronaut", ""])
)


def outcome(call: Any) -> Any:
    try:
        return call()
    except InvalidRequest as exc:
        return exc.status, [error.to_dict() for error in exc.errors]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_fast_column_pass_agrees_with_the_row_pass(
    data: st.DataObject, validator: RowValidator, good: dict[str, Any]
) -> None:
    """Batches with random damage: the column-at-once pass returns exactly what the row-by-row pass does."""
    slow = copy.copy(validator)
    slow.fast = False
    rows = []
    for _ in range(data.draw(st.integers(1, 4))):
        changes = data.draw(
            st.dictionaries(st.sampled_from([*validator.columns, "y", "shoe"]), JSON_VALUES, max_size=2)
        )
        rows.append({**good, **changes})
    names = list(rows[0])
    split = {"columns": names, "data": [[row.get(name) for name in names] for row in rows]}
    assert outcome(lambda: validator.from_records(rows)) == outcome(lambda: slow.from_records(rows))
    assert outcome(lambda: validator.from_split(split)) == outcome(lambda: slow.from_split(split))

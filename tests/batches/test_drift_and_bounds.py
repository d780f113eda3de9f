"""Drift options as typed on the command line, and the numeric ranges read from a contract."""

from __future__ import annotations

from types import ModuleType

import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pandera.typing import Series

from cml_mlops.batches import BatchError, Drift
from cml_mlops.batches.bounds import Bounds, contract_bounds
from cml_mlops.batches.command import drift_from_options, parse_category_mix, parse_shift


def test_options_become_a_drift() -> None:
    drift = drift_from_options(
        ("age=1.5", "balance=-0.5"), ("poutcome=success:0.5", "poutcome=failure:0.1", "job=admin.:0.2"), 0.1
    )
    assert drift == Drift(
        shift={"age": 1.5, "balance": -0.5},
        category_mix={"poutcome": {"success": 0.5, "failure": 0.1}, "job": {"admin.": 0.2}},
        flip_labels=0.1,
    )
    assert drift.describe() == (
        "shift age=+1.5 std; shift balance=-0.5 std; poutcome=success:0.5; poutcome=failure:0.1; job=admin.:0.2; "
        "flip 10% of labels"
    )
    assert Drift().is_empty and Drift().describe() == "none" and not drift.is_empty


def test_a_category_value_may_contain_colons() -> None:
    assert parse_category_mix("time=12:30:0.25") == ("time", "12:30", 0.25)


@pytest.mark.parametrize("text", ["age", "age=", "=1", "age=abc", "age=inf", "age=nan"])
def test_a_malformed_shift_is_refused(text: str) -> None:
    with pytest.raises(BatchError, match="expected COLUMN=DELTA"):
        parse_shift(text)


@pytest.mark.parametrize("text", ["poutcome", "poutcome=success", "poutcome=success:", "=success:0.5", "p=:0.5"])
def test_a_malformed_category_mix_is_refused(text: str) -> None:
    with pytest.raises(BatchError, match="expected COLUMN=VALUE:SHARE"):
        parse_category_mix(text)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_share_outside_0_1_is_refused_inside_accepted(share: float) -> None:
    if 0 <= share <= 1:
        assert drift_from_options(mixes=(f"c=v:{share!r}",), flip_labels=share).flip_labels == share
    else:
        with pytest.raises(BatchError, match="between 0 and 1"):
            drift_from_options(flip_labels=share)
        with pytest.raises(BatchError, match="between 0 and 1"):
            drift_from_options(mixes=(f"c=v:{share!r}",))


def test_command_line_drift_goes_over_the_configured_one() -> None:
    base = Drift(shift={"age": 1.0, "day": 2.0}, category_mix={"job": {"student": 0.3}}, flip_labels=0.2)
    mine = Drift(shift={"age": -1.0}, category_mix={"poutcome": {"success": 0.5}})
    assert mine.over(base) == Drift(
        shift={"age": -1.0, "day": 2.0},
        category_mix={"job": {"student": 0.3}, "poutcome": {"success": 0.5}},
        flip_labels=0.2,
    )


def test_the_bank_contract_ranges(bank_contracts: ModuleType) -> None:
    bounds = contract_bounds(bank_contracts.RawRecord)
    assert bounds["age"] == Bounds(18, 100) and bounds["pdays"] == Bounds(-1, 10_000)
    assert "job" not in bounds


class Strict(pa.DataFrameModel):
    whole: Series[int] = pa.Field(gt=0, lt=10)
    ratio: Series[float] = pa.Field(gt=0.0, le=1.0)
    both: Series[int] = pa.Field(ge=5, in_range={"min_value": 0, "max_value": 8, "include_max": False})
    free: Series[float]


def test_strict_bounds_become_the_nearest_allowed_value() -> None:
    bounds = contract_bounds(Strict)
    assert bounds["whole"] == Bounds(1, 9)
    assert bounds["ratio"].low is not None and 0.0 < bounds["ratio"].low < 1e-300 and bounds["ratio"].high == 1.0
    assert bounds["both"] == Bounds(5, 7)
    assert "free" not in bounds
    clipped = bounds["whole"].clip(pd.Series([-5, 3, 50]))
    assert clipped.tolist() == [1, 3, 9]

"""The leakage screen: one measure (univariate, direction-free ROC AUC) with a configured ceiling."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cml_mlops.config import FeaturesSection
from cml_mlops.leakage import LeakageError, check_inputs, column_auc, find_suspects
from tests.conftest import read_bank_csv

CEILING = FeaturesSection().leakage_ceiling


def frame_with(leak: np.ndarray, y: np.ndarray, seed: int) -> pd.DataFrame:
    noise = np.random.default_rng(seed).normal(size=len(y))
    return pd.DataFrame({"noise": noise, "leak": leak, "y": np.where(y == 1, "yes", "no")})


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(200, 600),
    flip=st.floats(0.0, 0.05),
    sign=st.sampled_from([-1.0, 1.0]),
)
def test_a_column_that_nearly_is_the_target_is_refused_by_name_and_auc(
    seed: int, rows: int, flip: float, sign: float
) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.3).astype(int)
    y[:2] = (0, 1)
    # The outcome, with a few rows flipped and either sign: direction does not hide a leak.
    leak = sign * np.where(rng.random(rows) < flip, 1 - y, y) + rng.normal(scale=0.01, size=rows)
    frame = frame_with(leak, y, seed)
    auc = column_auc(frame["leak"], y)
    assert auc is not None and auc > CEILING  # the premise: a near-copy of the outcome ranks it far above the ceiling
    with pytest.raises(LeakageError, match=rf"'leak' \(univariate ROC AUC {auc:.3f}\)") as raised:
        check_inputs(frame, ["noise", "leak"], target="y", positive_label="yes", ceiling=CEILING)
    assert "noise" not in str(raised.value)
    # Acknowledged as a legitimately strong feature: accepted.
    check_inputs(frame, ["noise", "leak"], target="y", positive_label="yes", ceiling=CEILING, acknowledged=["leak"])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), categories=st.integers(2, 6))
def test_a_category_that_gives_the_answer_away_is_a_suspect_and_random_ones_are_not(seed: int, categories: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(400) < 0.4).astype(int)
    y[:2] = (0, 1)
    frame = frame_with(np.where(y == 1, "after-sale", "none"), y, seed)
    frame["random"] = rng.integers(0, categories, size=400).astype(str)
    suspects = find_suspects(frame, ["leak", "random", "noise"], target="y", positive_label="yes", ceiling=CEILING)
    assert [suspect.column for suspect in suspects] == ["leak"]
    assert suspects[0].roc_auc == 1.0


def test_the_measure_is_direction_free_and_skips_missing_values() -> None:
    y = np.array([0, 0, 1, 1, 1])
    assert column_auc(pd.Series([1.0, 2.0, 3.0, 4.0, np.nan]), y) == 1.0
    assert column_auc(pd.Series([4.0, 3.0, 2.0, 1.0, 0.0]), y) == 1.0
    assert column_auc(pd.Series([1, 2, 3, 4, 5]), np.zeros(5, dtype=int)) is None  # one class: undefined


def test_a_ceiling_outside_half_to_one_is_refused() -> None:
    frame = pd.DataFrame({"a": [1, 2], "y": ["no", "yes"]})
    with pytest.raises(ValueError, match=r"within \[0.5, 1\]"):
        find_suspects(frame, ["a"], target="y", positive_label="yes", ceiling=0.3)


def test_bank_full_with_duration_as_an_input_is_refused_naming_duration_and_its_auc(bank_contracts: ModuleType) -> None:
    frame = bank_contracts.RawDataset.validate(read_bank_csv("bank-full.csv"))
    inputs = [name for name in frame.columns if name != "y"]
    with pytest.raises(LeakageError, match=r"'duration' \(univariate ROC AUC 0\.808\)") as raised:
        check_inputs(frame, inputs, target="y", positive_label="yes", ceiling=CEILING)
    assert str(raised.value).count("univariate ROC AUC") == 1  # no legitimate bank-full column is refused
    assert "\n" not in str(raised.value)
    check_inputs(
        frame, [name for name in inputs if name != "duration"], target="y", positive_label="yes", ceiling=CEILING
    )

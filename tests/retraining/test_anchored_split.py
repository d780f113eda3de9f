"""Retraining's split: the history keeps the split the champion was trained with; only the new rows are split anew."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cml_mlops.training.splits import SplitError, anchored_split, split_frame

SETTINGS: dict[str, Any] = {
    "target": "y",
    "positive_label": "yes",
    "strategy": "stratified",
    "validation": 0.15,
    "test": 0.15,
    "seed": 42,
}


def labels(frame: pd.DataFrame) -> set[int]:
    return set(frame.index)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.integers(1000, 4000), seed=st.integers(0, 1000), strategy=st.sampled_from(["stratified", "time"]))
def test_the_history_keeps_its_split_and_new_rows_are_split_on_their_own(
    bank_frame: pd.DataFrame, history: int, seed: int, strategy: str
) -> None:
    options = {**SETTINGS, "seed": seed, "strategy": strategy}
    split = anchored_split(bank_frame, history_rows=history, **options)
    before = split_frame(bank_frame.iloc[:history], **options)
    added = split_frame(bank_frame.iloc[history:], **options)
    for name in ("train", "validation", "test"):
        part = labels(split.parts()[name])
        assert {label for label in part if label < history} == labels(before.parts()[name])
        assert {label for label in part if label >= history} == labels(added.parts()[name])
    assert sum(len(part) for part in split.parts().values()) == len(bank_frame)


def test_without_history_it_is_the_plain_split(bank_frame: pd.DataFrame) -> None:
    plain = split_frame(bank_frame, **SETTINGS)
    same = anchored_split(bank_frame, history_rows=None, **SETTINGS)
    for name in ("train", "validation", "test"):
        pd.testing.assert_frame_equal(same.parts()[name], plain.parts()[name])


@pytest.mark.parametrize("added", [0, 5])
def test_new_rows_too_few_to_split_all_train(bank_frame: pd.DataFrame, added: int) -> None:
    history = len(bank_frame) - added
    split = anchored_split(bank_frame, history_rows=history, **SETTINGS)
    before = split_frame(bank_frame.iloc[:history], **SETTINGS)
    assert labels(split.train) == labels(before.train) | set(range(history, len(bank_frame)))
    assert labels(split.test) == labels(before.test) and labels(split.validation) == labels(before.validation)


@pytest.mark.parametrize("history", [0, -1, 4522])
def test_history_outside_the_frame_is_refused(bank_frame: pd.DataFrame, history: int) -> None:
    with pytest.raises(SplitError, match="history_rows must be between 1 and the 4521 rows"):
        anchored_split(bank_frame, history_rows=history, **SETTINGS)

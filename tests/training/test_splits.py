"""Train / validation / test splits: stratified at random, or in table order for time-ordered data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cml_mlops.training.splits import SplitError, split_frame


def labelled(rows: int, positive_rate: float, seed: int = 0) -> pd.DataFrame:
    """`rows` rows in table order (`order` = position) with about `positive_rate` "yes" labels, shuffled."""
    positives = max(1, round(rows * positive_rate))
    labels = np.array(["yes"] * positives + ["no"] * (rows - positives))
    np.random.default_rng(seed).shuffle(labels)
    return pd.DataFrame({"order": np.arange(rows), "y": labels})


def split(
    frame: pd.DataFrame, strategy: str = "stratified", validation: float = 0.15, test: float = 0.15, seed: int = 7
):
    return split_frame(
        frame, target="y", positive_label="yes", strategy=strategy, validation=validation, test=test, seed=seed
    )


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(100, 600),
    positive_rate=st.floats(0.1, 0.5),
    validation=st.floats(0.1, 0.3),
    test=st.floats(0.1, 0.3),
    strategy=st.sampled_from(["stratified", "time"]),
)
def test_the_parts_partition_the_rows_in_the_configured_shares(
    rows: int, positive_rate: float, validation: float, test: float, strategy: str
) -> None:
    frame = labelled(rows, positive_rate)
    try:
        splits = split(frame, strategy, validation, test)
    except SplitError:
        assert strategy == "time"  # table order may leave a part with one class; stratified never does here
        return
    labels = [part.index for part in splits.parts().values()]
    assert sorted(np.concatenate(labels).tolist()) == list(range(rows))  # disjoint and complete
    assert len(splits.test) == int(np.ceil(rows * test))
    assert len(splits.validation) == int(np.ceil(rows * validation))
    if strategy == "stratified":
        overall = (frame["y"] == "yes").mean()
        for part in splits.parts().values():
            # Stratification keeps each part's positive rate within a row or two of the overall rate.
            assert abs((part["y"] == "yes").mean() - overall) <= 2.5 / len(part)


def test_time_split_keeps_table_order_train_then_validation_then_test() -> None:
    frame = labelled(1000, 0.2)
    splits = split(frame, "time", validation=0.1, test=0.2)
    assert splits.train["order"].tolist() == list(range(700))
    assert splits.validation["order"].tolist() == list(range(700, 800))
    assert splits.test["order"].tolist() == list(range(800, 1000))


def test_stratified_split_is_seeded() -> None:
    frame = labelled(500, 0.2)
    first, again, other = split(frame, seed=1), split(frame, seed=1), split(frame, seed=2)
    assert first.test.index.equals(again.test.index) and first.validation.index.equals(again.validation.index)
    assert not first.test.index.equals(other.test.index)


def test_summary_records_strategy_sizes_and_positive_rates() -> None:
    frame = labelled(200, 0.25)
    summary = split(frame, validation=0.2, test=0.2).summary("y", "yes")
    assert summary["strategy"] == "stratified"
    assert (summary["train_rows"], summary["validation_rows"], summary["test_rows"]) == (120, 40, 40)
    assert summary["test_positive_rate"] == pytest.approx(0.25)


def test_a_time_split_without_positives_in_a_part_is_refused() -> None:
    frame = pd.DataFrame({"order": range(200), "y": ["yes"] * 40 + ["no"] * 160})  # positives only early on
    with pytest.raises(SplitError, match=r"only negatives in validation .* stratified"):
        split(frame, "time")


@pytest.mark.parametrize(
    ("rows", "positives", "message"),
    [(5, 2, "too few to split"), (300, 2, "cannot stratify: only 2 positive rows")],
)
def test_data_too_small_to_split_is_refused(rows: int, positives: int, message: str) -> None:
    frame = pd.DataFrame({"order": range(rows), "y": ["yes"] * positives + ["no"] * (rows - positives)})
    with pytest.raises(SplitError, match=message):
        split(frame)


def test_shares_that_leave_no_training_rows_are_refused() -> None:
    with pytest.raises(SplitError, match="sum to below 1"):
        split(labelled(100, 0.3), validation=0.6, test=0.5)

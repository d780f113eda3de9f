"""Selection: the best validation value of the primary metric, whichever direction is better; never the test split."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cml_mlops.metrics import METRICS, RANKING_METRICS
from cml_mlops.training import CandidateSummary, select_best


def summary(run_id: str, validation: dict[str, float], test: dict[str, float] | None = None) -> CandidateSummary:
    return CandidateSummary(
        name="c", estimator="logistic_regression", params={}, run_id=run_id, run_name=run_id, threshold=0.5,
        validation=validation, test=test or validation,
    )  # fmt: skip


@settings(max_examples=30, deadline=None)
@given(
    metric=st.sampled_from(RANKING_METRICS),
    values=st.lists(st.floats(0.0, 1.0) | st.just(math.nan), min_size=1, max_size=8),
)
def test_the_best_validation_value_wins_and_nan_ranks_last(metric: str, values: list[float]) -> None:
    runs = [summary(f"run{i}", {metric: value}) for i, value in enumerate(values)]
    chosen = select_best(runs, metric)
    defined = [value for value in values if not math.isnan(value)]
    if not defined:
        assert chosen is runs[0]
        return
    best = max(defined) if METRICS[metric].higher_is_better else min(defined)
    assert chosen.validation[metric] == best
    assert chosen is next(run for run in runs if run.validation[metric] == best)  # the first on ties


def test_losses_select_the_lowest() -> None:
    runs = [summary("a", {"log_loss": 0.30}), summary("b", {"log_loss": 0.25}), summary("c", {"log_loss": 0.40})]
    assert select_best(runs, "log_loss").run_id == "b"


def test_the_test_split_plays_no_part() -> None:
    runs = [summary("a", {"roc_auc": 0.80}, test={"roc_auc": 0.70}), summary("b", {"roc_auc": 0.75}, {"roc_auc": 0.9})]
    assert select_best(runs, "roc_auc").run_id == "a"


def test_nothing_to_select_from_is_an_error() -> None:
    with pytest.raises(ValueError, match="no candidate runs"):
        select_best([], "roc_auc")

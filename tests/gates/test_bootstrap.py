"""The paired bootstrap: weighted metrics agree with sklearn, identical models tie, intervals shrink with more rows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from cml_mlops.gates.bootstrap import paired_bootstrap, resample_counts, weighted_metric
from cml_mlops.metrics import METRICS
from tests.gates.helpers import synthetic


def plain(name: str, y: np.ndarray, p: np.ndarray, threshold: float) -> float:
    metric = METRICS[name]
    return metric.compute(y, (p >= threshold).astype(int) if metric.needs_labels else p)


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(sorted(METRICS)),
    rows=st.integers(min_value=2, max_value=60),
    seed=st.integers(min_value=0, max_value=2**16),
    decimals=st.sampled_from([1, 2, 6]),  # few decimals: many tied scores
    threshold=st.floats(min_value=0.05, max_value=0.95),
)
def test_weighted_metrics_agree_with_sklearn_on_the_resampled_rows(
    name: str, rows: int, seed: int, decimals: int, threshold: float
) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, rows)
    y[:2] = [0, 1]  # both classes in the full set; resamples may still miss one
    p = np.round(rng.random(rows), decimals)
    counts = next(resample_counts(rows, 6, rng))
    got = weighted_metric(name, y, p, threshold, counts)
    for sample, value in zip(counts.astype(int), got, strict=True):
        drawn = np.repeat(np.arange(rows), sample)
        both = 0 < y[drawn].sum() < len(drawn)
        if name in ("roc_auc", "pr_auc") and not both:
            assert np.isnan(value)  # undefined with one class, as in compute_metrics
        else:
            assert value == pytest.approx(plain(name, y[drawn], p[drawn], threshold), abs=1e-9, nan_ok=True)


@settings(max_examples=20, deadline=None)
@given(rows=st.integers(min_value=2, max_value=300), seed=st.integers(min_value=0, max_value=2**16))
def test_rank_auc_with_unit_weights_is_sklearns_auc(rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, rows)
    y[:2] = [1, 0]
    p = np.round(rng.random(rows), 1)
    assert weighted_metric("roc_auc", y, p, 0.5, np.ones(rows))[0] == pytest.approx(roc_auc_score(y, p), abs=1e-12)


def test_resample_counts_draw_every_row_count_once_per_sample_in_blocks() -> None:
    blocks = list(resample_counts(50_000, 100, np.random.default_rng(0)))
    assert len(blocks) > 1  # memory bounded: samples come in blocks
    counts = np.concatenate(blocks)
    assert counts.shape == (100, 50_000) and (counts.sum(axis=1) == 50_000).all()


@pytest.mark.parametrize("name", ["roc_auc", "brier", "f1", "lift_top_decile"])
def test_identical_models_have_zero_difference(name: str) -> None:
    y, strong, _ = synthetic(400, seed=3)
    result = paired_bootstrap(y, strong, strong.copy(), metric=name, thresholds=(0.4, 0.4), samples=200, seed=1)
    assert result.difference == 0 and result.lower == 0 and result.upper == 0


def test_bootstrap_is_seeded_and_brackets_the_observed_difference() -> None:
    y, strong, weak = synthetic(500, seed=4)
    first = paired_bootstrap(y, strong, weak, metric="roc_auc", samples=300, seed=7)
    assert first == paired_bootstrap(y, strong, weak, metric="roc_auc", samples=300, seed=7)
    assert first.lower < first.difference < first.upper
    assert first.difference == pytest.approx(roc_auc_score(y, strong) - roc_auc_score(y, weak))


@settings(max_examples=8, deadline=None)
@given(rows=st.integers(min_value=200, max_value=1_000))
def test_the_interval_narrows_as_the_test_set_grows(rows: int) -> None:
    widths = []
    for size in (rows, 4 * rows):
        y, strong, weak = synthetic(size, seed=11)
        widths.append(paired_bootstrap(y, strong, weak, metric="roc_auc", samples=400, seed=5).width)
    assert widths[1] < widths[0]


def test_bad_input_is_refused_with_the_reason() -> None:
    y, strong, weak = synthetic(50, seed=0)
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        paired_bootstrap(y, strong, weak, metric="auc", samples=100)
    with pytest.raises(ValueError, match="undefined on every bootstrap sample"):
        paired_bootstrap(np.zeros(50), strong, weak, metric="roc_auc", samples=100)
    with pytest.raises(ValueError, match="no rows"):
        paired_bootstrap(np.array([]), np.array([]), np.array([]), metric="roc_auc", samples=100)

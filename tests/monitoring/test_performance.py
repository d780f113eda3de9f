"""Label metrics computed from the SQL aggregation match scikit-learn on the same rows."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve as sklearn_calibration
from sklearn.metrics import roc_auc_score
from sqlalchemy import Engine, delete

from cml_mlops.metrics import compute_metrics
from cml_mlops.monitoring import queries
from cml_mlops.monitoring.dialect import StoreDialect
from cml_mlops.monitoring.performance import (
    binned_roc_auc,
    calibration_curve,
    hanley_mcneil_interval,
    label_metrics,
    wilson_interval,
    window_traffic,
)
from cml_mlops.monitoring.schema import labels, predictions
from cml_mlops.monitoring.windows import WindowPlan
from tests.monitoring.helpers import START, write_rows

THRESHOLD = 0.3


def _store_rows(engine: Engine, probability: np.ndarray, truth: np.ndarray, labelled: np.ndarray) -> None:
    with engine.begin() as connection:
        connection.execute(delete(labels))
        connection.execute(delete(predictions))
    rows = [
        {
            "prediction_id": uuid.uuid4().hex,
            "requested_at": START - index,
            "model_name": "m",
            "model_version": "1",
            "features": {},
            "probability": float(p),
            "prediction": int(p >= THRESHOLD),
            "latency_ms": 1.0,
        }
        for index, p in enumerate(probability)
    ]
    label_rows = [
        {"prediction_id": row["prediction_id"], "label": int(y), "labelled_at": START}
        for row, y, has in zip(rows, truth, labelled, strict=True)
        if has
    ]
    write_rows(engine, rows, label_rows)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(20, 400), signal=st.floats(0, 3))
def test_metrics_match_scikit_learn_on_the_same_rows(
    monitor_engine: Engine, seed: int, rows: int, signal: float
) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, rows)
    # Scores that are informative to a degree, rounded so that exact ties happen too.
    probability = np.round(1 / (1 + np.exp(-(signal * (truth - 0.5) + rng.normal(size=rows)))), 3)
    labelled = rng.random(rows) < 0.7
    _store_rows(monitor_engine, probability, truth, labelled)
    plan = WindowPlan.ending_at(START, 3600, 1)
    with monitor_engine.connect() as connection:
        traffic = window_traffic(queries.traffic(connection, StoreDialect(monitor_engine.dialect.name), plan), 1)[0]
    assert traffic.requests == rows and traffic.labelled == labelled.sum()
    assert traffic.predicted_positive == int((probability >= THRESHOLD).sum())
    y, p = truth[labelled], probability[labelled]
    if len(y) == 0:
        assert label_metrics(traffic)["accuracy"] is None
        return
    ours = label_metrics(traffic)
    expected = compute_metrics(y, p, THRESHOLD)
    for name in ("accuracy", "precision", "recall", "f1", "brier"):
        assert ours[name] == pytest.approx(expected[name], abs=1e-9), name
    assert ours["label_rate"] == pytest.approx(y.mean())
    if 0 < y.sum() < len(y):
        # Exact up to the pairs of a positive and a negative in the same bin, which the bound accounts for.
        assert abs(ours["roc_auc"] - roc_auc_score(y, p)) <= ours["roc_auc_error_bound"] + 1e-12
    else:
        assert ours["roc_auc"] is None


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(2, 2000))
def test_binned_auc_is_exact_for_scores_in_distinct_bins(seed: int, rows: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, rows)
    bins = rng.permutation(queries.PROBABILITY_BINS)[:rows] if rows <= queries.PROBABILITY_BINS else None
    if bins is None or truth.min() == truth.max():
        return
    positives = np.bincount(bins[truth == 1], minlength=queries.PROBABILITY_BINS)
    negatives = np.bincount(bins[truth == 0], minlength=queries.PROBABILITY_BINS)
    auc, bound = binned_roc_auc(positives, negatives)
    assert bound == 0
    assert auc == pytest.approx(roc_auc_score(truth, bins))


def test_calibration_matches_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    probability = rng.random(5000)
    truth = (rng.random(5000) < probability**1.5).astype(int)
    bins = np.minimum((probability * queries.PROBABILITY_BINS).astype(int), queries.PROBABILITY_BINS - 1)
    counts = np.vstack([np.bincount(bins[truth == label], minlength=queries.PROBABILITY_BINS) for label in (0, 1)])
    sums = np.vstack(
        [np.bincount(bins[truth == label], probability[truth == label], queries.PROBABILITY_BINS) for label in (0, 1)]
    )
    curve = calibration_curve(counts, sums)
    observed, predicted = sklearn_calibration(truth, probability, n_bins=10, strategy="uniform")
    assert [point["observed"] for point in curve] == pytest.approx(observed)
    assert [point["predicted"] for point in curve] == pytest.approx(predicted)


@given(trials=st.integers(1, 5000), data=st.data())
def test_wilson_intervals_hold_the_rate_and_match_the_closed_form(trials: int, data: st.DataObject) -> None:
    successes = data.draw(st.integers(0, trials))
    low, high = wilson_interval(successes, trials)
    assert low is not None and high is not None
    rate, z = successes / trials, 1.959963984540054
    centre = (rate + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * np.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials))
    assert (low, high) == pytest.approx((centre - half, centre + half), abs=1e-9)
    assert 0.0 <= low <= rate <= high <= 1.0
    assert wilson_interval(0, 0) == (None, None)


def test_the_hanley_mcneil_band_of_roc_auc_is_close_to_a_bootstrap_and_narrows_with_labels() -> None:
    rng = np.random.default_rng(3)
    widths = []
    for size in (100, 400, 1600):
        truth = (rng.random(size) < 0.3).astype(int)
        scores = rng.normal(truth * 1.2, 1.0)
        auc = float(roc_auc_score(truth, scores))
        low, high = hanley_mcneil_interval(auc, int(truth.sum()), int(size - truth.sum()))
        assert low is not None and high is not None and low < auc < high
        resampled = [rng.integers(0, size, size) for _ in range(300)]
        boot = [roc_auc_score(truth[i], scores[i]) for i in resampled if 0 < truth[i].sum() < size]
        assert (high - low) / 2 == pytest.approx(1.96 * float(np.std(boot)), rel=0.25)
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    assert hanley_mcneil_interval(None, 5, 5) == (None, None) and hanley_mcneil_interval(0.7, 0, 5) == (None, None)

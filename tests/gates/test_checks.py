"""Single checks on synthetic scores: floors (ceilings for losses), the dummy baseline, non-inferiority, fail closed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

from cml_mlops.config import NonInferioritySection
from cml_mlops.gates.checks import (
    baseline_checks,
    floor_checks,
    guarded,
    predictions_contract_check,
    prior_metrics,
)
from cml_mlops.gates.sources import non_inferiority_check
from cml_mlops.metrics import compute_metrics
from cml_mlops.predictions import prediction_schema, validate_predictions
from tests.gates.helpers import synthetic


def test_floors_are_floors_for_gains_and_ceilings_for_losses() -> None:
    metrics = {"roc_auc": 0.8, "brier": 0.09, "log_loss": 0.4}
    results = {r.metric: r for r in floor_checks(metrics, {"roc_auc": 0.75, "brier": 0.1, "log_loss": 0.3})}
    assert results["roc_auc"].status == "passed" and results["roc_auc"].operator == ">="
    assert results["brier"].status == "passed" and results["brier"].operator == "<="
    assert results["log_loss"].status == "failed"  # 0.4 is above the 0.3 ceiling
    assert floor_checks({"roc_auc": 0.7}, {"roc_auc": 0.75})[0].status == "failed"


def test_an_undefined_metric_never_passes() -> None:
    [result] = floor_checks({"roc_auc": math.nan}, {"roc_auc": 0.5})
    assert result.status == "failed" and "undefined" in result.detail


def test_the_dummy_baseline_scores_like_sklearns_prior_dummy() -> None:
    y, strong, _ = synthetic(600, seed=2)
    prior = 0.3
    dummy = prior_metrics(y, prior)
    fitted = DummyClassifier(strategy="prior").fit(np.zeros((10, 1)), [1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    expected = compute_metrics(y, fitted.predict_proba(np.zeros((len(y), 1)))[:, 1], threshold=0.5)
    assert dummy["roc_auc"] == 0.5 and dummy["brier"] == pytest.approx(expected["brier"])
    assert dummy["f1"] == pytest.approx(expected["f1"])  # DummyClassifier predicts the majority class
    model = compute_metrics(y, strong, 0.5)
    results = {r.metric: r for r in baseline_checks(model, dummy, {"roc_auc": 0.05, "brier": 0.01}, prior)}
    assert results["roc_auc"].status == "passed" and results["roc_auc"].threshold == pytest.approx(0.55)
    assert results["brier"].threshold == pytest.approx(dummy["brier"] - 0.01)  # losses: lower by the margin
    assert baseline_checks({"roc_auc": 0.52}, dummy, {"roc_auc": 0.05}, prior)[0].status == "failed"


def test_a_check_that_raises_fails_with_the_error_text() -> None:
    def broken() -> list:
        raise KeyError("no such column: pdays")

    [result] = guarded("segment", "segments", broken)
    assert result.failed and "KeyError" in result.detail and "pdays" in result.detail


def test_an_unknown_metric_in_the_config_fails_the_check_by_name() -> None:
    [result] = guarded("floor", "floors", lambda: floor_checks({"roc_auc": 0.9}, {"auc": 0.5}))
    assert result.failed and "unknown metric 'auc'" in result.detail


def non_inferiority(y: np.ndarray, challenger: np.ndarray, champion: np.ndarray, **settings: object):
    return non_inferiority_check(
        y,
        challenger,
        champion,
        thresholds=(0.5, 0.5),
        settings=NonInferioritySection(bootstrap_samples=300, **settings),  # type: ignore[arg-type]
        seed=0,
        champion_version="1",
    )


def test_non_inferiority_passes_a_better_or_equal_challenger_and_fails_a_clearly_worse_one() -> None:
    y, strong, weak = synthetic(1_500, seed=5)
    assert non_inferiority(y, strong, weak).status == "passed"
    assert non_inferiority(y, strong, strong).status == "passed"
    worse = non_inferiority(y, weak, strong)
    assert worse.status == "failed" and worse.value is not None and worse.value < -0.01
    assert worse.data["difference"] < 0 and worse.data["lower"] < worse.data["difference"]
    # A margin wide enough to cover the gap lets the same challenger through.
    assert non_inferiority(y, weak, strong, margin=0.2).status == "passed"


def test_non_inferiority_on_a_loss_bounds_the_increase() -> None:
    y, strong, weak = synthetic(1_500, seed=6)
    worse = non_inferiority(y, weak, strong, metric="brier")
    assert worse.status == "failed" and worse.operator == "<=" and worse.threshold == 0.01
    assert worse.value == worse.data["upper"] > 0.01
    assert non_inferiority(y, strong, weak, metric="brier").status == "passed"


def test_the_predictions_contract_accepts_probabilities_and_known_labels_only() -> None:
    good = pd.DataFrame({"probability": [0.0, 0.4, 1.0], "label": ["no", "no", "yes"]})
    assert validate_predictions(good, "yes", "no").passed
    bad = pd.DataFrame({"probability": [1.5, np.nan, 0.2], "label": ["yes", "no", "maybe"]})
    report = validate_predictions(bad, "yes", "no")
    assert {(f.column, f.check) for f in report.failures} == {
        ("probability", "in_range"),
        ("probability", "not_nullable"),
        ("label", "isin"),
    }
    result = predictions_contract_check(bad, "yes", "no")
    assert result.failed and "in_range" in result.detail
    schema = prediction_schema("yes", "no")
    assert set(schema.columns) == {"probability", "label"} and schema.strict
    with pytest.raises(ValueError, match="must differ"):
        prediction_schema("yes", "yes")

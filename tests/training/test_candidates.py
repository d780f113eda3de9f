"""Candidate runs from the config's grids, and their pipelines on raw typed columns."""

from __future__ import annotations

from pathlib import Path

import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from cml_mlops.config import CandidateSection
from cml_mlops.errors import ConfigError
from cml_mlops.features import FeatureSpec
from cml_mlops.training.candidates import BUILDERS, SKOPS_TRUSTED_TYPES, CandidateRun, build_pipeline, expand_candidates
from cml_mlops.training.runs import model_requirements
from cml_mlops.training.trainer import NATIVE_THREADS

ESTIMATORS = sorted(BUILDERS)


def pipeline_for(spec: FeatureSpec, estimator: str, **params: object):
    return build_pipeline(
        CandidateRun(estimator, estimator, dict(params)),
        numeric=spec.numeric_inputs(),
        categorical=spec.categorical_inputs(),
        seed=3,
    )


def fitted(spec: FeatureSpec, frame: pd.DataFrame, estimator: str, **params: object):
    rows = frame.head(1500)
    y = (rows[spec.target] == spec.positive_label).astype(int)
    with threadpool_limits(NATIVE_THREADS):  # as training fits them: spinning OpenMP threads crawl on shared cores
        return pipeline_for(spec, estimator, **params).fit(rows[list(spec.inputs())], y)


def test_every_grid_combination_is_one_run_in_config_order() -> None:
    runs = expand_candidates(
        {
            "forest": CandidateSection(estimator="random_forest", grid={"n_estimators": [10, 20], "max_depth": [3, 5]}),
            "linear": CandidateSection(estimator="logistic_regression"),
        }
    )
    assert [run.run_name for run in runs] == [
        "forest[max_depth=3,n_estimators=10]",
        "forest[max_depth=3,n_estimators=20]",
        "forest[max_depth=5,n_estimators=10]",
        "forest[max_depth=5,n_estimators=20]",
        "linear",
    ]
    assert runs[1].params == {"max_depth": 3, "n_estimators": 20} and runs[4].params == {}


def test_a_grid_entry_without_values_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"training.candidates.forest.grid: max_depth lists no values"):
        expand_candidates({"forest": CandidateSection(estimator="random_forest", grid={"max_depth": []})})


def test_an_unknown_parameter_is_refused_with_the_known_ones(bank_spec: FeatureSpec) -> None:
    with pytest.raises(ConfigError, match=r"RandomForestClassifier has no parameter max_dept; it has .*max_depth"):
        pipeline_for(bank_spec, "random_forest", max_dept=3)


def test_a_bad_parameter_value_is_refused_before_fitting(bank_spec: FeatureSpec) -> None:
    with pytest.raises(ConfigError, match=r"learning_rate.*HistGradientBoostingClassifier.*Got 'fast'"):
        pipeline_for(bank_spec, "hist_gradient_boosting", learning_rate="fast")


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_pipelines_score_raw_rows_including_unseen_categories(
    estimator: str, bank_spec: FeatureSpec, bank_frame: pd.DataFrame
) -> None:
    model = fitted(bank_spec, bank_frame, estimator)
    rows = bank_frame.tail(50)[list(bank_spec.inputs())].copy()
    rows.iloc[0, rows.columns.get_loc("job")] = "astronaut"  # never seen in training
    probability = model.predict_proba(rows)
    assert probability.shape == (50, 2) and np.all((probability >= 0) & (probability <= 1))
    assert list(model.classes_) == [0, 1]


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_pipelines_are_seeded(estimator: str, bank_spec: FeatureSpec, bank_frame: pd.DataFrame) -> None:
    rows = bank_frame.tail(200)[list(bank_spec.inputs())]
    first = fitted(bank_spec, bank_frame, estimator).predict_proba(rows)
    again = fitted(bank_spec, bank_frame, estimator).predict_proba(rows)
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_pipelines_round_trip_through_mlflow_skops_format(
    estimator: str, bank_spec: FeatureSpec, bank_frame: pd.DataFrame, tmp_path: Path
) -> None:
    """The trusted-types list covers every estimator: MLflow refuses to save or load a model with other types."""
    model = fitted(bank_spec, bank_frame, estimator)
    mlflow.sklearn.save_model(
        model,
        tmp_path / "model",
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
        skops_trusted_types=list(SKOPS_TRUSTED_TYPES),
        pip_requirements=model_requirements(),  # inferring them takes seconds
    )
    loaded = mlflow.sklearn.load_model(str(tmp_path / "model"))
    rows = bank_frame.tail(100)[list(bank_spec.inputs())]
    np.testing.assert_array_equal(loaded.predict_proba(rows), model.predict_proba(rows))


def test_duration_is_not_an_input_unless_asked_for(bank_spec: FeatureSpec) -> None:
    assert "duration" not in bank_spec.inputs()
    assert "duration" in bank_spec.inputs(use_leakage_columns=True)

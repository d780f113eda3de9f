"""A classifier that fits but cannot predict: a model version whose deploy smoke test must fail.

It lives in an importable module so that the pickled model loads in the server process (PYTHONPATH=repo root).
"""

from __future__ import annotations

from typing import Any

import mlflow.sklearn
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline

from cml_mlops.features import FeatureSpec
from tests.support.models import simple_pipeline

_log_model = mlflow.sklearn.log_model


class FailingClassifier(ClassifierMixin, BaseEstimator):
    def fit(self, X: Any, y: Any) -> FailingClassifier:
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        raise RuntimeError("this model cannot predict")

    def predict(self, X: Any) -> np.ndarray:
        raise RuntimeError("this model cannot predict")


def failing_pipeline(spec: FeatureSpec, *, drop: tuple[str, ...] = ()) -> Pipeline:
    """The test pipeline's preprocessing, then FailingClassifier."""
    preprocessing = simple_pipeline(spec, drop=drop).steps[0]
    return Pipeline([preprocessing, ("model", FailingClassifier())])


TRUSTED_TYPES = [f"{FailingClassifier.__module__}.{FailingClassifier.__qualname__}"]


def log_model_trusting_it(*args: Any, **kwargs: Any) -> Any:
    """mlflow.sklearn.log_model, told that FailingClassifier is safe to load (MLflow 3 saves with skops)."""
    return _log_model(*args, skops_trusted_types=TRUSTED_TYPES, **kwargs)

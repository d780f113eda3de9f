"""Helpers of the gate tests: synthetic scores, and registering any estimator the way training does (fast)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from sklearn.model_selection import train_test_split

from cml_mlops.config import ProjectConfig
from cml_mlops.features import FeatureSpec
from cml_mlops.tracking import MODEL_ARTIFACT, TEST_SPLIT_ARTIFACT, VALIDATION_SPLIT_ARTIFACT, Tag, configure_mlflow
from tests.support.models import log_row_parts, simple_pipeline


def synthetic(rows: int, seed: int, signal: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcomes and two noisy scorers of them (the second a little weaker)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.3).astype(int)
    strong = 1 / (1 + np.exp(-(signal * (2 * y - 1) + rng.normal(size=rows))))
    weak = 1 / (1 + np.exp(-(0.8 * signal * (2 * y - 1) + rng.normal(size=rows))))
    return y, strong, weak


class Overconfident:
    """Wraps a fitted pipeline and triples its probabilities: output that breaks the predictions contract."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self.classes_ = np.array([0, 1])

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> Overconfident:
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.pipeline.predict_proba(frame) * 3

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.pipeline.predict(frame)


def fitted_pipeline(frame: pd.DataFrame, spec: FeatureSpec) -> Any:
    train, _ = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame[spec.target])
    y = (train[spec.target] == spec.positive_label).astype(int).to_numpy()
    return simple_pipeline(spec).fit(train[list(spec.inputs())], y)


def register_estimator(
    config: ProjectConfig, estimator: Any, frame: pd.DataFrame, spec: FeatureSpec, *, splits: bool = True
) -> ModelVersion:
    """Log `estimator` with the tags training writes (and the held-out splits unless `splits` is False), register it.

    Unlike tests.support.models it takes any estimator, pickled with cloudpickle and with its requirements given
    (MLflow's requirement inference runs a subprocess for seconds).
    """
    client = configure_mlflow(config)
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame[spec.target])
    negative = next(v for v in frame[spec.target].unique() if v != spec.positive_label)
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as scratch:
        mlflow.set_tags(
            {
                Tag.THRESHOLD: "0.3",
                Tag.POSITIVE_LABEL: spec.positive_label,
                Tag.NEGATIVE_LABEL: str(negative),
                Tag.FEATURES: json.dumps(list(spec.inputs())),
                Tag.TARGET: spec.target,
            }
        )
        mlflow.sklearn.log_model(
            estimator, name=MODEL_ARTIFACT, serialization_format="cloudpickle", pip_requirements=["scikit-learn"]
        )
        for artifact in (TEST_SPLIT_ARTIFACT, VALIDATION_SPLIT_ARTIFACT) if splits else ():
            path = Path(scratch) / Path(artifact).name
            test.reset_index(drop=True).to_parquet(path)
            mlflow.log_artifact(str(path), artifact_path=str(Path(artifact).parent))
        if splits:
            log_row_parts(frame, train.index)
    version = mlflow.register_model(f"runs:/{run.info.run_id}/{MODEL_ARTIFACT}", config.tracking.model_name)
    client.set_model_version_tag(version.name, version.version, Tag.RUN_ID, run.info.run_id)
    return version


class RefusesLargeBalances(Overconfident):
    """A model that raises on balances above anything seen in bank.csv (the contract allows up to 10,000,000)."""

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if (frame["balance"] > 1_000_000).any():
            raise ValueError("balance out of the range seen in training")
        return self.pipeline.predict_proba(frame)

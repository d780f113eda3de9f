"""Registered models for tests of gates and serving, made the way `cml-mlops train` makes them.

They follow the conventions in cml_mlops.tracking (artifacts, tags) so that gates and serving can be tested
on their own; the training tests check that the real trainer writes the same conventions.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from cml_mlops.config import ProjectConfig
from cml_mlops.features import FeatureSpec
from cml_mlops.row_keys import row_keys
from cml_mlops.tracking import MODEL_ARTIFACT, TEST_SPLIT_ARTIFACT, VALIDATION_SPLIT_ARTIFACT, Tag, configure_mlflow
from cml_mlops.training.row_parts import HISTORY, log_record


def log_row_parts(frame: pd.DataFrame, train_index: pd.Index) -> None:
    """The record of each row's part that training logs (train or test here), on the active run."""
    record = pd.DataFrame({"row_key": row_keys(frame).to_numpy(), "source": HISTORY})
    record["part"] = np.where(frame.index.isin(train_index), "train", "test")
    log_record(record.drop_duplicates("row_key"))


def simple_pipeline(spec: FeatureSpec, *, drop: tuple[str, ...] = ()) -> Pipeline:
    numeric = [c for c in spec.numeric_inputs() if c not in drop]
    categorical = [c for c in spec.categorical_inputs() if c not in drop]
    columns = ColumnTransformer(
        [("numeric", StandardScaler(), numeric), ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical)]
    )
    return Pipeline([("columns", columns), ("model", LogisticRegression(max_iter=500))])


def register_test_model(
    config: ProjectConfig,
    frame: pd.DataFrame,
    spec: FeatureSpec,
    *,
    shuffle_labels: bool = False,
    drop: tuple[str, ...] = (),
    threshold: float = 0.3,
    seed: int = 0,
    snapshot_id: int = 1,
) -> ModelVersion:
    """Fit a logistic regression on `frame` (typed, as read from the lake), log it as training does, register it.

    `shuffle_labels` and `drop` make deliberately degraded models for the gate tests.
    """
    client = configure_mlflow(config)
    negative = next(v for v in frame[spec.target].unique() if v != spec.positive_label)
    train, test = train_test_split(frame, test_size=0.3, random_state=seed, stratify=frame[spec.target])
    y = (train[spec.target] == spec.positive_label).astype(int).to_numpy()
    if shuffle_labels:
        y = np.random.default_rng(seed).permutation(y)
    inputs = list(spec.inputs())
    pipeline = simple_pipeline(spec, drop=drop).fit(train[inputs], y)
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as scratch:
        mlflow.set_tags(
            {
                Tag.THRESHOLD: str(threshold),
                Tag.POSITIVE_LABEL: spec.positive_label,
                Tag.NEGATIVE_LABEL: str(negative),
                Tag.FEATURES: json.dumps(inputs),
                Tag.TARGET: spec.target,
                Tag.TABLE: f"{config.lake.namespace}.{config.lake.table}",
                Tag.SNAPSHOT: str(snapshot_id),
                Tag.CANDIDATE: "test_logistic_regression",
                Tag.SELECTED: "true",
            }
        )
        # Explicit requirements: MLflow's inference of them starts a subprocess that costs seconds per model.
        mlflow.sklearn.log_model(
            pipeline, name=MODEL_ARTIFACT, input_example=test[inputs].head(3), pip_requirements=["scikit-learn"]
        )
        for artifact, part in ((TEST_SPLIT_ARTIFACT, test), (VALIDATION_SPLIT_ARTIFACT, test)):
            path = Path(scratch) / Path(artifact).name
            part.reset_index(drop=True).to_parquet(path)
            mlflow.log_artifact(str(path), artifact_path=str(Path(artifact).parent))
        log_row_parts(frame, train.index)
    version = mlflow.register_model(f"runs:/{run.info.run_id}/{MODEL_ARTIFACT}", config.tracking.model_name)
    client.set_model_version_tag(version.name, version.version, Tag.RUN_ID, run.info.run_id)
    return version

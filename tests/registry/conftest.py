"""Fixtures for the registry tests: a fresh project's MLflow store and runs logged as training logs them."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import mlflow.sklearn
import pandas as pd
import pytest

from cml_mlops.config import ProjectConfig, load_config
from cml_mlops.features import FeatureSpec
from cml_mlops.tracking import MODEL_ARTIFACT, Tag, configure_mlflow
from cml_mlops.training.runs import model_requirements
from tests.support.models import simple_pipeline


@pytest.fixture
def config(project_dir: Path) -> ProjectConfig:
    """A fresh default project: its own tracking store, no model registered yet."""
    return load_config(project_dir, environ={})


def log_run(
    config: ProjectConfig,
    frame: pd.DataFrame,
    spec: FeatureSpec,
    *,
    conventions: bool = True,
    model: bool = True,
    snapshot_id: int = 17,
) -> str:
    """A finished run like a selected training run (model + tags), not registered; returns its id."""
    configure_mlflow(config)
    rows = frame.head(800)
    inputs = list(spec.inputs())
    with mlflow.start_run() as run:
        if conventions:
            mlflow.set_tags(
                {
                    Tag.THRESHOLD: "0.25",
                    Tag.POSITIVE_LABEL: spec.positive_label,
                    Tag.NEGATIVE_LABEL: "no",
                    Tag.FEATURES: json.dumps(inputs),
                    Tag.TARGET: spec.target,
                    Tag.SNAPSHOT: str(snapshot_id),
                    Tag.TABLE: "bank_marketing.raw",
                    Tag.CONTRACT_VERSION: "1.0.0",
                }
            )
        if model:
            pipeline = simple_pipeline(spec).fit(rows[inputs], (rows[spec.target] == spec.positive_label).astype(int))
            mlflow.sklearn.log_model(pipeline, name=MODEL_ARTIFACT, pip_requirements=model_requirements())
    return run.info.run_id

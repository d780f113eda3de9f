"""MLflow conventions shared by training, gates, the registry and serving: where things are and what they are called."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from cml_mlops.alembic_turns import ALEMBIC_TURNS
from cml_mlops.config import ProjectConfig
from cml_mlops.errors import CmlMlopsError, ConfigError
from cml_mlops.project import load_project_module

# Artifacts of a training run.
MODEL_ARTIFACT = "model"  # mlflow.sklearn model: a fitted Pipeline with predict_proba, classes_ == [0, 1]
TEST_SPLIT_ARTIFACT = "splits/test.parquet"  # raw feature columns + target, as read from the lake
VALIDATION_SPLIT_ARTIFACT = "splits/validation.parquet"

# Aliases: `challenger` after a passed gate, `champion` after a successful deployment.
CHALLENGER = "challenger"
CHAMPION = "champion"

# Gate record on a model version.
VALIDATION_STATUS = "validation_status"  # "passed" | "failed"
GATE_REPORT = "gate_report"  # URI of the gate report artifact


class Tag:
    """Run tags (and model-version tags, copied at registration) written by training."""

    THRESHOLD = "cml_mlops.threshold"  # decision threshold on the positive-class probability
    POSITIVE_LABEL = "cml_mlops.positive_label"
    NEGATIVE_LABEL = "cml_mlops.negative_label"
    FEATURES = "cml_mlops.features"  # JSON list of the model's input columns, in order
    TARGET = "cml_mlops.target"
    TABLE = "cml_mlops.data.table"  # namespace.table
    SNAPSHOT = "cml_mlops.data.snapshot_id"
    CONTRACT_VERSION = "cml_mlops.contract_version"
    GIT_COMMIT = "mlflow.source.git.commit"
    CANDIDATE = "cml_mlops.candidate"
    SPLIT = "cml_mlops.split"
    SELECTED = "cml_mlops.selected"  # "true" on the run chosen among the candidates
    RUN_ID = "run_id"  # on model versions


class TrackingError(CmlMlopsError):
    """The tracking server or registry refused an operation, or a model version lacks what it needs."""


def configure_mlflow(config: ProjectConfig) -> MlflowClient:
    """Point MLflow at the project's tracking and registry store, with the experiment created if needed."""
    uri = config.tracking_uri()
    if uri.startswith("sqlite:///"):
        config.path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    with ALEMBIC_TURNS:  # the first call opens the store, which may migrate it (see alembic_turns)
        experiment = client.get_experiment_by_name(config.tracking.experiment)
        client.search_registered_models(max_results=1)  # the registry store too
    if experiment is None:
        location = config.tracking.artifact_location
        artifact_uri = location if "://" in location else config.path(location).resolve().as_uri()
        client.create_experiment(config.tracking.experiment, artifact_location=artifact_uri)
    mlflow.set_experiment(config.tracking.experiment)
    return client


@dataclass
class LoadedModel:
    """A registered model version ready to score raw rows: the pipeline plus what training decided about it."""

    pipeline: Any
    name: str
    version: str
    run_id: str
    threshold: float
    positive_label: str
    negative_label: str
    features: list[str]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Positive-class probability per row (extra columns, e.g. the target, are ignored)."""
        return np.asarray(self.pipeline.predict_proba(frame[self.features])[:, 1], dtype=float)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`probability` and `label` (the data's own label values) per row, labels at the threshold."""
        probability = self.predict_proba(frame)
        labels = np.where(probability >= self.threshold, self.positive_label, self.negative_label)
        return pd.DataFrame({"probability": probability, "label": labels}, index=frame.index)


def model_version(
    client: MlflowClient, name: str, *, version: str | int | None = None, alias: str | None = None
) -> ModelVersion:
    """A version by number or alias (default: the newest); TrackingError when there is none."""
    try:
        if alias is not None:
            return client.get_model_version_by_alias(name, alias)
        if version is not None:
            return client.get_model_version(name, str(version))
        versions = client.search_model_versions(f"name = '{search_quoted(name)}'", order_by=["version_number DESC"])
    except MlflowException as exc:
        wanted = f"alias {alias!r}" if alias else f"version {version}" if version else "any version"
        raise TrackingError(f"model {name!r} has no {wanted}: {exc.message}") from None
    if not versions:
        raise TrackingError(f"model {name!r} has no registered version yet: run `cml-mlops train` first")
    return versions[0]


def load_model_version(
    config: ProjectConfig, *, version: str | int | None = None, alias: str | None = None
) -> LoadedModel:
    """Load a registered version of the project's model with its threshold, labels and input columns."""
    client = configure_mlflow(config)
    found: ModelVersion = model_version(client, config.tracking.model_name, version=version, alias=alias)
    if not found.run_id:
        raise TrackingError(f"model {found.name} version {found.version} has no training run: not from cml-mlops")
    run = client.get_run(found.run_id)
    tags = {**run.data.tags, **(found.tags or {})}
    missing = [key for key in (Tag.THRESHOLD, Tag.POSITIVE_LABEL, Tag.NEGATIVE_LABEL, Tag.FEATURES) if key not in tags]
    if missing:
        raise TrackingError(
            f"model {found.name} version {found.version} lacks {', '.join(missing)}: it was not trained by cml-mlops"
        )
    with contextlib.suppress(ConfigError):  # a pipeline with the project's own features or models imports its package
        load_project_module(config, "")
    pipeline = mlflow.sklearn.load_model(f"models:/{found.name}/{found.version}")
    return LoadedModel(
        pipeline=pipeline,
        name=found.name,
        version=str(found.version),
        run_id=found.run_id,
        threshold=float(tags[Tag.THRESHOLD]),
        positive_label=tags[Tag.POSITIVE_LABEL],
        negative_label=tags[Tag.NEGATIVE_LABEL],
        features=list(json.loads(tags[Tag.FEATURES])),
    )


def search_quoted(text: str) -> str:
    """A value for an MLflow search filter (single quotes doubled)."""
    return text.replace("'", "''")

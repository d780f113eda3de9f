"""Building monitoring stores for tests: predictions and labels written with SQLAlchemy Core, as the log holds them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert

from cml_mlops.config import ProjectConfig, load_config
from cml_mlops.features import FeatureSpec
from cml_mlops.monitoring.profile import ReferenceProfile, build_profile
from cml_mlops.monitoring.profile_store import log_profile, tracking_client
from cml_mlops.monitoring.schema import labels, predictions
from tests.support.models import register_test_model

DAY = 86_400.0
START = 1_760_000_000.0  # 2025-10-09T08:53:20Z


def store_environ(tmp_path: Path, store_url: str | None, tracking: Path | None = None) -> dict[str, str]:
    """Config overrides that put reports and the store of a test under `tmp_path` (or at `store_url`), and MLflow
    under `tracking` (default: `tmp_path`)."""
    tracking = tracking or tmp_path
    environ = {
        "CML_MLOPS_TRACKING_URI": f"sqlite:///{tracking / 'mlflow.db'}",
        "CML_MLOPS_TRACKING_ARTIFACT_LOCATION": str(tracking / "artifacts"),
        "CML_MLOPS_REPORTS_DIR": str(tmp_path / "reports"),
        "CML_MLOPS_PREDICTION_LOG_SQLITE_PATH": str(tmp_path / "monitoring" / "predictions.db"),
    }
    if store_url is not None and not store_url.startswith("sqlite"):
        environ["CML_MLOPS_MONITORING_DSN"] = store_url
    return environ


def config_for(project: Path, tmp_path: Path, store_url: str | None, tracking: Path | None = None) -> ProjectConfig:
    return load_config(project, environ=store_environ(tmp_path, store_url, tracking))


def prediction_rows(
    frame: pd.DataFrame,
    probabilities: np.ndarray,
    times: np.ndarray,
    *,
    model_name: str,
    version: str,
    threshold: float,
    latencies: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """One row of the `predictions` table per row of `frame` (its columns become the features document)."""
    records = frame.to_dict(orient="records")
    latency = np.full(len(frame), np.nan) if latencies is None else latencies
    return [
        {
            "prediction_id": uuid.uuid4().hex,
            "requested_at": float(moment),
            "model_name": model_name,
            "model_version": version,
            "scenario": "test",
            "features": record,
            "probability": float(probability),
            "prediction": int(probability >= threshold),
            "latency_ms": None if np.isnan(delay) else float(delay),
        }
        for record, probability, moment, delay in zip(records, probabilities, times, latency, strict=True)
    ]


def write_rows(engine: Engine, rows: Sequence[Mapping[str, Any]], label_rows: Iterable[Mapping[str, Any]] = ()) -> None:
    labelled = list(label_rows)
    with engine.begin() as connection:
        if rows:
            connection.execute(insert(predictions), list(rows))
        if labelled:
            connection.execute(insert(labels), labelled)


def labels_for(rows: Sequence[Mapping[str, Any]], truth: Sequence[int], delay: float = 3600.0) -> list[dict[str, Any]]:
    return [
        {"prediction_id": row["prediction_id"], "label": int(label), "labelled_at": row["requested_at"] + delay}
        for row, label in zip(rows, truth, strict=True)
    ]


@dataclass
class ServedModel:
    """A registered version of the project's model with its reference profile, as training leaves it."""

    version: str
    model_name: str
    pipeline: Any
    profile: ReferenceProfile | None
    features: list[str]
    threshold: float

    def probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(frame[self.features])[:, 1], dtype=float)


def register_profiled_model(
    config: ProjectConfig, frame: pd.DataFrame, spec: FeatureSpec, *, with_profile: bool = True
) -> ServedModel:
    """A logistic regression on `frame`, registered (tests.support.models) and profiled like training does."""
    import mlflow.sklearn

    version = register_test_model(config, frame, spec)
    pipeline = mlflow.sklearn.load_model(f"models:/{version.name}/{version.version}")
    features = list(spec.inputs())
    threshold = 0.3  # register_test_model's
    positive = (frame[spec.target] == spec.positive_label).to_numpy()
    probabilities = np.asarray(pipeline.predict_proba(frame[features])[:, 1], dtype=float)
    profile = build_profile(
        frame[features], features, probabilities=probabilities, threshold=threshold, label_rate=float(positive.mean())
    )
    if with_profile:
        log_profile(tracking_client(config), str(version.run_id), profile)
    return ServedModel(str(version.version), version.name, pipeline, profile, features, threshold)


def shifted(frame: pd.DataFrame) -> pd.DataFrame:
    """The same customers, drifted: older, richer, and mostly students and retirees, contacted by phone."""
    drifted = frame.copy()
    drifted["age"] = drifted["age"] + 25
    drifted["balance"] = drifted["balance"] * 4 + 5000
    rng = np.random.default_rng(0)
    drifted["job"] = rng.choice(["student", "retired"], len(frame))
    drifted["contact"] = "telephone"
    return drifted


def log_traffic(
    engine: Engine,
    model: ServedModel,
    frame: pd.DataFrame,
    times: np.ndarray,
    *,
    target: str,
    positive_label: str,
    label_share: float = 0.6,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Score `frame` with the model, log one prediction per row at `times`, and labels for a share of them."""
    rng = np.random.default_rng(seed)
    rows = prediction_rows(
        frame[model.features],
        model.probabilities(frame),
        times,
        model_name=model.model_name,
        version=model.version,
        threshold=model.threshold,
        latencies=rng.gamma(2.0, 15.0, len(frame)),
    )
    truth = (frame[target] == positive_label).to_numpy(dtype=int)
    chosen = rng.random(len(frame)) < label_share
    write_rows(engine, rows, labels_for([r for r, c in zip(rows, chosen, strict=True) if c], truth[chosen]))
    return rows

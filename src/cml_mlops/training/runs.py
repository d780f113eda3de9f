"""MLflow runs of candidates: fit, choose a threshold and measure on validation, log; then the selected run's model.

Everything here runs inside an active parent run (see trainer.train).
"""

from __future__ import annotations

import importlib.metadata
import math
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.pipeline import Pipeline

from cml_mlops.config import TrainingSection
from cml_mlops.errors import CmlMlopsError
from cml_mlops.metrics import METRICS, best_threshold, compute_metrics
from cml_mlops.tracking import MODEL_ARTIFACT, TEST_SPLIT_ARTIFACT, VALIDATION_SPLIT_ARTIFACT, Tag
from cml_mlops.training.candidates import SKOPS_TRUSTED_TYPES, CandidateRun
from cml_mlops.training.splits import Splits

INPUT_EXAMPLE_ROWS = 5
# Pinned in the logged model's requirements: what loading and scoring it needs.
MODEL_PACKAGES = ("mlflow", "numpy", "pandas", "scikit-learn", "scipy", "skops")
INTEGER_HINT = "Hint: Inferred schema contains integer"


class TrainingError(CmlMlopsError):
    """A candidate could not be trained on the data as configured."""


@dataclass(frozen=True)
class CandidateSummary:
    """What one candidate run found: its threshold and metrics on the validation and test splits."""

    name: str
    estimator: str
    params: dict[str, Any]
    run_id: str
    run_name: str
    threshold: float
    validation: dict[str, float]
    test: dict[str, float]
    selected: bool = False


@dataclass(frozen=True)
class TrainingRows:
    """The split rows, the model's input columns and the 0/1 target of each split."""

    splits: Splits
    features: list[str]
    target: str
    positive_label: str

    def inputs(self, part: str) -> pd.DataFrame:
        return self.splits.parts()[part][self.features]

    def labels(self, part: str) -> np.ndarray:
        return (self.splits.parts()[part][self.target] == self.positive_label).to_numpy(dtype=int)


def select_best(summaries: Sequence[CandidateSummary], metric: str) -> CandidateSummary:
    """The run with the best validation `metric` (higher or lower as the metric says); the first one on ties.

    A run whose metric is undefined (NaN) ranks last. Test metrics are never looked at: they would leak the
    test split into the choice.
    """
    if not summaries:
        raise ValueError("no candidate runs to select from")
    sign = 1.0 if METRICS[metric].higher_is_better else -1.0

    def score(summary: CandidateSummary) -> float:
        value = summary.validation[metric]
        return -math.inf if math.isnan(value) else sign * value

    best = summaries[0]
    for summary in summaries[1:]:
        if score(summary) > score(best):
            best = summary
    return best


def track_candidate(
    candidate: CandidateRun,
    pipeline: Pipeline,
    rows: TrainingRows,
    settings: TrainingSection,
    *,
    tags: dict[str, str],
    params: dict[str, Any],
    dataset: Any,
) -> tuple[CandidateSummary, Pipeline]:
    """One nested run: fit on train, threshold on validation, metrics on validation and test, all logged."""
    run_tags = {**tags, Tag.CANDIDATE: candidate.name, Tag.SELECTED: "false"}
    with mlflow.start_run(run_name=candidate.run_name, nested=True, tags=run_tags) as run:
        mlflow.log_params(
            {
                **params,
                "candidate": candidate.name,
                "estimator": candidate.estimator,
                **{f"model.{key}": value for key, value in candidate.params.items()},
            }
        )
        mlflow.log_input(dataset, context="training")
        try:
            fitted = pipeline.fit(rows.inputs("train"), rows.labels("train"))
        except (ValueError, TypeError) as exc:
            raise TrainingError(f"candidate {candidate.run_name} could not be fitted: {exc}") from exc
        validation = positive_probability(fitted, rows.inputs("validation"))
        threshold = best_threshold(
            rows.labels("validation"),
            validation,
            objective=settings.threshold_objective,
            contact_budget=settings.contact_budget,
        )
        validation_metrics = compute_metrics(rows.labels("validation"), validation, threshold)
        test_metrics = compute_metrics(
            rows.labels("test"), positive_probability(fitted, rows.inputs("test")), threshold
        )
        # repr round-trips a float exactly: serving applies the very threshold the metrics were computed at.
        mlflow.set_tag(Tag.THRESHOLD, repr(threshold))
        mlflow.log_metrics(
            {"threshold": threshold, **prefixed("val", validation_metrics), **prefixed("test", test_metrics)}
        )
    summary = CandidateSummary(
        name=candidate.name,
        estimator=candidate.estimator,
        params=dict(candidate.params),
        run_id=run.info.run_id,
        run_name=candidate.run_name,
        threshold=threshold,
        validation=validation_metrics,
        test=test_metrics,
    )
    return summary, fitted


def log_selected(run_id: str, pipeline: Pipeline, rows: TrainingRows) -> None:
    """On the selected run: `cml_mlops.selected=true`, the validation and test rows, the model with its signature."""
    with mlflow.start_run(run_id=run_id, nested=True), tempfile.TemporaryDirectory() as scratch:
        mlflow.set_tag(Tag.SELECTED, "true")
        for artifact, part in ((VALIDATION_SPLIT_ARTIFACT, "validation"), (TEST_SPLIT_ARTIFACT, "test")):
            # Every column as read from the lake (target included): the gate re-scores exactly these rows.
            path = Path(scratch) / Path(artifact).name
            rows.splits.parts()[part].reset_index(drop=True).to_parquet(path, index=False)
            mlflow.log_artifact(str(path), artifact_path=str(Path(artifact).parent))
        inputs = rows.inputs("validation")
        with warnings.catch_warnings():
            # The contract's integer columns are never null, which is what MLflow's integer hint is about.
            warnings.filterwarnings("ignore", message=INTEGER_HINT)
            mlflow.sklearn.log_model(
                pipeline,
                name=MODEL_ARTIFACT,
                signature=infer_signature(inputs, pipeline.predict(inputs)),
                input_example=inputs.head(INPUT_EXAMPLE_ROWS).reset_index(drop=True),
                serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
                skops_trusted_types=trusted_types(pipeline),
                pip_requirements=model_requirements(),
            )


def trusted_types(pipeline: Pipeline) -> list[str]:
    """The reviewed types, plus those the project's own code put in the pipeline (derived features, models).

    The pipeline was built here from the project's config and code, so its types are the project's choice; skops
    still refuses, at load, any type that is not on this list (a tampered model file).
    """
    import skops.io

    found = skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))
    return sorted({*SKOPS_TRUSTED_TYPES, *found})


def model_requirements() -> list[str]:
    """What the logged model needs to load and score, pinned to the versions it was trained with.

    Stated rather than inferred: MLflow's inference loads the model in a subprocess (seconds per call) and
    picks up whatever else the training process had imported (pytest, rich...).
    """
    return [f"{name}=={importlib.metadata.version(name)}" for name in MODEL_PACKAGES]


def positive_probability(pipeline: Pipeline, inputs: pd.DataFrame) -> np.ndarray:
    return np.asarray(pipeline.predict_proba(inputs)[:, 1], dtype=float)


def prefixed(prefix: str, metrics: dict[str, float]) -> dict[str, float]:
    """`val_roc_auc`, `test_f1`...: the metric names runs log."""
    return {f"{prefix}_{name}": value for name, value in metrics.items()}

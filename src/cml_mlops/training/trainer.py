"""`train`: fit every candidate on one lake snapshot, track them in MLflow, select on validation, register.

One parent MLflow run per call, one nested run per grid combination. The selected run (best primary metric on the
validation split) gets the model, the validation and test splits as artifacts, and `cml_mlops.selected=true`;
it is then registered as a new version of the project's model.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from cml_mlops.batches.lineage import read_lineage
from cml_mlops.config import ProjectConfig
from cml_mlops.derived import DerivedFeatures, split_kinds
from cml_mlops.errors import ConfigError
from cml_mlops.features import FeatureSpec
from cml_mlops.lake import open_lake
from cml_mlops.leakage import check_inputs
from cml_mlops.monitoring.profile_store import log_training_profile
from cml_mlops.project import load_feature_spec
from cml_mlops.registry import register_run
from cml_mlops.tracking import Tag, configure_mlflow
from cml_mlops.training.candidates import CandidateRun, build_pipeline, expand_candidates
from cml_mlops.training.data import TrainingData, load_training_data, mlflow_dataset
from cml_mlops.training.row_parts import HISTORY, assign_parts, known_record, log_record
from cml_mlops.training.runs import (
    CandidateSummary,
    TrainingError,
    TrainingRows,
    log_selected,
    prefixed,
    select_best,
    track_candidate,
)

SELECTED_RUN_TAG = "cml_mlops.selected_run_id"  # on the parent run
UNKNOWN = "unknown"
# One native thread per pool (OpenMP in HistGradientBoosting, BLAS): spinning OpenMP threads slow fits down
# tenfold when the cores are shared (CI workers, a busy CML session); forests still use every core via joblib.
NATIVE_THREADS = 1


@dataclass(frozen=True)
class TrainingResult:
    """The outcome of one `train` call; `reports/training.json` holds it."""

    parent_run_id: str
    run_ids: list[str]
    selected_run_id: str
    model_name: str
    model_version: str
    primary_metric: str
    threshold: float
    table: str
    snapshot_id: int
    contract_version: str
    features: list[str]
    split: dict[str, Any]
    validation_metrics: dict[str, float]
    test_metrics: dict[str, float]
    candidates: list[CandidateSummary] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def selected(self) -> CandidateSummary:
        return next(candidate for candidate in self.candidates if candidate.run_id == self.selected_run_id)


@dataclass(frozen=True)
class TrainingPlan:
    """Everything checked before any MLflow run starts: data, rows, candidates and their unfitted pipelines."""

    data: TrainingData
    rows: TrainingRows
    negative_label: str
    candidates: list[CandidateRun]
    pipelines: list[Pipeline]
    record: pd.DataFrame  # row_key, part, source of every row split so far (see training.row_parts)


def plan_training(config: ProjectConfig, snapshot_id: int | None = None) -> TrainingPlan:
    """Read and validate the snapshot, split it, build every candidate's pipeline; raise on anything wrong.

    Rows an earlier version split keep their part, synthetic rows inherit the part of the row they were drawn
    from, and only unseen rows are split with the configured settings (see training.row_parts).
    """
    spec = load_feature_spec(config)
    data = load_training_data(config, snapshot_id)
    leakage = config.features.use_leakage_columns
    features = list(spec.inputs(use_leakage_columns=leakage))
    missing = [column for column in (*features, spec.target) if column not in data.frame.columns]
    if missing:
        raise ConfigError(f"{data.version} has no column {', '.join(missing)}: the features module and table disagree")
    settings = config.training
    known = known_record(config)
    with open_lake(config) as lake:
        lineage = read_lineage(lake, config.lake.table)
    splits, record = assign_parts(
        data.frame,
        known=known,
        lineage=lineage,
        new_source=f"increment@{data.snapshot_id}" if len(known) else HISTORY,
        target=spec.target,
        positive_label=spec.positive_label,
        strategy=settings.split.strategy,
        validation=settings.split.validation,
        test=settings.split.test,
        seed=settings.seed,
    )
    train_rows = splits.parts()["train"]
    derived = derived_frame(spec, train_rows[features])
    refuse_leakage(config, spec, pd.concat([train_rows, derived], axis=1), [*features, *derived.columns])
    candidates = expand_candidates(settings.candidates)
    derived_numeric, derived_categorical = split_kinds(derived)
    derive = spec.derive if len(derived.columns) else None  # no step when it derives nothing: faster scoring
    numeric = (*spec.numeric_inputs(use_leakage_columns=leakage), *derived_numeric)
    categorical = (*spec.categorical_inputs(use_leakage_columns=leakage), *derived_categorical)
    return TrainingPlan(
        data=data,
        rows=TrainingRows(splits, features, spec.target, spec.positive_label),
        negative_label=negative_label(data.frame[spec.target], spec.positive_label),
        candidates=candidates,
        pipelines=[
            build_pipeline(c, numeric=numeric, categorical=categorical, seed=settings.seed, derive=derive)
            for c in candidates
        ],
        record=record,
    )


def derived_frame(spec: FeatureSpec, inputs: pd.DataFrame) -> pd.DataFrame:
    """The project's derived columns on the training inputs (none without `derive`), fitted there as in a run."""
    if spec.derive is None:
        return pd.DataFrame(index=inputs.index)
    step = DerivedFeatures(spec.derive).fit(inputs)
    return step.transform(inputs)[step.columns_]


def refuse_leakage(config: ProjectConfig, spec: FeatureSpec, rows: pd.DataFrame, features: list[str]) -> None:
    """LeakageError when an input column not declared in LEAKAGE ranks the training rows' outcome too well.

    Declared leakage columns are inputs only under features.use_leakage_columns, a deliberate choice: not refused.
    """
    settings = config.features
    unknown = [name for name in settings.acknowledged_strong if name not in features]
    if unknown:
        raise ConfigError(
            f"features.acknowledged_strong: {', '.join(unknown)} is not a model input; inputs: {', '.join(features)}"
        )
    check_inputs(
        rows,
        features,
        target=spec.target,
        positive_label=spec.positive_label,
        ceiling=settings.leakage_ceiling,
        acknowledged=(*settings.acknowledged_strong, *spec.leakage),
    )


def train(
    config: ProjectConfig,
    *,
    snapshot_id: int | None = None,
    progress: bool = True,
    extra_tags: Mapping[str, str] | None = None,
) -> TrainingResult:
    """Train the configured candidates on a snapshot (default: current), select one on validation, register it.

    `extra_tags` go on every run next to training's own (retraining records its lineage there). Rows keep the
    parts earlier versions gave them (see plan_training).

    Bad input (contract, features, split, a grid value) stops the call before any MLflow run exists; nothing is
    registered unless every run finished.
    """
    started = time.perf_counter()
    plan = plan_training(config, snapshot_id)
    settings = config.training
    rows = plan.rows
    split_summary = rows.splits.summary(rows.target, rows.positive_label)
    tags = {
        Tag.TABLE: plan.data.table,
        Tag.SNAPSHOT: str(plan.data.snapshot_id),
        Tag.CONTRACT_VERSION: plan.data.contract_version,
        Tag.GIT_COMMIT: git_commit(config.root),
        Tag.SPLIT: rows.splits.strategy,
        Tag.TARGET: rows.target,
        Tag.POSITIVE_LABEL: rows.positive_label,
        Tag.NEGATIVE_LABEL: plan.negative_label,
        Tag.FEATURES: json.dumps(rows.features),
        **(plan.data.sample.tags() if plan.data.sample else {}),
        **(extra_tags or {}),
    }
    params = {
        "seed": settings.seed,
        "primary_metric": settings.primary_metric,
        "threshold_objective": settings.threshold_objective,
        "contact_budget": settings.contact_budget,
        "use_leakage_columns": config.features.use_leakage_columns,
        "data_version": plan.data.version,
        **{f"split.{key}": value for key, value in split_summary.items()},
    }
    dataset = mlflow_dataset(plan.data, rows.target)
    configure_mlflow(config)
    with (
        threadpool_limits(limits=NATIVE_THREADS),
        # Nested under a run the caller already has open (a notebook), else a run of its own.
        mlflow.start_run(run_name=f"train {plan.data.version}", tags=tags, nested=_run_is_active()) as parent,
    ):
        mlflow.log_params({**params, "candidate_runs": len(plan.candidates)})
        mlflow.log_input(dataset, context="training")
        bar = tqdm(
            zip(plan.candidates, plan.pipelines, strict=True),
            total=len(plan.candidates),
            desc="training candidates",
            unit="run",
            file=sys.stderr,
            disable=not progress,
            leave=False,
        )
        summaries: list[CandidateSummary] = []
        best_pipeline: Pipeline | None = None
        for candidate, pipeline in bar:
            bar.set_postfix_str(candidate.run_name)
            summary, fitted = track_candidate(
                candidate, pipeline, rows, settings, tags=tags, params=params, dataset=dataset
            )
            summaries.append(summary)
            # Keep only the best model so far in memory: a forest per candidate adds up.
            if select_best(summaries, settings.primary_metric) is summary:
                best_pipeline = fitted
        bar.close()
        best = select_best(summaries, settings.primary_metric)
        assert best_pipeline is not None  # expand_candidates never returns no candidate
        log_selected(best.run_id, best_pipeline, rows)
        with mlflow.start_run(run_id=best.run_id, nested=True):
            log_record(plan.record)
        # Monitoring's reference profile (feature and prediction distributions), logged with the selected run.
        log_training_profile(best.run_id, best_pipeline, rows, best.threshold)
        mlflow.set_tag(SELECTED_RUN_TAG, best.run_id)
        mlflow.log_metrics({**prefixed("val", best.validation), **prefixed("test", best.test)})
    version = register_run(config, best.run_id)
    return TrainingResult(
        parent_run_id=parent.info.run_id,
        run_ids=[s.run_id for s in summaries],
        selected_run_id=best.run_id,
        model_name=version.name,
        model_version=str(version.version),
        primary_metric=settings.primary_metric,
        threshold=best.threshold,
        table=plan.data.table,
        snapshot_id=plan.data.snapshot_id,
        contract_version=plan.data.contract_version,
        features=rows.features,
        split=split_summary,
        validation_metrics=best.validation,
        test_metrics=best.test,
        candidates=[dataclasses.replace(s, selected=s.run_id == best.run_id) for s in summaries],
        seconds=round(time.perf_counter() - started, 3),
    )


def git_commit(root: Path) -> str:
    """The commit checked out in the project's repository, or "unknown" (no git, or not a repository)."""
    try:
        found = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    commit = found.stdout.strip()
    return commit if found.returncode == 0 and commit else UNKNOWN


def negative_label(target: pd.Series, positive_label: str) -> str:
    """The one other label of a binary target; TrainingError for any other number of classes."""
    labels = sorted(str(value) for value in target.dropna().unique())
    others = [label for label in labels if label != positive_label]
    if positive_label not in labels or len(others) != 1:
        raise TrainingError(
            f"the target must have exactly two labels, {positive_label!r} (positive) and one other; found {labels[:10]}"
        )
    return others[0]


def _run_is_active() -> bool:
    return mlflow.active_run() is not None

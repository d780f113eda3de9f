"""Run the quality gate on a registered model version: evaluate, write and log the report, record the verdict.

Every check runs under `guarded`, so an error while evaluating one is that check's failure (with the error text),
never a silent pass. Only after the report is written and logged does the version get its tags; `challenger` is
set only on a pass, and a failure leaves every alias where it was.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient
from pandera.api.dataframe.model import DataFrameModel

from cml_mlops import leakage, registry
from cml_mlops.config import ProjectConfig
from cml_mlops.gates.checks import (
    BASELINE,
    CONTRACT,
    DATA,
    FLOOR,
    NON_INFERIORITY,
    SEGMENT,
    CheckResult,
    baseline_checks,
    error_result,
    floor_checks,
    guarded,
    input_contract_check,
    positive_rate,
    predictions_contract_check,
    prior_metrics,
    skipped,
)
from cml_mlops.gates.report import REPORT_FOLDER, GateReport
from cml_mlops.gates.segments import segment_checks
from cml_mlops.gates.sources import non_inferiority_check, overlap_check
from cml_mlops.metrics import compute_metrics
from cml_mlops.project import load_feature_spec, load_project_module
from cml_mlops.row_keys import row_keys
from cml_mlops.tracking import (
    CHALLENGER,
    CHAMPION,
    TEST_SPLIT_ARTIFACT,
    VALIDATION_SPLIT_ARTIFACT,
    LoadedModel,
    Tag,
    TrackingError,
    configure_mlflow,
    load_model_version,
)
from cml_mlops.training.row_parts import read_record, sources_of, version_record


def run_gate(config: ProjectConfig, *, version: str | int | None = None) -> GateReport:
    """Gate a version (default: the newest); write reports/gate/gate-v<N>.{json,md}, log them, tag the version."""
    client = configure_mlflow(config)
    challenger = load_model_version(config, version=version)
    report = evaluate(config, client, challenger)
    report.report_uri = f"runs:/{challenger.run_id}/{REPORT_FOLDER}/{report.stem}.json"
    paths = report.write(config.path(config.reports.dir) / REPORT_FOLDER)
    for path in paths:
        client.log_artifact(challenger.run_id, str(path), artifact_path=REPORT_FOLDER)
    registry.set_gate_record(config, challenger.version, report.passed, report.report_uri)
    if report.passed:
        registry.set_alias(config, challenger.version, CHALLENGER)
    return report


def evaluate(config: ProjectConfig, client: MlflowClient, challenger: LoadedModel) -> GateReport:
    """Every check of `config.gates` on the challenger's test split; nothing is written."""
    champion = registry.alias_version(config, CHAMPION)
    report = GateReport(
        model_name=challenger.name,
        version=challenger.version,
        run_id=challenger.run_id,
        champion_version=str(champion.version) if champion else None,
        test_rows=0,
        threshold=challenger.threshold,
        checks=[],
        generated_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        settings=config.gates.model_dump(mode="json"),
    )
    try:
        target = _target(config, client, challenger)
        test = read_split(challenger, TEST_SPLIT_ARTIFACT)
        y = _outcomes(test, target, challenger.positive_label)
        probability = challenger.predict_proba(test)
    except Exception as exc:  # no scored test rows: the gate fails and says why
        report.checks = [error_result(DATA, "test split scored", exc)]
        return report
    report.test_rows = len(test)
    report.checks = [
        CheckResult(DATA, "test split scored", "passed", value=float(len(test)),
                    detail=f"{len(test)} rows of {TEST_SPLIT_ARTIFACT}, {int(y.sum())} positive"),
        *_checks(config, challenger, report.champion_version, target, test, y, probability),
    ]  # fmt: skip
    return report


def _checks(
    config: ProjectConfig,
    challenger: LoadedModel,
    champion_version: str | None,
    target: str,
    test: pd.DataFrame,
    y: np.ndarray,
    probability: np.ndarray,
) -> list[CheckResult]:
    gates = config.gates
    metrics = functools.cache(lambda: compute_metrics(y, probability, challenger.threshold))

    def baseline() -> list[CheckResult]:
        prior = positive_rate(read_split(challenger, VALIDATION_SPLIT_ARTIFACT), target, challenger.positive_label)
        return baseline_checks(metrics(), prior_metrics(y, prior), gates.baseline_margin, prior)

    def non_inferiority() -> list[CheckResult]:
        if champion_version is None:
            return [skipped(NON_INFERIORITY, "vs champion", "skipped: no champion")]
        champion = load_model_version(config, version=champion_version)
        unseen = overlap_check(row_keys(test), version_record(config, champion.run_id), champion.version)
        record = read_record(challenger.run_id)
        check = non_inferiority_check(
            y,
            probability,
            champion.predict_proba(test),
            sources=None if record is None else sources_of(test, record).to_numpy(),
            thresholds=(challenger.threshold, champion.threshold),
            settings=gates.non_inferiority,
            seed=config.training.seed,
            champion_version=champion.version,
        )
        own = _own_test_score(champion, target, gates.non_inferiority.metric)
        return [unseen, dataclasses.replace(check, data={**check.data, "champion_own_test": own})]

    generated: list[pd.DataFrame] = []  # predictions on contract-generated rows, for the predictions contract

    def inputs() -> list[CheckResult]:
        check, predictions = input_contract_check(challenger.predict, _raw_record(config), seed=config.training.seed)
        if predictions is not None:
            generated.append(predictions)
        return [check]

    def outputs() -> list[CheckResult]:
        predictions = pd.concat([challenger.predict(test), *generated], ignore_index=True)
        return [predictions_contract_check(predictions, challenger.positive_label, challenger.negative_label)]

    return [
        *guarded(FLOOR, "floors", lambda: floor_checks(metrics(), gates.floors)),
        *guarded(BASELINE, "dummy baseline", baseline),
        *guarded(NON_INFERIORITY, "vs champion", non_inferiority),
        *guarded(SEGMENT, "segments", lambda: segment_checks(test, y, probability, challenger.threshold,
                                                             gates.segments)),
        *guarded(leakage.GATE_KIND, "no undeclared leakage", lambda: [leakage.gate_check(
            challenger, test, target=target, declared=load_feature_spec(config).leakage, settings=config.features)]),
        *guarded(CONTRACT, "accepts contract rows", inputs),
        *guarded(CONTRACT, "output passes the predictions contract", outputs),
    ]  # fmt: skip


def _own_test_score(champion: LoadedModel, target: str, metric: str) -> dict[str, Any]:
    """The champion on its own original test split: what it scored when it was gated, for the side-by-side table."""
    own = read_split(champion, TEST_SPLIT_ARTIFACT)
    labels = _outcomes(own, target, champion.positive_label)
    value = compute_metrics(labels, champion.predict_proba(own), champion.threshold)[metric]
    return {"version": champion.version, "rows": len(own), "positives": int(labels.sum()), metric: value}


def read_split(model: LoadedModel, artifact: str) -> pd.DataFrame:
    """A split the training run logged (raw feature columns + target); TrackingError naming it when absent."""
    with tempfile.TemporaryDirectory() as scratch:
        try:
            path = mlflow.artifacts.download_artifacts(run_id=model.run_id, artifact_path=artifact, dst_path=scratch)
            return pd.read_parquet(Path(path))
        except Exception as exc:  # MLflow raises several types for a missing artifact
            raise TrackingError(
                f"model {model.name} version {model.version}: cannot read {artifact} from its training run "
                f"{model.run_id} ({type(exc).__name__}: {exc}); the gate scores the rows training held out, "
                "so retrain with `cml-mlops train`"
            ) from None


def _target(config: ProjectConfig, client: MlflowClient, model: LoadedModel) -> str:
    tags: dict[str, Any] = client.get_run(model.run_id).data.tags
    return str(tags.get(Tag.TARGET) or load_feature_spec(config).target)


def _outcomes(frame: pd.DataFrame, target: str, positive_label: str) -> np.ndarray:
    if target not in frame.columns:
        raise ValueError(f"the test split has no target column {target!r}")
    return (frame[target].astype(str) == positive_label).to_numpy().astype(int)


def _raw_record(config: ProjectConfig) -> type[DataFrameModel]:
    contracts = load_project_module(config, "contracts")
    record = getattr(contracts, "RawRecord", None)
    if not (isinstance(record, type) and issubclass(record, DataFrameModel)):
        raise TypeError(f"{contracts.__name__}.RawRecord must be a pandera DataFrameModel (the feature contract)")
    return record

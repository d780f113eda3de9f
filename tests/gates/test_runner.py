"""run_gate on registered models: verdicts, the report in MLflow, tags and aliases (real MLflow on SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from cml_mlops import registry
from cml_mlops.config import ProjectConfig
from cml_mlops.features import FeatureSpec
from cml_mlops.gates import GateReport, run_gate
from cml_mlops.tracking import CHALLENGER, CHAMPION, GATE_REPORT, VALIDATION_STATUS, configure_mlflow
from tests.gates.conftest import set_gates
from tests.gates.helpers import Overconfident, RefusesLargeBalances, fitted_pipeline, register_estimator
from tests.steps.conftest import project_config
from tests.support.models import register_test_model

STRONG_FEATURES = ("poutcome", "month", "contact", "pdays")


def statuses(report: GateReport) -> dict[str, set[str]]:
    """Check kind -> the statuses its checks ended with."""
    found: dict[str, set[str]] = {}
    for check in report.checks:
        found.setdefault(check.kind, set()).add(check.status)
    return found


def version_tags(config: ProjectConfig, version: str) -> dict[str, str]:
    return dict(registry.get_version(config, version).tags or {})


def aliases(config: ProjectConfig) -> dict[str, str]:
    client: MlflowClient = configure_mlflow(config)
    return {alias: str(v) for alias, v in client.get_registered_model(config.tracking.model_name).aliases.items()}


@pytest.mark.slow  # registers with MLflow's requirement inference (~6 s a model)
def test_a_first_model_passes_without_a_champion_then_ties_with_itself(
    config: ProjectConfig, frame: pd.DataFrame, spec: FeatureSpec
) -> None:
    version = register_test_model(config, frame, spec)
    report = run_gate(config)  # the newest version
    assert report.passed, report.to_markdown()
    assert report.version == "1" and report.champion_version is None
    assert statuses(report) == {
        "data": {"passed"},
        "floor": {"passed"},
        "baseline": {"passed"},
        "non_inferiority": {"skipped"},
        "segment": {"passed", "skipped"},
        "leakage": {"passed"},
        "contract": {"passed"},
    }
    [non_inferiority] = [check for check in report.checks if check.kind == "non_inferiority"]
    assert non_inferiority.detail == "skipped: no champion"
    # Reports on disk and in the run; the version points at the logged JSON.
    folder = config.path(config.reports.dir) / "gate"
    assert json.loads((folder / "gate-v1.json").read_text())["passed"] is True
    assert (folder / "gate-v1.md").read_text().startswith("## Quality gate: PASS")
    tags = version_tags(config, "1")
    assert tags[VALIDATION_STATUS] == "passed"
    assert tags[GATE_REPORT] == f"runs:/{version.run_id}/gate/gate-v1.json"
    logged = Path(mlflow.artifacts.download_artifacts(tags[GATE_REPORT]))
    assert json.loads(logged.read_text())["version"] == "1"
    client = configure_mlflow(config)
    assert {a.path for a in client.list_artifacts(version.run_id, "gate")} == {"gate/gate-v1.json", "gate/gate-v1.md"}
    assert aliases(config) == {CHALLENGER: "1"}

    # Deployed, it is the champion: gated against itself it is not inferior (difference exactly 0).
    registry.set_alias(config, "1", CHAMPION)
    again = run_gate(config, version="1")
    assert again.passed and again.champion_version == "1"
    [check] = [check for check in again.checks if check.kind == "non_inferiority"]
    assert check.status == "passed" and check.data["difference"] == 0 and check.data["lower"] == 0


@pytest.mark.slow  # registers with MLflow's requirement inference (~6 s a model)
def test_degraded_models_fail_and_leave_the_aliases_alone(
    config: ProjectConfig, frame: pd.DataFrame, spec: FeatureSpec
) -> None:
    register_test_model(config, frame, spec)
    assert run_gate(config).passed
    registry.set_alias(config, "1", CHAMPION)
    before = aliases(config)

    shuffled = register_test_model(config, frame, spec, shuffle_labels=True)
    report = run_gate(config, version=shuffled.version)
    found = statuses(report)
    assert not report.passed
    assert found["floor"] == found["baseline"] == found["non_inferiority"] == {"failed"}

    weaker = register_test_model(config, frame, spec, drop=STRONG_FEATURES)
    report = run_gate(config, version=weaker.version)
    assert not report.passed and statuses(report)["non_inferiority"] == {"failed"}
    [check] = [check for check in report.checks if check.kind == "non_inferiority"]
    assert check.data["lower"] < -config.gates.non_inferiority.margin

    assert aliases(config) == before == {CHALLENGER: "1", CHAMPION: "1"}
    for version in (shuffled.version, weaker.version):
        assert version_tags(config, version)[VALIDATION_STATUS] == "failed"


def test_output_outside_the_predictions_contract_fails(
    config: ProjectConfig, frame: pd.DataFrame, spec: FeatureSpec
) -> None:
    register_estimator(config, Overconfident(fitted_pipeline(frame, spec)), frame, spec)
    report = run_gate(config)
    contract = {check.name: check for check in report.checks if check.kind == "contract"}
    assert contract["accepts RawRecord rows"].status == "passed"
    output = contract["output passes Predictions 1.0.0"]
    assert output.failed and "probability: in_range" in output.detail
    assert not report.passed and version_tags(config, "1")[VALIDATION_STATUS] == "failed"
    assert aliases(config) == {}


def test_a_model_that_refuses_contract_valid_rows_fails(
    config: ProjectConfig, frame: pd.DataFrame, spec: FeatureSpec
) -> None:
    register_estimator(config, RefusesLargeBalances(fitted_pipeline(frame, spec)), frame, spec)
    report = run_gate(config)
    [inputs] = [check for check in report.checks if check.name == "accepts RawRecord rows"]
    assert inputs.failed and "balance out of the range seen in training" in inputs.detail
    assert statuses(report)["floor"] == {"passed"}  # the held-out rows score fine: only (e) catches it
    assert not report.passed


def test_a_missing_test_split_fails_the_gate_and_says_why(
    config: ProjectConfig, frame: pd.DataFrame, spec: FeatureSpec
) -> None:
    register_estimator(config, fitted_pipeline(frame, spec), frame, spec, splits=False)
    report = run_gate(config)
    [check] = report.checks
    assert check.failed and check.kind == "data"
    assert "cannot read splits/test.parquet" in check.detail and "retrain" in check.detail
    assert version_tags(config, "1")[VALIDATION_STATUS] == "failed"


def test_a_broken_check_setting_fails_that_check_not_silently(
    project: Path, frame: pd.DataFrame, spec: FeatureSpec
) -> None:
    set_gates(project, non_inferiority={"metric": "auc"}, segments={"columns": ["region"]})
    config = project_config(project)
    register_estimator(config, fitted_pipeline(frame, spec), frame, spec)
    registry.set_alias(config, "1", CHAMPION)
    report = run_gate(config)
    failed = {check.kind: check.detail for check in report.failed_checks}
    assert set(failed) == {"non_inferiority", "segment"}
    assert "unknown metric 'auc'" in failed["non_inferiority"]
    assert "segment column 'region'" in failed["segment"]
    assert aliases(config) == {CHAMPION: "1"}

"""`cml-mlops gate`: prints the Markdown summary, exits 0 on a pass and 1 on a failure (after writing everything)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner, Result

from cml_mlops import registry
from cml_mlops.cli_support import CliState
from cml_mlops.config import ProjectConfig
from cml_mlops.features import FeatureSpec
from cml_mlops.gates.command import gate
from cml_mlops.tracking import CHALLENGER, VALIDATION_STATUS, configure_mlflow
from tests.gates.helpers import Overconfident, fitted_pipeline, register_estimator


def run(project: Path, *args: str) -> Result:
    return CliRunner().invoke(gate, list(args), obj=CliState(project_dir=project))


def test_a_passing_gate_prints_the_summary_and_exits_0(
    project: Path, config: ProjectConfig, frame: pd.DataFrame, spec: FeatureSpec
) -> None:
    register_estimator(config, fitted_pipeline(frame, spec), frame, spec)
    result = run(project)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("## Quality gate: PASS - bank-marketing-classifier v1")
    assert "| floor | roc_auc | roc_auc |" in result.stdout and "skipped: no champion" in result.stdout
    assert "version 1 is the challenger" in result.stdout
    assert registry.alias_version(config, CHALLENGER) is not None


def test_a_failing_gate_exits_1_after_writing_reports_and_tags(
    project: Path, config: ProjectConfig, frame: pd.DataFrame, spec: FeatureSpec
) -> None:
    register_estimator(config, fitted_pipeline(frame, spec), frame, spec)
    register_estimator(config, Overconfident(fitted_pipeline(frame, spec)), frame, spec)
    result = run(project, "--version", "2")
    assert result.exit_code == 1
    assert result.stdout.startswith("## Quality gate: FAIL - bank-marketing-classifier v2")
    assert "quality gate FAILED for bank-marketing-classifier version 2" in result.stderr
    assert "contract: output passes Predictions 1.0.0" in result.stderr
    assert (project / "reports" / "gate" / "gate-v2.md").is_file()
    assert (registry.get_version(config, "2").tags or {})[VALIDATION_STATUS] == "failed"
    assert registry.alias_version(config, CHALLENGER) is None


def test_no_model_or_an_unknown_version_exits_1_with_a_clear_message(project: Path, config: ProjectConfig) -> None:
    configure_mlflow(config)
    result = run(project)
    assert result.exit_code == 1
    assert "has no registered version yet: run `cml-mlops train` first" in result.stderr
    assert not (project / "reports" / "gate").exists()
    result = run(project, "--version", "7")
    assert result.exit_code == 1 and "has no version 7" in result.stderr

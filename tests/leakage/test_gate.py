"""The gate fails closed on leakage: a model with an undeclared input above the ceiling is no challenger."""

from __future__ import annotations

from pathlib import Path

import pytest

from cml_mlops.gates import run_gate
from tests.steps.conftest import loaded_project, project_config
from tests.training.conftest import ONE_CANDIDATE, configure, run_training
from tests.training.test_train_leakage import undeclare_duration

__all__ = ["loaded_project"]


def test_the_gate_fails_a_model_trained_on_a_column_no_longer_acknowledged(
    loaded_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(loaded_project, candidates=ONE_CANDIDATE, features={"acknowledged_strong": ["duration"]})
    undeclare_duration(loaded_project, monkeypatch)
    version = run_training(loaded_project).model_version
    acknowledged = run_gate(project_config(loaded_project), version=version)
    assert [c.status for c in acknowledged.checks if c.kind == "leakage"] == ["passed"]
    # The acknowledgement withdrawn: the same model fails the gate, naming the column and its AUC on the test split.
    configure(loaded_project, features={"leakage_ceiling": 0.75})
    config = project_config(loaded_project)
    report = run_gate(config, version=version)
    (check,) = [c for c in report.checks if c.kind == "leakage"]
    assert check.failed and not report.passed
    assert check.value is not None and check.value > 0.75
    assert f"'duration' (univariate ROC AUC {check.value:.3f})" in check.detail
    assert set(check.data["suspects"]) == {"duration"}

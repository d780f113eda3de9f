"""`train` fails closed on leakage: an undeclared input column above the ceiling stops it before any run."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from cml_mlops.errors import ConfigError
from cml_mlops.leakage import LeakageError
from cml_mlops.tracking import configure_mlflow
from tests.steps.conftest import Invoke, project_config
from tests.training.conftest import ONE_CANDIDATE, configure, run_training

LEAKAGE_LINE = re.compile(r'^LEAKAGE: tuple\[str, \.\.\.\] = \("duration",\)$', re.MULTILINE)


def undeclare_duration(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    contracts = project / "src" / "bank_marketing" / "contracts.py"
    text, replaced = LEAKAGE_LINE.subn("LEAKAGE: tuple[str, ...] = ()", contracts.read_text(encoding="utf-8"))
    assert replaced == 1
    contracts.write_text(text, encoding="utf-8")
    use_project_modules(project, "bank_marketing", monkeypatch)


def use_project_modules(project: Path, package: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process commands imported a project package already (maybe another test's): import this one afresh."""
    monkeypatch.syspath_prepend(str(project / "src"))
    for name in [name for name in sys.modules if name.split(".")[0] == package]:
        monkeypatch.delitem(sys.modules, name)


def registered_versions(project: Path) -> int:
    client: MlflowClient = configure_mlflow(project_config(project))
    return len(client.search_model_versions())


def test_train_refuses_an_undeclared_leaking_column_and_registers_nothing(
    loaded_project: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(loaded_project, candidates=ONE_CANDIDATE)
    undeclare_duration(loaded_project, monkeypatch)
    result = invoke("train", "--no-progress")
    assert result.exit_code != 0
    assert re.search(r"'duration' \(univariate ROC AUC 0\.8\d\d\)", result.output), result.output
    assert "LEAKAGE" in result.output and "acknowledged_strong" in result.output
    assert registered_versions(loaded_project) == 0


def test_an_acknowledged_strong_column_is_trained_on(loaded_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(loaded_project, candidates=ONE_CANDIDATE, features={"acknowledged_strong": ["duration"]})
    undeclare_duration(loaded_project, monkeypatch)
    assert "duration" in run_training(loaded_project).features


def test_acknowledging_a_column_that_is_no_input_is_a_config_error(loaded_project: Path) -> None:
    configure(loaded_project, candidates=ONE_CANDIDATE, features={"acknowledged_strong": ["durration"]})
    with pytest.raises(ConfigError, match="durration is not a model input"):
        run_training(loaded_project)


def test_a_lower_ceiling_refuses_more(loaded_project: Path) -> None:
    configure(loaded_project, candidates=ONE_CANDIDATE, features={"leakage_ceiling": 0.5})
    with pytest.raises(LeakageError, match=r"above the leakage ceiling 0\.50"):
        run_training(loaded_project)

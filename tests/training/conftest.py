"""Fixtures for the training tests: bank.csv typed by the contract, and loaded projects with tiny candidate grids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cml_mlops.training import TrainingResult, train
from tests.steps.conftest import invoke, loaded_project, project_config  # noqa: F401 - fixtures for this folder

# Two fast candidates (a few tenths of a second each on bank.csv): enough to exercise selection.
TINY_CANDIDATES: dict[str, Any] = {
    "logistic_regression": {"estimator": "logistic_regression", "grid": {"C": [0.01, 1.0]}},
    "hist_gradient_boosting": {
        "estimator": "hist_gradient_boosting",
        "grid": {"max_iter": [30], "max_leaf_nodes": [7]},
    },
}
ONE_CANDIDATE: dict[str, Any] = {"logistic_regression": {"estimator": "logistic_regression", "grid": {"C": [1.0]}}}


def configure(project: Path, *, candidates: dict[str, Any] | None = None, **settings: Any) -> Path:
    """Rewrite the project's `training` section (and `features` via features=...) in cml-mlops.yaml."""
    path = project / "cml-mlops.yaml"
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "features" in settings:
        content["features"] = settings.pop("features")
    training = content.setdefault("training", {})
    if candidates is not None:
        training["candidates"] = candidates
    training.update(settings)
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return project


def run_training(project: Path, snapshot_id: int | None = None) -> TrainingResult:
    return train(project_config(project), snapshot_id=snapshot_id, progress=False)


@pytest.fixture
def tiny_project(loaded_project: Path) -> Path:  # noqa: F811 - the fixture imported above
    """The loaded bank.csv project with two tiny candidates."""
    return configure(loaded_project, candidates=TINY_CANDIDATES)

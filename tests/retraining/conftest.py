"""Retraining starts from a loaded bank.csv project with a trained, gated champion (one fast candidate)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cml_mlops.config import ProjectConfig
from cml_mlops.gates import run_gate
from cml_mlops.registry import set_alias
from cml_mlops.tracking import CHAMPION
from cml_mlops.training import train
from tests.gates.conftest import TEST_FLOOR, TEST_SEGMENT_FLOOR, set_gates
from tests.steps.conftest import invoke, loaded_project, project_config  # noqa: F401 - fixtures for this folder
from tests.training.conftest import ONE_CANDIDATE, configure


def fit_for_tests(project: Path) -> Path:
    """One logistic regression (about a second on bank.csv), and gate floors fit for it (see tests/gates)."""
    configure(project, candidates=ONE_CANDIDATE)
    segments = yaml.safe_load((project / "cml-mlops.yaml").read_text(encoding="utf-8"))["gates"]["segments"]
    set_gates(
        project,
        floors={"roc_auc": TEST_FLOOR},
        segments={**segments, "floors": {"roc_auc": TEST_SEGMENT_FLOOR}},
        # A wide margin: ~740 test rows give a wide interval (the tests are about the chain, not the statistics).
        non_inferiority={"metric": "roc_auc", "margin": 0.05, "confidence": 0.95, "bootstrap_samples": 200},
    )
    return project


def train_gated_version(config: ProjectConfig) -> str:
    """Train and gate a version the way `cml-mlops train` and `cml-mlops gate` do; it must pass."""
    result = train(config, progress=False)
    report = run_gate(config, version=result.model_version)
    assert report.passed, report.to_markdown()
    return result.model_version


@pytest.fixture
def project(loaded_project: Path) -> Path:  # noqa: F811 - the fixture imported above
    return fit_for_tests(loaded_project)


@pytest.fixture
def config(project: Path) -> ProjectConfig:
    return project_config(project)


@pytest.fixture
def champion(config: ProjectConfig) -> str:
    """Version 1, trained and gated, with the `champion` alias a successful deploy gives it."""
    version = train_gated_version(config)
    set_alias(config, version, CHAMPION)
    return version

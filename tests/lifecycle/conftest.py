"""Lifecycle tests: a loaded bank.csv project with one fast candidate, a serving port and key; no server survives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cml_mlops.config import ProjectConfig
from tests.retraining.conftest import fit_for_tests
from tests.serving.helpers import kill_servers, project_config, run_cli, serving_env
from tests.steps.conftest import invoke, loaded_project  # noqa: F401 - fixtures for this folder


@pytest.fixture
def project(loaded_project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:  # noqa: F811
    serving_env(monkeypatch)
    try:
        yield fit_for_tests(loaded_project)
    finally:
        run_cli(loaded_project, "undeploy")
        kill_servers(loaded_project)


@pytest.fixture
def config(project: Path) -> ProjectConfig:
    """The project's config with this test's environment (serving port and key)."""
    return project_config(project)

"""Lifecycle tests: a loaded bank.csv project with one fast candidate, a serving port and key; no server survives."""

from __future__ import annotations

import subprocess
import sys
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
    fit_for_tests(loaded_project)
    # MLflow creates its SQLite store in a process of its own: alembic's context is process-global, and under
    # xdist this worker may still run another test's threads (seen as NoSuchTableError in MLflow's migrations).
    subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; from cml_mlops.config import load_config; "
         "from cml_mlops.tracking import configure_mlflow; configure_mlflow(load_config(Path(sys.argv[1])))",
         str(loaded_project)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    try:
        yield loaded_project
    finally:
        run_cli(loaded_project, "undeploy")
        kill_servers(loaded_project)


@pytest.fixture
def config(project: Path) -> ProjectConfig:
    """The project's config with this test's environment (serving port and key)."""
    return project_config(project)

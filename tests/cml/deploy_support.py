"""Shared by the CML deploy tests: a project with gated model versions, an emulator that serves them, the CLI.

The project (bank.csv in its lake, two gated test models) is made once per session: registering models is the
slow part. Each test gets its own emulator (the CML side starts empty); the MLflow side is shared, so tests
name the version they deploy and read the `champion` alias before they compare it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cml_mlops.cli import cli
from cml_mlops.cml.deployments import version_from_comment
from cml_mlops.cml.emulator import CmlEmulator, EmulatorState, Faults
from cml_mlops.cml.emulator.model_service import ScorerLoader, project_loader
from cml_mlops.config import ProjectConfig, load_config
from tests.cml.conftest import API_KEY, PROJECT, RUNTIME
from tests.conftest import BANK_SAMPLE_SHA256, bake


class CmlProject:
    """The session's project and its two gated versions (`v1`, `v2`)."""

    def __init__(self, root: Path, v1: str, v2: str) -> None:
        self.root, self.v1, self.v2 = root, v1, v2

    def config(self) -> ProjectConfig:
        return load_config(self.root)


@pytest.fixture(scope="session")
def cml_project(tmp_path_factory: pytest.TempPathFactory, bank_zip: Path) -> CmlProject:
    from tests.serving.helpers import gated_version  # MLflow and the lake: imported only by the tests that deploy

    root = bake(tmp_path_factory.mktemp("cml-deploy"), dataset_member="bank.csv", dataset_sha256=BANK_SAMPLE_SHA256)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CML_MLOPS_DATA_URL", bank_zip.as_uri())
        patch.delenv("CML_MLOPS_PROFILE", raising=False)
        for args in (["ingest", "--no-progress"], ["lake", "load"]):
            result = CliRunner().invoke(cli, ["--project-dir", str(root), *args], catch_exceptions=False)
            assert result.exit_code == 0, result.output
        config = load_config(root)
        v1 = str(gated_version(config).version)
        v2 = str(gated_version(config, seed=1).version)
    return CmlProject(root, v1, v2)


@pytest.fixture(scope="session")
def model_loader(cml_project: CmlProject) -> ScorerLoader:
    """One loader for the session: each MLflow model is loaded once, whichever emulator serves it."""
    return project_loader(cml_project.root)


@pytest.fixture
def cml(
    cml_project: CmlProject, model_loader: ScorerLoader, faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CmlEmulator]:
    """A fresh emulated workspace with its model service, and the environment pointing the project at it."""
    state = EmulatorState(step_seconds=0, faults=faults, project_id=PROJECT)
    with CmlEmulator(state, api_key=API_KEY, model_loader=model_loader) as emulator:
        point_at(monkeypatch, emulator)
        yield emulator


def point_at(monkeypatch: pytest.MonkeyPatch, emulator: CmlEmulator | str, **settings: str) -> None:
    """CML settings for the project: the emulator (or its URL), project and key, no waiting between polls."""
    for name in ("CDSW_API_URL", "CDSW_DOMAIN", "CDSW_PROJECT_ID", "CML_MLOPS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CDSW_APIV2_KEY", API_KEY)
    environment = {
        "workspace_url": emulator if isinstance(emulator, str) else emulator.url,
        "project_id": PROJECT,
        "runtime_identifier": RUNTIME,
        "poll_interval_seconds": "0",
        "poll_max_interval_seconds": "0",
        # The first call of a script-built model starts its replica (imports, model load): on a busy machine
        # that can pass the 30 s default, and a retried smoke test would change the requests the tests count.
        "request_timeout_seconds": "180",
        **settings,
    }
    for field, value in environment.items():
        monkeypatch.setenv(f"CML_MLOPS_CML_{field.upper()}", value)


def run(project: CmlProject, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--project-dir", str(project.root), *args], catch_exceptions=False)


def deploy(project: CmlProject, version: str) -> Result:
    return run(project, "deploy", "--target", "cml", "--version", version)


def deployments(emulator: CmlEmulator) -> list[dict[str, Any]]:
    """Every deployment, oldest first, with the MLflow version its build serves (statuses as they are now)."""
    state = emulator.state
    with state.lock:
        listed = sorted(state.deployments.values(), key=lambda d: d["created_at"])
        return [
            {**d, "version": version_from_comment(state.builds[d["build_id"]]["comment"])}
            for d in listed
            if d["build_id"] in state.builds
        ]


def serving(emulator: CmlEmulator) -> list[str]:
    """The MLflow versions of the deployments in status `deployed`."""
    return [str(d["version"]) for d in deployments(emulator) if d["status"] == "deployed"]


def active(emulator: CmlEmulator) -> list[dict[str, Any]]:
    return [d for d in deployments(emulator) if d["status"] in ("pending", "deploying", "deployed")]


def inventory(emulator: CmlEmulator) -> dict[str, Any]:
    """Counts of every kind of object in the emulated workspace, and the build statuses."""
    state = emulator.state
    with state.lock:
        return {
            "registered_models": len(state.registered),
            "registry_versions": sum(len(v) for v in state.versions.values()),
            "models": len(state.models),
            "builds": sorted(b["status"] for b in state.builds.values()),
            "deployments": len(state.deployments),
        }

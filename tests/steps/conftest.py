"""A fresh default project with the bank.csv sample fetched and loaded: the starting point of the step tests."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cml_mlops.cli import cli
from cml_mlops.config import ProjectConfig, load_config
from cml_mlops.lake import open_lake
from tests.conftest import BANK_SAMPLE_SHA256, bake

Invoke = Callable[..., Result]


@pytest.fixture
def loaded_project(tmp_path: Path, bank_zip: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose data is bank.csv (4,521 rows), fetched and loaded into its lake."""
    project = bake(tmp_path, dataset_member="bank.csv", dataset_sha256=BANK_SAMPLE_SHA256)
    monkeypatch.setenv("CML_MLOPS_DATA_URL", bank_zip.as_uri())
    monkeypatch.delenv("CML_MLOPS_PROFILE", raising=False)
    runner = CliRunner()
    for args in (["ingest", "--no-progress"], ["lake", "load"]):
        result = runner.invoke(cli, ["--project-dir", str(project), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return project


@pytest.fixture
def invoke(loaded_project: Path) -> Invoke:
    """Run `cml-mlops ARGS` in the loaded project, in process; exceptions other than exits propagate."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--project-dir", str(loaded_project), *args], catch_exceptions=False)

    return run


def project_config(project: Path) -> ProjectConfig:
    return load_config(project, environ={})


def current_snapshot_id(project: Path) -> int | None:
    config = project_config(project)
    with open_lake(config) as lake:
        snapshot = lake.current_snapshot(config.lake.table)
    return None if snapshot is None else snapshot.snapshot_id


def write_sample_csv(bank_zip: Path, target: Path) -> Path:
    with zipfile.ZipFile(bank_zip) as archive, archive.open("bank.csv") as source, target.open("wb") as out:
        shutil.copyfileobj(source, out)
    return target

"""A project serving a registered model locally (bank.csv in its lake), shared by a module's simulation tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cml_mlops.config import ProjectConfig, load_config
from tests.conftest import BANK_SAMPLE_SHA256, bake
from tests.lake.conftest import postgres_catalog_uri  # noqa: F401 - what postgres_url builds on
from tests.monitoring.store.conftest import postgres_url  # noqa: F401 - a fresh PostgreSQL database per test
from tests.serving.helpers import gated_version, kill_servers, run_cli, serving_env
from tests.steps.conftest import current_snapshot_id


@dataclass(frozen=True)
class Served:
    project: Path
    version: str

    def config(self) -> ProjectConfig:
        return load_config(self.project)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, bank_zip: Path) -> Iterator[Served]:
    """bank.csv fetched and loaded, a logistic regression registered (gate passed) and served by `deploy`."""
    project = bake(tmp_path_factory.mktemp("simulation"), dataset_member="bank.csv", dataset_sha256=BANK_SAMPLE_SHA256)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CML_MLOPS_DATA_URL", bank_zip.as_uri())
        patch.delenv("CML_MLOPS_PROFILE", raising=False)
        patch.delenv("CML_MLOPS_MONITORING_DSN", raising=False)
        serving_env(patch)
        try:
            for args in (["ingest", "--no-progress"], ["lake", "load"]):
                result = run_cli(project, *args)
                assert result.exit_code == 0, result.output
            config = load_config(project)
            version = gated_version(config, snapshot_id=current_snapshot_id(project) or 0)
            result = run_cli(project, "deploy", "--version", str(version.version))
            assert result.exit_code == 0, result.output
            yield Served(project, str(version.version))
        finally:
            run_cli(project, "undeploy")
            kill_servers(project)

"""Fixtures of the monitoring tests: a fresh store (SQLite, and PostgreSQL marked `postgres`) with the log's
tables made by the store's migrations, and a config of the baked project that points at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from cml_mlops.config import ProjectConfig
from cml_mlops.features import FeatureSpec
from cml_mlops.monitoring.store import migrate
from tests.lake.conftest import postgres_catalog_uri  # noqa: F401 - the fresh-database fixture, shared
from tests.monitoring.helpers import ServedModel, config_for, register_profiled_model


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(parsed)


@pytest.fixture
def sqlite_store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'monitoring' / 'predictions.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def monitor_store_url(request: pytest.FixtureRequest) -> str:
    """The store's URL, once per supported database (PostgreSQL: a database of this test alone)."""
    name = "sqlite_store_url" if request.param == "sqlite" else "postgres_catalog_uri"
    return str(request.getfixturevalue(name))


@pytest.fixture
def monitor_engine(monitor_store_url: str) -> Iterator[Engine]:
    """An engine on the store, its tables created by the store's migrations."""
    engine = _engine(monitor_store_url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Registry:
    """An MLflow registry shared by the session's monitoring tests: version `profiled` has a reference profile,
    version `bare` (trained "before profiles existed") has none. Tests only read it."""

    folder: Path
    profiled: ServedModel
    bare: ServedModel


@pytest.fixture(scope="session")
def registry(
    tmp_path_factory: pytest.TempPathFactory, baked_project: Path, bank_frame: pd.DataFrame, bank_spec: FeatureSpec
) -> Registry:
    folder = tmp_path_factory.mktemp("registry")
    config = config_for(baked_project, folder, None)
    profiled = register_profiled_model(config, bank_frame, bank_spec)
    bare = register_profiled_model(config, bank_frame, bank_spec, with_profile=False)
    return Registry(folder, profiled, bare)


@pytest.fixture
def monitor_config(baked_project: Path, tmp_path: Path, monitor_store_url: str, registry: Registry) -> ProjectConfig:
    """The baked default project's config: reports and the store of this test, the session's registry."""
    return config_for(baked_project, tmp_path, monitor_store_url, tracking=registry.folder)

"""Which database the monitoring store uses, and that its URL never leaks a password."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from cml_mlops.config import load_config
from cml_mlops.errors import ConfigError
from cml_mlops.monitoring.database import describe_store, store_engine, store_url

PASSWORD = "s3cr3t-Pa55-for-tests"  # a recognisable fake, checked for leaks


def _config(project: Path, dsn: str | None = None):
    environ = {"CML_MLOPS_MONITORING_DSN": dsn} if dsn is not None else {}
    return load_config(project, environ=environ)


def test_without_dsn_the_store_is_sqlite_under_the_project(project_dir: Path) -> None:
    config = _config(project_dir)
    engine = store_engine(config)
    with engine.connect() as connection:
        assert connection.execute(text("select 1")).scalar() == 1
    expected = project_dir / config.prediction_log.sqlite_path
    assert engine.url.database == str(expected)
    assert expected.exists()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_libpq_dsns_use_psycopg2(project_dir: Path, scheme: str) -> None:
    config = _config(project_dir, f"{scheme}://monitor:{PASSWORD}@db.example:5432/metrics")
    assert store_url(config).startswith("postgresql+psycopg2://monitor:")
    assert store_engine(config).dialect.name == "postgresql"


def test_description_masks_the_password(project_dir: Path) -> None:
    config = _config(project_dir, f"postgresql://monitor:{PASSWORD}@db.example:5432/metrics")
    described = describe_store(config)
    assert PASSWORD not in described
    assert "db.example" in described and "metrics" in described


@pytest.mark.parametrize(
    "dsn, message",
    [
        ("mysql://monitor:" + PASSWORD + "@db.example/metrics", "only PostgreSQL"),
        ("not a url " + PASSWORD, "not a database URL"),
    ],
)
def test_unsupported_dsns_are_refused_without_echoing_them(project_dir: Path, dsn: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        store_engine(_config(project_dir, dsn))
    assert PASSWORD not in str(caught.value)

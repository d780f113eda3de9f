"""Fixtures for the lake tests: a lake on a SQLite catalog and, marked `postgres`, on a PostgreSQL one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql
from sqlalchemy.engine import make_url

from cml_mlops.lake import PyIcebergLake

PG_DSN_ENV = "CML_MLOPS_TEST_PG_DSN"
PG_DSN_DEFAULT = "postgresql://root@127.0.0.1:5432/test"
SKIP_POSTGRES_ENV = "CML_MLOPS_SKIP_POSTGRES"
NAMESPACE = "lake_tests"


@pytest.fixture
def postgres_catalog_uri() -> Iterator[str]:
    """A fresh PostgreSQL database for one test (dropped afterwards), as a SQLAlchemy URL."""
    dsn = os.environ.get(PG_DSN_ENV, PG_DSN_DEFAULT)
    try:
        admin = psycopg2.connect(dsn, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        if os.environ.get(SKIP_POSTGRES_ENV) == "1":
            pytest.skip(f"PostgreSQL at {dsn} is not reachable and {SKIP_POSTGRES_ENV}=1")
        pytest.fail(
            f"PostgreSQL at {dsn} is not reachable ({exc}). Start it (`bash ci/ensure_postgres.sh`; CI must), "
            f"point {PG_DSN_ENV} at a server, or set {SKIP_POSTGRES_ENV}=1 to skip these tests.",
            pytrace=False,
        )
    admin.autocommit = True
    database = f"cml_mlops_lake_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    url = make_url(dsn).set(drivername="postgresql+psycopg2", database=database)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cursor:
            # FORCE: a connection a failed test left open must not keep the database alive.
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        admin.close()


@pytest.fixture
def sqlite_catalog_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalog' / 'catalog.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog_uri(request: pytest.FixtureRequest) -> str:
    """The catalog URL, once for each supported catalog database."""
    return str(request.getfixturevalue(f"{request.param}_catalog_uri"))


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse"


@pytest.fixture
def lake(catalog_uri: str, warehouse: Path) -> Iterator[PyIcebergLake]:
    """A lake on each catalog database, files in a temporary warehouse."""
    with PyIcebergLake("lake_tests", catalog_uri, str(warehouse), NAMESPACE) as opened:
        yield opened


@pytest.fixture
def sqlite_lake(sqlite_catalog_uri: str, warehouse: Path) -> Iterator[PyIcebergLake]:
    """A lake on SQLite only, for behaviours that do not depend on the catalog database."""
    with PyIcebergLake("lake_tests", sqlite_catalog_uri, str(warehouse), NAMESPACE) as opened:
        yield opened

"""Engines on a fresh SQLite file and on a fresh PostgreSQL database (of the shared server) per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from tests.lake.conftest import postgres_catalog_uri  # noqa: F401 - the fresh-database fixture, shared


@pytest.fixture
def postgres_url(postgres_catalog_uri: str) -> str:  # noqa: F811
    """A SQLAlchemy URL of a PostgreSQL database of this test alone (dropped afterwards)."""
    return postgres_catalog_uri


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'monitoring' / 'predictions.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """The store's URL, once for each supported database."""
    return str(request.getfixturevalue(f"{request.param}_url"))


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(parsed, pool_pre_ping=True)


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    created = _engine(store_url)
    try:
        yield created
    finally:
        created.dispose()


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    created = _engine(postgres_url)
    try:
        yield created
    finally:
        created.dispose()


class Outage:
    """Makes one test database refuse connections, and cuts the ones it has: the database is 'away'.

    Only the test's own database is touched (ALLOW_CONNECTIONS applies to superusers too); the server runs on.
    """

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.database = parsed.database
        self.admin_dsn = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)

    def _run(self, statement: sql.Composable) -> None:
        admin = psycopg2.connect(self.admin_dsn)
        admin.autocommit = True
        try:
            with admin.cursor() as cursor:
                cursor.execute(statement)
        finally:
            admin.close()

    def begin(self) -> None:
        name = sql.Identifier(self.database)
        self._run(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(name))
        self._run(
            sql.SQL("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {}").format(
                sql.Literal(self.database)
            )
        )

    def end(self) -> None:
        self._run(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(self.database)))


@pytest.fixture
def outage(postgres_url: str) -> Iterator[Outage]:
    made = Outage(postgres_url)
    try:
        yield made
    finally:
        made.end()  # leave the database as it was found, whatever the test did

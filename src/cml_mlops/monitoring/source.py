"""Reading the monitoring store: one read-only transaction, after checking that the tables are the log's.

Monitoring never writes to the store: PostgreSQL runs the queries in a READ ONLY transaction (so a replica
serves too), SQLite with `query_only`, and a missing SQLite file is reported rather than created. Errors name
the store by its URL with the password masked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cml_mlops.config import ProjectConfig
from cml_mlops.errors import CmlMlopsError
from cml_mlops.monitoring.database import describe_store, store_engine, store_url
from cml_mlops.monitoring.dialect import StoreDialect
from cml_mlops.monitoring.outcome import MonitorExit
from cml_mlops.monitoring.schema import predictions
from cml_mlops.monitoring.store.errors import SchemaMismatch
from cml_mlops.monitoring.store.failures import translated
from cml_mlops.monitoring.store.migration import schema_problems

# Per transaction: JIT compiling the wide aggregation expressions costs more than it saves, and the GROUP BYs
# are hashed in memory rather than spilled.
POSTGRES_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL work_mem = '64MB'")
# REPEATABLE READ: every query of one run sees the same rows, also on the second connection (same snapshot).
POSTGRES_BEGIN = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"
T = TypeVar("T")


class NoTraffic(CmlMlopsError):
    """There is nothing to monitor: no prediction log, or no prediction in the chosen time range."""

    exit_code = MonitorExit.NO_DATA


@dataclass
class StoreSession:
    """The store as monitoring reads it: a connection, its dialect, and `aside` to run a query at the same time.

    On PostgreSQL `aside` runs on a second connection that imports the first one's snapshot, so the two cores
    of a small machine both work and both see the same rows. On SQLite it runs the query right away, on the
    one connection.
    """

    connection: Connection
    dialect: StoreDialect
    helper: Connection | None = None
    _worker: ThreadPoolExecutor | None = None

    def aside(self, query: Callable[[Connection], T]) -> Future[T]:
        if self.helper is None or self._worker is None:
            done: Future[T] = Future()
            done.set_result(query(self.connection))
            return done
        helper = self.helper
        return self._worker.submit(query, helper)


@contextmanager
def read_store(config: ProjectConfig) -> Iterator[StoreSession]:
    """A read-only session on the store, its tables checked; NoTraffic without a log. Nothing is ever written."""
    where = describe_store(config)
    try:
        backend, database = _backend(config)
    except ArgumentError:
        backend, database = "", None  # store_engine reports the bad DSN, without echoing it
    if backend == "sqlite" and database and not Path(database).exists():
        raise NoTraffic(
            f"no prediction log yet at {database}: predictions are logged by the model server "
            "(cml-mlops deploy) or `cml-mlops simulate`; or set CML_MLOPS_MONITORING_DSN to the PostgreSQL store"
        )
    engine = store_engine(config)
    dialect = StoreDialect(engine.dialect.name)
    try:
        with translated(engine, "read the prediction log"), ExitStack() as stack:
            connection = stack.enter_context(engine.connect())
            if not dialect.postgresql:
                connection.exec_driver_sql("PRAGMA query_only = ON")
                check_tables(connection, where)
                yield StoreSession(connection, dialect)
                return
            _begin(connection)
            check_tables(connection, where)
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            helper = stack.enter_context(engine.connect())
            _begin(helper)
            helper.exec_driver_sql("SET TRANSACTION SNAPSHOT %(snapshot)s", {"snapshot": snapshot})
            worker = stack.enter_context(ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitoring-sql"))
            yield StoreSession(connection, dialect, helper, worker)
    finally:
        engine.dispose()


def _begin(connection: Connection) -> None:
    connection.exec_driver_sql(POSTGRES_BEGIN)
    for statement in POSTGRES_SETTINGS:
        connection.exec_driver_sql(statement)


def check_tables(connection: Connection, where: str) -> None:
    """NoTraffic when there is no predictions table; SchemaMismatch when the tables are not the log's."""
    if predictions.name not in inspect(connection).get_table_names():
        raise NoTraffic(
            f"the monitoring store {where} has no prediction log yet (no table {predictions.name}): predictions are "
            "logged by the model server (cml-mlops deploy) or `cml-mlops simulate`"
        )
    problems = schema_problems(connection)
    if problems:
        raise SchemaMismatch(
            f"the monitoring store {where} has tables that are not the prediction log's: {'; '.join(problems)}. "
            "Nothing was read or changed: point CML_MLOPS_MONITORING_DSN at the store the model server writes"
        )


def _backend(config: ProjectConfig) -> tuple[str, str | None]:
    parsed = make_url(store_url(config))
    return parsed.get_backend_name(), parsed.database

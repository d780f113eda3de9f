"""Opening the configured store for writing: an engine that survives server restarts, tables migrated."""

from __future__ import annotations

import orjson
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cml_mlops.config import ProjectConfig
from cml_mlops.monitoring.database import store_engine, store_url
from cml_mlops.monitoring.store.migration import migrate

CONNECT_TIMEOUT_SECONDS = 10  # a DSN naming an unreachable host fails in seconds, not after TCP's minutes
SQLITE_BUSY_SECONDS = 30  # how long a SQLite writer waits for another one's lock


def open_store(config: ProjectConfig) -> Engine:
    """The store's engine after `migrate`: StoreUnavailable when it does not answer, SchemaMismatch when the
    tables have another shape. Pooled connections are checked before use, so a restarted server is reconnected.
    """
    try:
        backend = make_url(store_url(config)).get_backend_name()
    except ArgumentError:
        backend = ""  # store_engine reports the bad DSN, without echoing it
    connect_args = (
        {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if backend == "postgresql" else {"timeout": SQLITE_BUSY_SECONDS}
    )
    engine = store_engine(config, pool_pre_ping=True, connect_args=connect_args, json_serializer=_json_text)
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _json_text(value: object) -> str:
    """The features column's JSON, by orjson: several times faster than json.dumps on every logged row."""
    return orjson.dumps(value).decode()

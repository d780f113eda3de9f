"""Opening the configured store for writing: an engine that survives server restarts, tables migrated."""

from __future__ import annotations

import orjson
from sqlalchemy import Engine

from cml_mlops.config import ProjectConfig
from cml_mlops.monitoring.database import store_engine
from cml_mlops.monitoring.store.migration import migrate

SQLITE_BUSY_SECONDS = 30  # how long a SQLite writer waits for another one's lock


def open_store(config: ProjectConfig) -> Engine:
    """The store's engine after `migrate`: StoreUnavailable when it does not answer, SchemaMismatch when the
    tables have another shape. Pooled connections are checked before use, so a restarted server is reconnected.
    """
    engine = store_engine(
        config, sqlite_busy_seconds=SQLITE_BUSY_SECONDS, pool_pre_ping=True, json_serializer=_json_text
    )
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _json_text(value: object) -> str:
    """The features column's JSON, by orjson: several times faster than json.dumps on every logged row."""
    return orjson.dumps(value).decode()

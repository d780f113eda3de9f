"""The store fixtures of the store tests (a fresh SQLite file, and a fresh PostgreSQL database marked `postgres`)."""

from tests.lake.conftest import postgres_catalog_uri  # noqa: F401 - the fresh-database fixture, shared
from tests.monitoring.store.conftest import engine, postgres_url, sqlite_url, store_url  # noqa: F401

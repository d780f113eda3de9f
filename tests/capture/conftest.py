"""Server-side capture tests: the serving tests' fitted model, and the store tests' fresh databases."""

from tests.monitoring.store.conftest import (  # noqa: F401 - fixtures
    engine,
    outage,
    postgres_catalog_uri,
    postgres_engine,
    postgres_url,
    sqlite_url,
    store_url,
)
from tests.serving.conftest import bank_model, scorer  # noqa: F401 - fixtures

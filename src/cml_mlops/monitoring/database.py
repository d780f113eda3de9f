"""Which database holds the monitoring store: PostgreSQL when `CML_MLOPS_MONITORING_DSN` is set, else SQLite.

The DSN is a secret (it may carry a password): it comes only from the environment and never appears in a
message; errors name the database by its redacted URL.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cml_mlops.config import ProjectConfig
from cml_mlops.errors import ConfigError

CONNECT_TIMEOUT_SECONDS = 10  # a DSN naming an unreachable host fails in seconds, not after TCP's minutes


def store_url(config: ProjectConfig) -> str:
    """The SQLAlchemy URL of the store (secret: may hold a password; use `describe_store` in messages)."""
    dsn = config.monitoring.dsn.get_secret_value().strip() if config.monitoring.dsn else ""
    if not dsn:
        return f"sqlite:///{config.path(config.prediction_log.sqlite_path)}"
    # libpq-style "postgresql://" and "postgres://" mean psycopg2, the driver this package ships.
    for prefix in ("postgres://", "postgresql://"):
        if dsn.startswith(prefix):
            return "postgresql+psycopg2://" + dsn[len(prefix) :]
    return dsn


def describe_store(config: ProjectConfig) -> str:
    """The store's URL with any password masked: safe for logs, errors and reports."""
    try:
        return make_url(store_url(config)).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable CML_MLOPS_MONITORING_DSN>"


def store_engine(config: ProjectConfig, *, sqlite_busy_seconds: float | None = None, **kwargs: object) -> Engine:
    """An engine for the store; the SQLite file's folder is created. Does not connect yet.

    PostgreSQL connections give up after CONNECT_TIMEOUT_SECONDS; SQLite waits `sqlite_busy_seconds` for a lock.
    """
    url = store_url(config)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("CML_MLOPS_MONITORING_DSN is not a database URL (expected postgresql://...)") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"monitoring store {describe_store(config)}: only PostgreSQL (CML_MLOPS_MONITORING_DSN) and the "
            "embedded SQLite default are supported"
        )
    connect_args: dict[str, float] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    else:
        if parsed.database:
            config.path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if sqlite_busy_seconds is not None:
            connect_args["timeout"] = sqlite_busy_seconds
    return create_engine(parsed, connect_args=connect_args, **kwargs)

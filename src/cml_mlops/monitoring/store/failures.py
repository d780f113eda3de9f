"""Database failures of the store in words: which are transient (retry), and messages that hide the password."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from cml_mlops.monitoring.store.errors import StoreError, StoreUnavailable


def describe_engine(engine: Engine) -> str:
    """The engine's URL with any password masked."""
    return engine.url.render_as_string(hide_password=True)


def first_line(exc: BaseException) -> str:
    """The driver's own message (its first line), without SQLAlchemy's statement and parameters."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__


# SQLite reports every failure as OperationalError; only these pass by themselves.
SQLITE_TRANSIENT = ("locked", "busy", "unable to open database", "disk i/o error")


def is_transient(exc: BaseException) -> bool:
    """A failure that may pass: the server is down, restarting, unreachable, or the SQLite file is locked."""
    if isinstance(exc, StoreUnavailable):  # already judged transient (e.g. by migrate)
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    if type(exc.orig).__module__.startswith("sqlite3"):
        return any(marker in str(exc.orig).lower() for marker in SQLITE_TRANSIENT)
    return True


@contextmanager
def translated(engine: Engine, action: str) -> Iterator[None]:
    """Turn database errors into StoreUnavailable (transient) or StoreError, naming the store safely."""
    try:
        yield
    except DBAPIError as exc:
        if is_transient(exc):
            raise StoreUnavailable(
                f"cannot {action}: the monitoring store {describe_engine(engine)} does not answer ({first_line(exc)})"
            ) from None
        raise StoreError(
            f"cannot {action}: the monitoring store {describe_engine(engine)} refused it ({first_line(exc)})"
        ) from None

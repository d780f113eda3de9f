"""Creating and upgrading the monitoring store's tables: Alembic migrations kept inside this package.

`migrate(engine)` is what writers call before they write. It is idempotent and safe when several processes
call it at once: PostgreSQL serializes them with a transaction-level advisory lock, SQLite with an immediate
(write-locked) transaction, and the migrations commit together with their version record (both databases
have transactional DDL). Tables of the store's names that exist without a version record are adopted when
they have exactly the expected shape and refused otherwise; a refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.pool import NullPool

from cml_mlops.alembic_turns import ALEMBIC_TURNS
from cml_mlops.monitoring.schema import metadata
from cml_mlops.monitoring.store.errors import SchemaMismatch
from cml_mlops.monitoring.store.failures import describe_engine, translated

VERSION_TABLE = "cml_mlops_store_version"
SCRIPT_LOCATION = "cml_mlops.monitoring.store:migrations"
STORE_TABLES = tuple(metadata.tables)  # predictions, labels
# pg_advisory_xact_lock key: "cml_mlop" as a big-endian 64-bit integer (any constant both callers agree on).
ADVISORY_LOCK_KEY = int.from_bytes(b"cml_mlop", "big")
SQLITE_LOCK_TIMEOUT = 60.0


@dataclass(frozen=True)
class MigrationResult:
    """The store's revision before and after; `adopted` when existing tables were recorded as the head revision."""

    before: str | None
    after: str
    adopted: bool = False

    @property
    def changed(self) -> bool:
        return self.before != self.after


def head_revision() -> str:
    """The newest revision this version of cml-mlops knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None  # the package ships at least one revision
    return head


def migrate(engine: Engine) -> MigrationResult:
    """Create or upgrade the store's tables to the head revision; refuse (SchemaMismatch) tables of another shape.

    StoreUnavailable when the database does not answer. Nothing is changed when this raises.
    """
    with (
        ALEMBIC_TURNS,
        translated(engine, "create or upgrade the prediction log's tables"),
        _exclusive(engine) as connection,
    ):
        return _migrate(connection, describe_engine(engine))


def current_revision(connection: Connection) -> str | None:
    """The revision the store's version table records, None when there is none."""
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


def schema_problems(connection: Connection) -> list[str]:
    """How the store's tables in the database differ from schema.py (empty when they match)."""
    present = set(inspect(connection).get_table_names())

    def ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table":
            return name in STORE_TABLES
        table = getattr(obj, "table", None)
        return table is None or table.name in STORE_TABLES

    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": ours})
    problems = [_describe(diff) for diff in compare_metadata(context, metadata)]
    for table in metadata.tables.values():
        if table.name not in present:
            continue
        found = inspect(connection).get_pk_constraint(table.name).get("constrained_columns") or []
        expected = [column.name for column in table.primary_key.columns]
        if list(found) != expected:
            problems.append(f"{table.name} has primary key {found or 'none'}, expected {expected}")
    return problems


def _migrate(connection: Connection, store: str) -> MigrationResult:
    before = current_revision(connection)
    config = _config(connection)
    if before is None:
        existing = sorted(set(inspect(connection).get_table_names()) & set(STORE_TABLES))
        if existing:
            problems = schema_problems(connection)
            if problems:
                raise SchemaMismatch(
                    f"the monitoring store {store} already has table(s) {', '.join(existing)} that are not the "
                    f"prediction log's: {'; '.join(problems)}. Nothing was changed: point CML_MLOPS_MONITORING_DSN "
                    "at another database, or rename or remove those tables yourself"
                )
            command.stamp(config, "head")
            return MigrationResult(None, head_revision(), adopted=True)
    else:
        try:
            ScriptDirectory.from_config(config).get_revision(before)
        except CommandError:
            raise SchemaMismatch(
                f"the monitoring store {store} is at revision {before!r}, which this cml-mlops does not know "
                f"(its newest is {head_revision()!r}): it was written by a newer cml-mlops; upgrade this one"
            ) from None
    command.upgrade(config, "head")
    problems = schema_problems(connection)
    if problems:
        raise SchemaMismatch(
            f"the monitoring store {store} (revision {current_revision(connection)}) does not have the shape this "
            f"cml-mlops expects: {'; '.join(problems)}. Nothing was changed; the tables were altered outside the "
            "migrations"
        )
    after = current_revision(connection)
    assert after is not None
    return MigrationResult(before, after)


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that no other migrating process can enter until it commits."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection, connection.begin():
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            yield connection
        return
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        locking = _sqlite_immediate_engine(engine)
        try:
            with locking.connect() as connection, connection.begin():
                yield connection
        finally:
            locking.dispose()
        return
    with engine.connect() as connection, connection.begin():
        yield connection


def _sqlite_immediate_engine(engine: Engine) -> Engine:
    """An engine on the same SQLite file whose transactions start with BEGIN IMMEDIATE (the write lock).

    pysqlite would otherwise begin lazily, so two migrating processes could both read "no tables yet".
    This is SQLAlchemy's documented recipe: the driver's own transaction handling off, BEGIN emitted here.
    """
    locking = create_engine(engine.url, poolclass=NullPool, connect_args={"timeout": SQLITE_LOCK_TIMEOUT})

    @event.listens_for(locking, "connect")
    def _driver_autocommit(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(locking, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return locking


def _describe(diff: Any) -> str:
    """One autogenerate difference in words (the database's shape first, then what is expected)."""
    if isinstance(diff, list):  # column modifications come grouped
        return "; ".join(_describe(item) for item in diff)
    kind = diff[0]
    if kind == "add_table":
        return f"table {diff[1].name} is missing"
    if kind == "add_column":
        return f"{diff[2]} has no column {diff[3].name} ({diff[3].type})"
    if kind == "remove_column":
        return f"{diff[2]} has a column {diff[3].name} that is not expected"
    if kind == "modify_type":
        return f"{diff[2]}.{diff[3]} is {diff[5]}, expected {diff[6]}"
    if kind == "modify_nullable":
        return f"{diff[2]}.{diff[3]} is {_nullability(diff[5])}, expected {_nullability(diff[6])}"
    if kind == "add_index":
        return f"index {diff[1].name} on {diff[1].table.name} is missing"
    if kind == "remove_index":
        return f"index {diff[1].name} on {diff[1].table.name} is not expected"
    if kind in ("add_fk", "remove_fk"):
        state = "is missing" if kind == "add_fk" else "is not expected"
        return f"a foreign key on {diff[1].parent.name} {state}"
    return f"{kind.replace('_', ' ')}: {', '.join(str(part) for part in diff[1:] if part is not None)}"


def _nullability(nullable: Any) -> str:
    return "nullable" if nullable else "NOT NULL"

"""`migrate`: creates the tables of schema.py, is idempotent and race-safe, and never touches foreign tables."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, MetaData, String, Table, Text, create_engine, inspect, text

from cml_mlops.alembic_turns import ALEMBIC_TURNS
from cml_mlops.monitoring.schema import metadata
from cml_mlops.monitoring.store import (
    VERSION_TABLE,
    SchemaMismatch,
    StoreUnavailable,
    head_revision,
    migrate,
)
from cml_mlops.monitoring.store.migration import current_revision, schema_problems
from tests.support.net import free_port

REPO = Path(__file__).resolve().parents[3]
ROW = {
    "prediction_id": "keep-me", "requested_at": 1.0, "model_name": "m", "model_version": "1", "scenario": "",
    "features": {"age": 30}, "probability": 0.25, "prediction": 0,
}  # fmt: skip


def test_migrate_creates_the_tables_schema_py_describes(engine: Engine) -> None:
    result = migrate(engine)
    assert (result.before, result.after, result.adopted) == (None, head_revision(), False)
    with engine.connect() as connection:
        assert schema_problems(connection) == []
        assert current_revision(connection) == head_revision()
        indexes = {index["name"] for index in inspect(connection).get_indexes("predictions")}
    assert {"ix_predictions_requested_at", "ix_predictions_version_time"} <= indexes


def test_migrate_is_idempotent_and_keeps_the_rows(engine: Engine) -> None:
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(metadata.tables["predictions"].insert(), ROW)
    again = migrate(engine)
    assert (again.before, again.after, again.changed) == (head_revision(), head_revision(), False)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM predictions")).scalar() == 1
        assert connection.execute(text(f"SELECT count(*) FROM {VERSION_TABLE}")).scalar() == 1


def _foreign_predictions(*columns: Column) -> MetaData:
    shape = MetaData()
    Table("predictions", shape, *columns)
    return shape


WRONG_SHAPES = {
    "another table": (
        lambda: _foreign_predictions(Column("prediction_id", String(64), primary_key=True), Column("score", Text)),
        ["predictions has no column requested_at", "predictions has a column score that is not expected"],
    ),
    "a wrong type": (
        lambda: _with_column_changed("requested_at", Column("requested_at", Text, nullable=False)),
        ["predictions.requested_at is TEXT"],
    ),
    "a nullable column": (
        lambda: _with_column_changed(
            "probability", Column("probability", metadata.tables["predictions"].c.probability.type, nullable=True)
        ),
        ["predictions.probability is nullable, expected NOT NULL"],
    ),
    "no primary key": (
        lambda: _with_column_changed("prediction_id", Column("prediction_id", String(64), nullable=False)),
        ["predictions has primary key none, expected ['prediction_id']"],
    ),
}


def _with_column_changed(name: str, replacement: Column) -> MetaData:
    original = metadata.tables["predictions"]
    columns = [replacement if column.name == name else column._copy() for column in original.columns]
    return _foreign_predictions(*columns)


@pytest.mark.parametrize("case", sorted(WRONG_SHAPES))
def test_a_predictions_table_of_another_shape_is_refused_and_kept(engine: Engine, case: str) -> None:
    build, expected = WRONG_SHAPES[case]
    foreign = build()
    foreign.create_all(engine)
    with engine.begin() as connection:
        table = foreign.tables["predictions"]
        connection.execute(table.insert(), {key: value for key, value in ROW.items() if key in table.c})
    before = _table_names(engine)
    with pytest.raises(SchemaMismatch) as caught:
        migrate(engine)
    message = str(caught.value)
    assert "already has table(s) predictions" in message and "Nothing was changed" in message
    for fragment in expected:
        assert fragment in message
    assert _table_names(engine) == before  # no labels table, no version table, nothing dropped
    with engine.connect() as connection:
        assert connection.execute(text("SELECT prediction_id FROM predictions")).scalars().all() == ["keep-me"]


def test_tables_of_the_right_shape_without_a_version_are_adopted(engine: Engine) -> None:
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(metadata.tables["predictions"].insert(), ROW)
    result = migrate(engine)
    assert result.adopted and result.after == head_revision()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM predictions")).scalar() == 1
        assert current_revision(connection) == head_revision()


def test_a_revision_from_a_newer_cml_mlops_is_refused(engine: Engine) -> None:
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = 'f00dcafe'"))
    with pytest.raises(SchemaMismatch, match=r"revision 'f00dcafe'.*newer cml-mlops"):
        migrate(engine)


def test_a_table_altered_after_migrating_is_reported(engine: Engine) -> None:
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_labels_labelled_at"))
        connection.execute(text("ALTER TABLE labels ADD COLUMN note TEXT"))
    with pytest.raises(SchemaMismatch) as caught:
        migrate(engine)
    assert "index ix_labels_labelled_at on labels is missing" in str(caught.value)
    assert "labels has a column note that is not expected" in str(caught.value)


def test_an_unreachable_database_is_a_clear_error_without_the_password() -> None:
    port = free_port()
    engine = create_engine(
        f"postgresql+psycopg2://monitor:Pa55-secret@127.0.0.1:{port}/metrics", connect_args={"connect_timeout": 5}
    )
    with pytest.raises(StoreUnavailable) as caught:
        migrate(engine)
    message = str(caught.value)
    assert f"127.0.0.1:{port}/metrics" in message and "does not answer" in message
    assert "Pa55-secret" not in message


RACER = """
import sys, time
from pathlib import Path
from sqlalchemy import create_engine
from cml_mlops.monitoring.store import migrate
engine = create_engine(sys.argv[1])
folder = Path(sys.argv[2])
(folder / f"ready-{sys.argv[3]}").touch()
while not (folder / "go").exists():
    time.sleep(0.001)
print(migrate(engine))
"""
RACERS = 4


@pytest.mark.slow
def test_processes_migrating_at_once_all_succeed(store_url: str, engine: Engine, tmp_path: Path) -> None:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, store_url, str(barrier), str(index)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )
        for index in range(RACERS)
    ]
    deadline = time.monotonic() + 120
    while len(list(barrier.glob("ready-*"))) < RACERS and time.monotonic() < deadline:
        time.sleep(0.01)
    (barrier / "go").touch()  # every racer has imported everything: they migrate within a millisecond
    outputs = [racer.communicate(timeout=120) for racer in racers]
    assert [racer.returncode for racer in racers] == [0] * RACERS, outputs
    created = [out for out, _ in outputs if "before=None" in out]
    assert len(created) == 1, outputs  # exactly one created the tables; the others found them at head
    with engine.connect() as connection:
        assert connection.execute(text(f"SELECT count(*) FROM {VERSION_TABLE}")).scalar() == 1
        assert schema_problems(connection) == []


def _table_names(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def test_migrations_take_turns_with_every_other_alembic_user_of_the_process(engine: Engine) -> None:
    """Alembic's context is process-global: the store's migration (run in the capture writer's thread) and MLflow's
    store creation (configure_mlflow) must not run at once, so both wait for ALEMBIC_TURNS."""
    done = threading.Event()
    with ALEMBIC_TURNS:
        worker = threading.Thread(target=lambda: (migrate(engine), done.set()), daemon=True)
        worker.start()
        assert not done.wait(1.0)  # held here: the migration waits its turn
        assert "predictions" not in inspect(engine).get_table_names()
    assert done.wait(60)  # released: it runs
    assert "predictions" in inspect(engine).get_table_names()

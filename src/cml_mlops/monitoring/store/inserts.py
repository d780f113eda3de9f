"""The two writes of the prediction log, safe to repeat: a retried batch never creates a duplicate.

Predictions are inserted with ON CONFLICT (prediction_id) DO NOTHING; labels are upserted (a later label of
the same prediction replaces the earlier one). Both as one executemany per batch, which SQLAlchemy sends to
psycopg2 as multi-row INSERTs ("insertmanyvalues").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cml_mlops.monitoring.schema import labels, predictions
from cml_mlops.monitoring.store.errors import StoreError

ID_CHUNK = 500  # ids per IN (...) lookup


def _insert(connection: Connection, table: Table) -> Any:
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise StoreError(f"the prediction log supports PostgreSQL and SQLite, not {dialect}")


PREDICTION_COLUMNS = tuple(column.name for column in predictions.columns)
# PostgreSQL: one multi-row INSERT per page through psycopg2's execute_values, 2x faster than SQLAlchemy's
# executemany for the capture's write rate; the same statement and ON CONFLICT as the portable path.
_PG_INSERT = (  # the column names are schema.py's; the values are bound by psycopg2
    f"INSERT INTO predictions ({', '.join(PREDICTION_COLUMNS)}) VALUES %s ON CONFLICT (prediction_id) DO NOTHING"  # noqa: S608
)
PG_PAGE_ROWS = 1000


def insert_predictions(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `predictions` rows; rows whose prediction_id is already stored are skipped."""
    if rows and connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg2":
        _insert_predictions_psycopg2(connection, rows)
    elif rows:
        statement = _insert(connection, predictions).on_conflict_do_nothing(index_elements=["prediction_id"])
        connection.execute(statement, list(rows))


def upsert_labels(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `labels` rows; a prediction that already has a label gets the new one."""
    if rows:
        statement = _insert(connection, labels)
        statement = statement.on_conflict_do_update(
            index_elements=["prediction_id"],
            set_={"label": statement.excluded.label, "labelled_at": statement.excluded.labelled_at},
        )
        connection.execute(statement, list(rows))


def known_prediction_ids(connection: Connection, ids: Iterable[str]) -> set[str]:
    """Which of `ids` the `predictions` table holds."""
    wanted = list(dict.fromkeys(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), ID_CHUNK):
        chunk = wanted[start : start + ID_CHUNK]
        column = predictions.c.prediction_id
        found.update(connection.execute(select(column).where(column.in_(chunk))).scalars())
    return found


def retime_predictions(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Set `requested_at` and `scenario` of stored predictions (rows: prediction_id, requested_at, scenario)."""
    if rows:
        column = predictions.c
        statement = (
            update(predictions)
            .where(column.prediction_id == bindparam("id_"))
            .values(requested_at=bindparam("at_"), scenario=bindparam("scenario_"))
        )
        connection.execute(
            statement,
            [{"id_": r["prediction_id"], "at_": r["requested_at"], "scenario_": r["scenario"]} for r in rows],
        )


def _insert_predictions_psycopg2(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    from psycopg2.extras import Json, execute_values

    values = [
        tuple(Json(row[name], dumps=_json_text) if name == "features" else row.get(name) for name in PREDICTION_COLUMNS)
        for row in rows
    ]
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        execute_values(cursor, _PG_INSERT, values, page_size=PG_PAGE_ROWS)
    finally:
        cursor.close()


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()

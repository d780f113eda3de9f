"""The embedded lake: Apache Iceberg tables through PyIceberg, with a SQL catalog (SQLite or PostgreSQL).

Atomicity comes from Iceberg itself: data files are written first and become visible only when the
catalog swaps the table's metadata pointer in one statement, so a failure or a crash before that
leaves readers on the previous snapshot. On a failure we also delete the data files we wrote.
"""

from __future__ import annotations

import itertools
import logging
import re
import shutil
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import pandas as pd
import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files
from pyiceberg.manifest import DataFile
from pyiceberg.schema import Schema as IcebergSchema
from pyiceberg.table import FileScanTask, Table, Transaction
from pyiceberg.table.snapshots import Operation
from pyiceberg.table.snapshots import Snapshot as IcebergSnapshot
from pyiceberg.table.update.schema import UpdateSchema
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from cml_mlops.config import IDENTIFIER_PATTERN
from cml_mlops.errors import LakeError
from cml_mlops.lake.base import Lake, NoSuchTable, Snapshot

log = logging.getLogger(__name__)

KNOWN_SNAPSHOTS_SHOWN = 10  # an unknown-snapshot error lists the most recent ones

# Conversions pyarrow refuses (lossy cast, wrong type, null in a required field) surface as these.
_CONVERSION_ERRORS = (pa.ArrowException, ValueError, TypeError, OverflowError)
# Nullable integers and booleans read back as pandas' nullable dtypes, so a null never turns them into
# floats or objects: the dtype depends on the schema only, never on the data.
_NULLABLE_DTYPES: dict[pa.DataType, object] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}
# Iceberg's type promotions (the only type changes it can apply to existing columns).
_PROMOTIONS = {
    (pa.int8(), pa.int32()),
    (pa.int8(), pa.int64()),
    (pa.int16(), pa.int32()),
    (pa.int16(), pa.int64()),
    (pa.int32(), pa.int64()),
    (pa.float32(), pa.float64()),
}


class PyIcebergLake(Lake):
    """Iceberg tables in `namespace` of a PyIceberg SQL catalog, files under `warehouse`."""

    def __init__(self, catalog_name: str, catalog_uri: str, warehouse: str, namespace: str) -> None:
        self.namespace = check_name("namespace", namespace)
        self.warehouse = prepare_warehouse(warehouse)
        prepare_sqlite_folder(catalog_uri)
        self._catalog_label = redact(catalog_uri)
        try:
            self._catalog = SqlCatalog(catalog_name, uri=catalog_uri, warehouse=self.warehouse)
            self._catalog.create_namespace_if_not_exists(self.namespace)
        except (SQLAlchemyError, OSError) as exc:
            raise LakeError(
                f"cannot open the Iceberg catalog {self._catalog_label}: {first_line(exc)}. "
                "Check lake.catalog_uri and that the database server is running."
            ) from exc

    def close(self) -> None:
        """Return the catalog's database connections (a PostgreSQL database can then be dropped)."""
        self._catalog.engine.dispose()

    # -- reading the catalog -------------------------------------------------------------------

    def snapshots(self, table: str) -> list[Snapshot]:
        iceberg = self._load(table)
        ordered = sorted(iceberg.snapshots(), key=lambda s: (s.sequence_number or 0, s.timestamp_ms))
        return [_snapshot(s) for s in ordered]

    def current_snapshot(self, table: str) -> Snapshot | None:
        snapshot = self._load(table).current_snapshot()
        return None if snapshot is None else _snapshot(snapshot)

    def schema(self, table: str) -> pa.Schema:
        return plain_schema(self._load(table).schema().as_arrow())

    def read(self, table: str, snapshot_id: int | None = None) -> pd.DataFrame:
        iceberg = self._load(table)
        snapshot = iceberg.current_snapshot() if snapshot_id is None else self._snapshot_by_id(iceberg, snapshot_id)
        if snapshot is None:
            return arrow_to_frame(plain_schema(iceberg.schema().as_arrow()).empty_table())
        tasks = iceberg.scan(snapshot_id=snapshot.snapshot_id).plan_files()
        return arrow_to_frame(_read_in_commit_order(iceberg, snapshot, tasks))

    def read_increment(self, table: str, from_snapshot_id: int, to_snapshot_id: int | None = None) -> pd.DataFrame:
        iceberg = self._load(table)
        self._snapshot_by_id(iceberg, from_snapshot_id)
        end = iceberg.current_snapshot() if to_snapshot_id is None else self._snapshot_by_id(iceberg, to_snapshot_id)
        if end is None:
            raise LakeError(f"table {self._qualified(table)} has no snapshot yet: there is no increment to read")
        in_range = self._range(iceberg, table, from_snapshot_id, end)
        not_appends = [s for s in in_range if s.summary is None or s.summary.operation != Operation.APPEND]
        if not_appends:
            listed = ", ".join(f"{s.snapshot_id} ({_operation(s)})" for s in not_appends)
            raise LakeError(
                f"the increment of table {self._qualified(table)} from snapshot {from_snapshot_id} to "
                f"{end.snapshot_id} is not append-only: {listed} rewrote the table. "
                f"Read the whole table at snapshot {end.snapshot_id} instead."
            )
        if not in_range:
            return arrow_to_frame(plain_schema(_schema_at(iceberg, end).as_arrow()).empty_table())
        scan = iceberg.incremental_append_scan(
            from_snapshot_id_exclusive=from_snapshot_id, to_snapshot_id_inclusive=end.snapshot_id
        )
        return arrow_to_frame(_read_in_commit_order(iceberg, end, scan.plan_files()))

    # -- writing -----------------------------------------------------------------------------------

    def create_or_replace(self, table: str, frame: pd.DataFrame, schema: pa.Schema) -> Snapshot:
        schema = plain_schema(schema)
        data = frame_to_arrow(frame, schema, self._qualified(table))
        if not self.table_exists(table):
            return self._create(table, data)
        iceberg = self._load(table)
        evolve = schema_evolution(plain_schema(iceberg.schema().as_arrow()), schema, self._qualified(table))
        return self._commit(iceberg, table, data, replace=True, evolve=evolve)

    def append(self, table: str, frame: pd.DataFrame) -> Snapshot:
        iceberg = self._load(table)
        data = frame_to_arrow(frame, plain_schema(iceberg.schema().as_arrow()), self._qualified(table))
        return self._commit(iceberg, table, data, replace=False, evolve=None)

    def drop(self, table: str) -> None:
        identifier = self._identifier(table)
        try:
            iceberg = self._catalog.load_table(identifier)
        except NoSuchTableError:
            raise LakeError(f"table {self._qualified(table)} does not exist: nothing to drop") from None
        except OSError:
            # Its files are already gone: forgetting the catalog entry is all that is left to do.
            self._catalog.drop_table(identifier)
            return
        location = iceberg.location()
        try:
            self._catalog.purge_table(identifier)
        except OSError as exc:
            raise LakeError(
                f"table {self._qualified(table)} was dropped, but some of its files at {location} could not "
                f"be deleted: {exc}"
            ) from exc
        finally:
            self._remove_local_folder(location)

    # -- helpers -------------------------------------------------------------------------------------

    def _create(self, table: str, data: pa.Table) -> Snapshot:
        """Create the table and write its first snapshot in one catalog commit."""
        location = None
        preexisting = False
        try:
            transaction = self._catalog.create_table_transaction(self._identifier(table), schema=data.schema)
            location = transaction.table_metadata.location
            folder = _local_path(location)
            preexisting = folder is not None and folder.exists()
            transaction.append(data)
            transaction.commit_transaction()
        except TableAlreadyExistsError as exc:
            raise LakeError(f"table {self._qualified(table)} was created by someone else meanwhile: try again") from exc
        except Exception as exc:
            # Nothing was committed, so the folder holds only what this attempt wrote (unless another
            # writer created the same table meanwhile: then the folder is theirs).
            if location is not None and not preexisting and not self._exists_quietly(table):
                self._remove_local_folder(location)
            raise LakeError(f"creating table {self._qualified(table)} failed, nothing was created: {exc}") from exc
        current = self.current_snapshot(table)
        assert current is not None  # the commit above made one
        return current

    def _commit(
        self,
        iceberg: Table,
        table: str,
        data: pa.Table,
        replace: bool,
        evolve: Callable[[UpdateSchema], None] | None,
    ) -> Snapshot:
        """Write `data` as exactly one snapshot (an append, or an overwrite of every live file)."""
        before = iceberg.current_snapshot()
        written: list[str] = []
        try:
            transaction = iceberg.transaction()
            if evolve is not None:
                with transaction.update_schema(allow_incompatible_changes=True) as update:
                    evolve(update)
            producer = (
                transaction.update_snapshot().overwrite() if replace else transaction.update_snapshot().fast_append()
            )
            with producer as files:
                if replace:
                    for task in iceberg.scan().plan_files():
                        files.delete_data_file(task.file)
                if data.num_rows:
                    for data_file in _write_data_files(transaction, iceberg, data, files.commit_uuid):
                        written.append(data_file.file_path)
                        files.append_data_file(data_file)
            transaction.commit_transaction()
        except Exception as exc:
            _delete_quietly(iceberg, written)
            at = "no snapshot" if before is None else f"snapshot {before.snapshot_id}"
            raise LakeError(
                f"writing to table {self._qualified(table)} failed and the table is unchanged (still at {at}): {exc}"
            ) from exc
        current = self.current_snapshot(table)
        assert current is not None  # the commit above made one
        return current

    def _exists_quietly(self, table: str) -> bool:
        """Whether the catalog has the table, counting a broken one as present."""
        try:
            return self.table_exists(table)
        except LakeError:
            return True

    def _range(self, iceberg: Table, table: str, from_id: int, end: IcebergSnapshot) -> list[IcebergSnapshot]:
        """The snapshots after `from_id` up to `end` along end's ancestry, newest first."""
        chain: list[IcebergSnapshot] = []
        current: IcebergSnapshot | None = end
        while current is not None and current.snapshot_id != from_id:
            chain.append(current)
            parent = current.parent_snapshot_id
            current = None if parent is None else iceberg.snapshot_by_id(parent)
        if current is None:
            raise LakeError(
                f"snapshot {from_id} of table {self._qualified(table)} is not an ancestor of snapshot "
                f"{end.snapshot_id}: an increment must go forward along the table's history"
            )
        return chain

    def _load(self, table: str) -> Table:
        try:
            return self._catalog.load_table(self._identifier(table))
        except NoSuchTableError:
            raise NoSuchTable(
                f"table {self._qualified(table)} does not exist in the lake (catalog {self._catalog_label}): "
                "load data into it first"
            ) from None
        except OSError as exc:
            raise self._broken(table, exc) from exc
        except SQLAlchemyError as exc:
            raise LakeError(f"the Iceberg catalog {self._catalog_label} failed: {first_line(exc)}") from exc

    def _snapshot_by_id(self, iceberg: Table, snapshot_id: int) -> IcebergSnapshot:
        snapshot = iceberg.snapshot_by_id(snapshot_id)
        if snapshot is None:
            recent = [str(s.snapshot_id) for s in iceberg.snapshots()][-KNOWN_SNAPSHOTS_SHOWN:]
            known = ", ".join(recent) or "none"
            raise LakeError(
                f"table {'.'.join(iceberg.name())} has no snapshot {snapshot_id} (known: {known}); "
                "list them with `cml-mlops lake snapshots`"
            )
        return snapshot

    def _broken(self, table: str, exc: OSError) -> LakeError:
        return LakeError(
            f"table {self._qualified(table)} is in the catalog but its files are missing ({exc}). "
            f"Run `cml-mlops lake drop --table {table} --yes` to remove the broken entry, then load the data again."
        )

    def _identifier(self, table: str) -> tuple[str, str]:
        return (self.namespace, check_name("table", table))

    def _qualified(self, table: str) -> str:
        return f"{self.namespace}.{table}"

    def _remove_local_folder(self, location: str) -> None:
        """Delete a table folder, but only a local one inside our own warehouse."""
        folder = _local_path(location)
        warehouse = _local_path(self.warehouse)
        if folder is None or warehouse is None or not folder.exists():
            return
        if folder.resolve().is_relative_to(warehouse.resolve()) and folder.resolve() != warehouse.resolve():
            shutil.rmtree(folder, ignore_errors=True)


def frame_to_arrow(frame: pd.DataFrame, schema: pa.Schema, table: str) -> pa.Table:
    """Convert `frame` to exactly `schema`: same columns, lossless casts, no null in a required column."""
    if not isinstance(frame, pd.DataFrame):
        raise LakeError(f"table {table}: expected a pandas DataFrame, got {type(frame).__name__}")
    duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if duplicated:
        raise LakeError(f"table {table}: the frame has duplicated columns {duplicated}")
    expected = list(schema.names)
    missing = [name for name in expected if name not in frame.columns]
    extra = [str(name) for name in frame.columns if name not in expected]
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"missing column(s) {missing}")
        if extra:
            problems.append(f"unexpected column(s) {extra}")
        raise LakeError(
            f"table {table}: the frame does not match the table schema: {'; '.join(problems)} "
            f"(expected columns {expected})"
        )
    try:
        data = pa.Table.from_pandas(frame, schema=schema, preserve_index=False, safe=True)
    except _CONVERSION_ERRORS as exc:
        raise LakeError(f"table {table}: {_conversion_problem(frame, schema, exc)}") from exc
    # Arrow checks nullability only for some input types: check every required column ourselves.
    nulls = [field.name for field in schema if not field.nullable and data.column(field.name).null_count]
    if nulls:
        raise LakeError(f"table {table}: required column(s) {nulls} contain nulls")
    return data.replace_schema_metadata(None)


def _conversion_problem(frame: pd.DataFrame, schema: pa.Schema, exc: Exception) -> str:
    """Name the first column that cannot be converted, and why."""
    for field in schema:
        series = frame[field.name]
        if not field.nullable and bool(series.isna().any()):
            return f"required column {field.name!r} contains {int(series.isna().sum())} null value(s)"
        try:
            pa.Array.from_pandas(series, type=field.type, safe=True)
        except _CONVERSION_ERRORS as column_exc:
            return (
                f"column {field.name!r} (dtype {series.dtype}) cannot be stored as {field.type} "
                f"without loss: {column_exc}"
            )
    return f"the frame cannot be converted to the table schema: {exc}"


def arrow_to_frame(data: pa.Table) -> pd.DataFrame:
    """A pandas frame whose dtypes follow the schema: int64, float64, bool, object (str), datetime64[ns]."""
    columns = {}
    for field in data.schema:
        nullable_dtype = _NULLABLE_DTYPES.get(field.type) if field.nullable else None
        columns[field.name] = data.column(field.name).to_pandas(
            types_mapper=None if nullable_dtype is None else {field.type: nullable_dtype}.get,
            coerce_temporal_nanoseconds=True,
        )
    return pd.DataFrame(columns, index=pd.RangeIndex(data.num_rows))


def _read_in_commit_order(iceberg: Table, snapshot: IcebergSnapshot, tasks: Iterable[FileScanTask]) -> pa.Table:
    """Read the planned files oldest commit first, so rows come back in the order they were written.

    PyIceberg plans the newest manifest first; sorting by data sequence number (then by position in
    the manifest) restores write order, which keeps reads reproducible for training.
    """
    order: dict[str, tuple[int, int]] = {}
    for manifest in snapshot.manifests(iceberg.io):
        for position, entry in enumerate(manifest.fetch_manifest_entry(iceberg.io, discard_deleted=True)):
            order[entry.data_file.file_path] = (entry.sequence_number or 0, position)
    ordered = sorted(tasks, key=lambda task: order.get(task.file.file_path, (0, 0)))
    scan = ArrowScan(iceberg.metadata, iceberg.io, _schema_at(iceberg, snapshot), AlwaysTrue())
    return scan.to_table(ordered)


def _schema_at(iceberg: Table, snapshot: IcebergSnapshot) -> IcebergSchema:
    """The schema a snapshot was written with (older snapshots keep their columns after a replace)."""
    if snapshot.schema_id is not None:
        for schema in iceberg.metadata.schemas:
            if schema.schema_id == snapshot.schema_id:
                return schema
    return iceberg.schema()


def _write_data_files(
    transaction: Transaction, iceberg: Table, data: pa.Table, commit_uuid: uuid.UUID
) -> Iterable[DataFile]:
    """Parquet files for `data` under the table, as PyIceberg's own append writes them."""
    return _dataframe_to_data_files(
        table_metadata=transaction.table_metadata, df=data, io=iceberg.io, write_uuid=commit_uuid
    )


def schema_evolution(current: pa.Schema, wanted: pa.Schema, table: str) -> Callable[[UpdateSchema], None] | None:
    """The schema update that turns `current` into `wanted`, None if none is needed.

    Adding, removing, reordering columns, changing nullability and Iceberg's promotions are fine:
    the replace writes every row again and old snapshots keep their own schema. Any other type change
    would make Iceberg misread old files, so it is refused.
    """
    old = {field.name: field for field in current}
    changed = [
        f"{field.name!r} from {old[field.name].type} to {field.type}"
        for field in wanted
        if field.name in old
        and old[field.name].type != field.type
        and (old[field.name].type, field.type) not in _PROMOTIONS
    ]
    if changed:
        raise LakeError(
            f"table {table}: cannot change the type of column(s) {', '.join(changed)} in place. "
            "To load data with the new types, drop the table (`cml-mlops lake drop --yes`, which discards "
            "its history) and load again."
        )
    if current.equals(wanted):
        return None
    removed = [name for name in old if name not in wanted.names]
    tightened = [f.name for f in wanted if f.name in old and old[f.name].nullable and not f.nullable]

    def evolve(update: UpdateSchema) -> None:
        for name in removed:
            update.delete_column(name)
        update.union_by_name(wanted)  # adds columns, promotes types, relaxes nullability
        for name in tightened:
            update.update_column(name, required=True)
        names = wanted.names
        update.move_first(names[0])
        for previous, name in itertools.pairwise(names):
            update.move_after(name, previous)

    return evolve


def _snapshot(snapshot: IcebergSnapshot) -> Snapshot:
    summary = snapshot.summary
    return Snapshot(
        snapshot_id=snapshot.snapshot_id,
        parent_id=snapshot.parent_snapshot_id,
        committed_at=datetime.fromtimestamp(snapshot.timestamp_ms / 1000, tz=timezone.utc),
        operation=_operation(snapshot),
        added_rows=int((summary["added-records"] if summary else None) or 0),
        total_rows=int((summary["total-records"] if summary else None) or 0),
    )


def _operation(snapshot: IcebergSnapshot) -> str:
    return "unknown" if snapshot.summary is None else str(snapshot.summary.operation.value)


def plain_schema(schema: pa.Schema) -> pa.Schema:
    """The schema without Iceberg/pandas metadata and with plain strings, so schemas compare by content."""
    return pa.schema(
        [
            pa.field(f.name, pa.string() if pa.types.is_large_string(f.type) else f.type, nullable=f.nullable)
            for f in schema
        ]
    )


def _delete_quietly(iceberg: Table, paths: list[str]) -> None:
    """Best effort: a failed write should not leave its files behind (they are never referenced)."""
    for path in paths:
        try:
            iceberg.io.delete(path)
        except OSError as exc:  # pragma: no cover - depends on the storage failing twice
            log.warning("could not delete orphan file %s: %s", path, exc)


def first_line(exc: BaseException) -> str:
    """The gist of a driver error (SQLAlchemy appends background links on further lines)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def check_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not re.fullmatch(IDENTIFIER_PATTERN, name):
        raise LakeError(f"invalid {kind} name {name!r}: use letters, digits and underscores, not starting with a digit")
    return name


def _local_path(location: str) -> Path | None:
    """The local folder behind a file:// URI or plain path; None for remote storage."""
    parts = urlsplit(location)
    if parts.scheme == "file":
        return Path(url2pathname(unquote(parts.path)))
    if parts.scheme == "" or (len(parts.scheme) == 1 and location[1:3] in (":\\", ":/")):
        return Path(location)
    return None


def prepare_warehouse(warehouse: str) -> str:
    """The warehouse as a URI; a local folder is created so the first write does not fail on it."""
    folder = _local_path(warehouse)
    if folder is None:
        return warehouse
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve().as_uri()


def prepare_sqlite_folder(catalog_uri: str) -> None:
    """Create the folder of a SQLite catalog file (SQLite creates the file, not its folder)."""
    try:
        url = make_url(catalog_uri)
    except ArgumentError as exc:
        raise LakeError(f"lake.catalog_uri is not a valid SQLAlchemy URL: {exc}") from exc
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def redact(catalog_uri: str) -> str:
    """The catalog URL for messages, without its password."""
    try:
        return make_url(catalog_uri).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"

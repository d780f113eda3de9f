"""The Spark lake: the same Iceberg tables as the PyIceberg engine, read and written by Spark.

Both engines share one catalog database (Iceberg's JdbcCatalog here, PyIceberg's SqlCatalog there, under the
same catalog name), so a table written by one is read by the other. Frames are checked against the table
schema exactly as the PyIceberg engine checks them, then written by one Iceberg commit: Spark's
append/overwrite/CTAS are atomic, so a failure leaves the table at its previous snapshot.

Besides the pandas interface of `Lake`, `dataframe()` and `increment_dataframe()` give Spark DataFrames for
work that should stay distributed (contracts, batch scoring).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cml_mlops.errors import LakeError
from cml_mlops.lake.base import Lake, NoSuchTable, Snapshot
from cml_mlops.lake.pyiceberg_lake import (
    KNOWN_SNAPSHOTS_SHOWN,
    arrow_to_frame,
    check_name,
    first_line,
    frame_to_arrow,
    plain_schema,
    prepare_warehouse,
    schema_evolution,
)
from cml_mlops.lake.spark_session import (
    SparkSettings,
    jdbc_catalog,
    prepare_catalog_database,
    register_catalog,
    spark_session,
)

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.table.update.schema import UpdateSchema
    from pyspark.sql import DataFrame, SparkSession

_ORDER = "__cml_order"  # commit order of a row's data file, joined in to return rows in write order
CML_CATALOG = "spark_catalog"  # the session catalog, Iceberg over the Hive Metastore (lake.spark.profile: cml)


class SparkLake(Lake):
    """Iceberg tables in `namespace` of a JdbcCatalog named `catalog_name`, through the process's Spark session."""

    def __init__(
        self,
        catalog_name: str,
        catalog_uri: str,
        warehouse: str,
        namespace: str,
        settings: SparkSettings | None = None,
        spark: SparkSession | None = None,
    ) -> None:
        self.namespace = check_name("namespace", namespace)
        self.settings = settings or SparkSettings()
        self._pyiceberg: SqlCatalog | None = None
        if self.settings.profile == "cml":
            # In a workspace the tables live in the data lake's Hive Metastore (SparkSessionCatalog).
            self.catalog_name = CML_CATALOG
            self.warehouse = warehouse
            self.spark = spark or spark_session(self.settings)
        else:
            self.catalog_name = check_name("catalog", catalog_name)
            self.warehouse = prepare_warehouse(warehouse)
            self._pyiceberg = prepare_catalog_database(catalog_uri, catalog_name, self.warehouse)
            self.spark = spark or spark_session(self.settings, jdbc_catalog(catalog_uri).backend)
            register_catalog(self.spark, catalog_name, catalog_uri, self.warehouse)
        self._sql(f"CREATE NAMESPACE IF NOT EXISTS {self.catalog_name}.{self.namespace}", "open the catalog")

    # -- reading the catalog -------------------------------------------------------------------

    def snapshots(self, table: str) -> list[Snapshot]:
        from pyspark.sql import functions as F

        self._load(table)
        rows = (
            self.spark.table(f"{self._name(table)}.snapshots")
            .select(
                "snapshot_id",
                "parent_id",
                "operation",
                F.unix_micros("committed_at").alias("micros"),
                F.col("summary")["added-records"].alias("added"),
                F.col("summary")["total-records"].alias("total"),
            )
            .collect()
        )
        # The metadata lists snapshots in commit order; the sort only guards against an engine that does not.
        ordered = sorted(enumerate(rows), key=lambda item: (item[1]["micros"], item[0]))
        return [
            Snapshot(
                snapshot_id=int(row["snapshot_id"]),
                parent_id=None if row["parent_id"] is None else int(row["parent_id"]),
                committed_at=datetime.fromtimestamp(row["micros"] / 1_000_000, tz=timezone.utc),
                operation=str(row["operation"] or "unknown"),
                added_rows=int(row["added"] or 0),
                total_rows=int(row["total"] or 0),
            )
            for _, row in ordered
        ]

    def current_snapshot(self, table: str) -> Snapshot | None:
        self._load(table)
        refs = self.spark.table(f"{self._name(table)}.refs").where("name = 'main'").collect()
        if not refs:
            return None
        current = int(refs[0]["snapshot_id"])
        return next(s for s in self.snapshots(table) if s.snapshot_id == current)

    def schema(self, table: str) -> pa.Schema:
        from pyspark.sql.pandas.types import to_arrow_schema

        return plain_schema(to_arrow_schema(self._load(table).schema))

    def dataframe(self, table: str, snapshot_id: int | None = None) -> DataFrame:
        """The table at a snapshot (default current) as a Spark DataFrame, in no particular row order."""
        frame = self._load(table)
        if snapshot_id is None:
            return frame
        self._known_snapshot(table, snapshot_id)
        # SQL time travel reads with the snapshot's own schema (the reader option would use the current one).
        # Names are checked identifiers and the id an int, so the statement cannot be injected into.
        return self.spark.sql(f"SELECT * FROM {self._name(table)} VERSION AS OF {int(snapshot_id)}")  # noqa: S608

    def increment_dataframe(self, table: str, from_snapshot_id: int, to_snapshot_id: int | None = None) -> DataFrame:
        """The rows appended after `from_snapshot_id` up to `to_snapshot_id` (default current), as a DataFrame."""
        end = self._increment_end(table, from_snapshot_id, to_snapshot_id)
        if end == from_snapshot_id:
            return self.dataframe(table, end).limit(0)
        return (
            self.spark.read.option("start-snapshot-id", from_snapshot_id)
            .option("end-snapshot-id", end)
            .table(self._name(table))
        )

    def read(self, table: str, snapshot_id: int | None = None) -> pd.DataFrame:
        current = self.current_snapshot(table) if snapshot_id is None else None
        at = snapshot_id if snapshot_id is not None else (None if current is None else current.snapshot_id)
        if at is None:
            return arrow_to_frame(self.schema(table).empty_table())
        return self._collect(table, self.dataframe(table, at), at)

    def read_increment(self, table: str, from_snapshot_id: int, to_snapshot_id: int | None = None) -> pd.DataFrame:
        end = self._increment_end(table, from_snapshot_id, to_snapshot_id)
        return self._collect(table, self.increment_dataframe(table, from_snapshot_id, end), end)

    # -- writing -----------------------------------------------------------------------------------

    def create_or_replace(self, table: str, frame: pd.DataFrame, schema: pa.Schema) -> Snapshot:
        from pyspark.sql import functions as F

        schema = plain_schema(schema)
        data = self._spark_frame(frame_to_arrow(frame, schema, self._qualified(table)))
        if not self.table_exists(table):
            self._create(table, data)
        else:
            evolve = schema_evolution(self.schema(table), schema, self._qualified(table))
            undo = None if evolve is None else schema_evolution(schema, self.schema(table), self._qualified(table))
            if evolve is not None:
                self._update_schema(table, evolve)
            try:
                self._write(table, lambda: data.writeTo(self._name(table)).overwrite(F.lit(True)))
            except LakeError:
                if undo is not None:
                    self._update_schema(table, undo)
                raise
        current = self.current_snapshot(table)
        assert current is not None  # the commit above made one
        return current

    def append(self, table: str, frame: pd.DataFrame) -> Snapshot:
        data = frame_to_arrow(frame, self.schema(table), self._qualified(table))
        return self.append_dataframe(table, self._spark_frame(data))

    def append_dataframe(self, table: str, data: DataFrame) -> Snapshot:
        """Append a Spark DataFrame whose columns match the table's, as one snapshot."""
        self._write(table, lambda: data.writeTo(self._name(table)).append())
        current = self.current_snapshot(table)
        assert current is not None  # the commit above made one
        return current

    def overwrite_dataframe(self, table: str, data: DataFrame) -> Snapshot:
        """Make a Spark DataFrame with the table's columns its whole content, as one snapshot."""
        from pyspark.sql import functions as F

        self._write(table, lambda: data.writeTo(self._name(table)).overwrite(F.lit(True)))
        current = self.current_snapshot(table)
        assert current is not None  # the commit above made one
        return current

    def write_dataframe(self, table: str, data: DataFrame) -> Snapshot:
        """Append a Spark DataFrame, creating the table with the DataFrame's schema when it does not exist."""
        if self.table_exists(table):
            return self.append_dataframe(table, data)
        self._create(table, data)
        current = self.current_snapshot(table)
        assert current is not None  # the commit above made one
        return current

    def drop(self, table: str) -> None:
        check_name("table", table)
        if not self.spark.catalog.tableExists(self._name(table)):
            raise LakeError(f"table {self._qualified(table)} does not exist: nothing to drop")
        try:
            self.spark.sql(f"DROP TABLE {self._name(table)} PURGE")
        except Exception as exc:
            raise LakeError(f"dropping table {self._qualified(table)} failed: {first_line(exc)}") from exc

    # -- helpers -------------------------------------------------------------------------------------

    def _create(self, table: str, data: DataFrame) -> None:
        """CREATE TABLE with the exact schema, then the rows as its first snapshot; no table if that fails.

        Not CREATE TABLE AS SELECT: Spark makes every column of a CTAS optional.
        """
        columns = ", ".join(
            f"`{field.name}` {field.dataType.simpleString()}{'' if field.nullable else ' NOT NULL'}"
            for field in data.schema.fields
        )
        self._sql(f"CREATE TABLE {self._name(table)} ({columns}) USING iceberg", f"create table {table} in")
        try:
            self._write(table, lambda: data.writeTo(self._name(table)).append(), created=True)
        except LakeError:
            self.spark.sql(f"DROP TABLE IF EXISTS {self._name(table)} PURGE")
            raise

    def _update_schema(self, table: str, evolve: Callable[[UpdateSchema], None]) -> None:
        """A metadata-only schema change through PyIceberg, which (unlike Spark DDL) can make a column required."""
        if self._pyiceberg is None:
            raise LakeError(
                f"table {self._qualified(table)}: changing its schema is not supported on the cml Spark profile; "
                f"drop the table (`cml-mlops lake drop --table {table} --yes`) and load it again"
            )
        iceberg = self._pyiceberg.load_table((self.namespace, table))
        with iceberg.update_schema(allow_incompatible_changes=True) as update:
            evolve(update)

    def _write(self, table: str, commit: Callable[[], None], created: bool = False) -> None:
        before = None if created else self.current_snapshot(table)
        try:
            commit()
        except Exception as exc:
            at = "no snapshot" if before is None else f"snapshot {before.snapshot_id}"
            state = "nothing was created" if created else f"the table is unchanged (still at {at})"
            raise LakeError(f"writing to table {self._qualified(table)} failed and {state}: {first_line(exc)}") from exc

    def _spark_frame(self, data: pa.Table) -> DataFrame:
        """A Spark DataFrame of an Arrow table already checked against the schema (nullability kept)."""
        from pyspark.sql.pandas.types import from_arrow_schema

        return self.spark.createDataFrame(data.to_pandas(), schema=from_arrow_schema(data.schema))

    def to_frame(self, table: str, frame: DataFrame, snapshot_id: int) -> pd.DataFrame:
        """Rows of `frame` (read from `table` at `snapshot_id`, e.g. a sample) to pandas, in write order."""
        return self._collect(table, frame, snapshot_id)

    def _collect(self, table: str, frame: DataFrame, snapshot_id: int) -> pd.DataFrame:
        """Rows to pandas in write order (oldest commit first), with the dtypes of the PyIceberg engine."""
        from pyspark.sql import functions as F

        order = self._file_order(table, snapshot_id)
        columns = [name for name in frame.columns if name not in ("_file", "_pos")]
        located = frame if "_file" in frame.columns else frame.select(*columns, F.col("_pos"), F.col("_file"))
        ranked = located.join(F.broadcast(order), "_file", "left")
        arrow_batches = ranked.select(*columns, _ORDER, "_pos")._collect_as_arrow()
        schema = plain_schema(_to_arrow_schema(frame.select(*columns)))
        if not arrow_batches:
            return arrow_to_frame(schema.empty_table())
        collected = pa.Table.from_batches(arrow_batches)
        indices = pc.sort_indices(collected, sort_keys=[(_ORDER, "ascending"), ("_pos", "ascending")])
        rows = collected.take(indices).select(columns)
        return arrow_to_frame(rows.cast(schema))

    def _file_order(self, table: str, snapshot_id: int) -> DataFrame:
        """Each live data file with its commit rank (data sequence number, then position in its manifest)."""
        from pyspark.sql import functions as F

        entries = (
            self.spark.read.option("snapshot-id", snapshot_id)
            .table(f"{self._name(table)}.entries")
            .where("status != 2")
            .select(F.col("data_file.file_path").alias("file_path"), "sequence_number")
            .collect()
        )
        ranked = sorted(enumerate(entries), key=lambda item: (item[1]["sequence_number"] or 0, item[0]))
        pairs = [(row["file_path"], rank) for rank, (_, row) in enumerate(ranked)]
        return self.spark.createDataFrame(pairs or [("", 0)], schema=f"_file string, {_ORDER} long")

    def _increment_end(self, table: str, from_id: int, to_id: int | None) -> int:
        """Check the range is a forward, append-only stretch of history; the end snapshot id."""
        snapshots = {s.snapshot_id: s for s in self.snapshots(table)}
        self._known_snapshot(table, from_id, snapshots)
        if to_id is None:
            current = self.current_snapshot(table)
            if current is None:
                raise LakeError(f"table {self._qualified(table)} has no snapshot yet: there is no increment to read")
            to_id = current.snapshot_id
        self._known_snapshot(table, to_id, snapshots)
        chain = []
        cursor: int | None = to_id
        while cursor is not None and cursor != from_id:
            chain.append(snapshots[cursor])
            cursor = snapshots[cursor].parent_id if snapshots[cursor].parent_id in snapshots else None
        if cursor is None:
            raise LakeError(
                f"snapshot {from_id} of table {self._qualified(table)} is not an ancestor of snapshot {to_id}: "
                "an increment must go forward along the table's history"
            )
        not_appends = [s for s in chain if s.operation != "append"]
        if not_appends:
            listed = ", ".join(f"{s.snapshot_id} ({s.operation})" for s in not_appends)
            raise LakeError(
                f"the increment of table {self._qualified(table)} from snapshot {from_id} to {to_id} is not "
                f"append-only: {listed} rewrote the table. Read the whole table at snapshot {to_id} instead."
            )
        return to_id

    def _known_snapshot(self, table: str, snapshot_id: int, known: dict[int, Snapshot] | None = None) -> None:
        snapshots = known if known is not None else {s.snapshot_id: s for s in self.snapshots(table)}
        if snapshot_id not in snapshots:
            recent = ", ".join(str(s) for s in list(snapshots)[-KNOWN_SNAPSHOTS_SHOWN:]) or "none"
            raise LakeError(
                f"table {self._qualified(table)} has no snapshot {snapshot_id} (known: {recent}); "
                "list them with `cml-mlops lake snapshots`"
            )

    def _load(self, table: str) -> DataFrame:
        name = self._name(table)
        try:
            exists = self.spark.catalog.tableExists(name)
            if exists:
                return self.spark.table(name)
        except Exception as exc:
            raise LakeError(
                f"table {self._qualified(table)} cannot be loaded ({first_line(exc)}). If its files are missing, run "
                f"`cml-mlops lake drop --table {table} --yes` to remove the broken entry, then load the data again."
            ) from exc
        raise NoSuchTable(
            f"table {self._qualified(table)} does not exist in the lake (catalog {self.catalog_name}): "
            "load data into it first"
        )

    def _sql(self, statement: str, action: str) -> None:
        try:
            self.spark.sql(statement)
        except Exception as exc:
            raise LakeError(
                f"cannot {action} {self.catalog_name}: {first_line(exc)}. Check lake.catalog_uri and that the "
                "database server is running."
            ) from exc

    def _name(self, table: str) -> str:
        return f"{self.catalog_name}.{self.namespace}.{check_name('table', table)}"

    def _qualified(self, table: str) -> str:
        return f"{self.namespace}.{table}"


def _to_arrow_schema(frame: DataFrame) -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(frame.schema)

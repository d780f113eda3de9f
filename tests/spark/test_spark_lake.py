"""The Spark engine keeps the lake's promises, and shares its tables with the PyIceberg engine both ways."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow
import pytest

from cml_mlops.errors import LakeError
from cml_mlops.lake import PyIcebergLake, arrow_schema
from cml_mlops.lake.base import Lake
from cml_mlops.lake.spark_lake import SparkLake
from cml_mlops.lake.spark_session import jdbc_catalog
from cml_mlops.quarantine import REASON_COLUMN, quarantine_schema
from tests.lake.contract import Customers, as_read, customers
from tests.spark.conftest import NAMESPACE, TEST_SETTINGS

pytestmark = pytest.mark.spark
SCHEMA = arrow_schema(Customers)


def _write_history(lake: Lake) -> list[int]:
    """A create and two appends; the snapshot ids."""
    ids = [lake.create_or_replace("customers", customers(4), SCHEMA).snapshot_id]
    ids.append(lake.append("customers", customers(3, start=40)).snapshot_id)
    ids.append(lake.append("customers", customers(2, start=60)).snapshot_id)
    return ids


def _assert_same_view(writer: Lake, reader: Lake, ids: list[int]) -> None:
    assert reader.snapshots("customers") == writer.snapshots("customers")
    assert reader.current_snapshot("customers") == writer.current_snapshot("customers")
    assert reader.schema("customers") == SCHEMA
    batches = [customers(4), customers(3, start=40), customers(2, start=60)]
    for i, snapshot_id in enumerate(ids):
        expected = as_read(pd.concat(batches[: i + 1], ignore_index=True))
        pd.testing.assert_frame_equal(reader.read("customers", snapshot_id), expected)
    pd.testing.assert_frame_equal(
        reader.read_increment("customers", ids[0]), as_read(pd.concat(batches[1:], ignore_index=True))
    )
    pd.testing.assert_frame_equal(reader.read_increment("customers", ids[1], ids[2]), as_read(batches[2]))
    assert reader.read_increment("customers", ids[2]).empty


def test_spark_reads_what_pyiceberg_wrote(engines: tuple[PyIcebergLake, SparkLake]) -> None:
    pyiceberg, on_spark = engines
    ids = _write_history(pyiceberg)

    _assert_same_view(pyiceberg, on_spark, ids)


def test_pyiceberg_reads_what_spark_wrote(engines: tuple[PyIcebergLake, SparkLake]) -> None:
    pyiceberg, on_spark = engines
    ids = _write_history(on_spark)

    assert [s.operation for s in on_spark.snapshots("customers")] == ["append"] * 3
    assert on_spark.snapshots("customers")[1].parent_id == ids[0]
    _assert_same_view(on_spark, pyiceberg, ids)


def test_engines_take_turns_on_one_table(engines: tuple[PyIcebergLake, SparkLake]) -> None:
    pyiceberg, on_spark = engines
    first = pyiceberg.create_or_replace("customers", customers(2), SCHEMA)
    on_spark.append("customers", customers(2, start=50))
    pyiceberg.append("customers", customers(1, start=70))

    expected = as_read(pd.concat([customers(2), customers(2, start=50), customers(1, start=70)], ignore_index=True))
    for lake in engines:
        pd.testing.assert_frame_equal(lake.read("customers"), expected)
        assert len(lake.read_increment("customers", first.snapshot_id)) == 3


def test_replace_keeps_the_history_readable_and_ends_the_increment(spark_lake: SparkLake) -> None:
    first = spark_lake.create_or_replace("customers", customers(4), SCHEMA)
    replaced = spark_lake.create_or_replace("customers", customers(3, start=70), SCHEMA)

    assert (replaced.operation, replaced.parent_id, replaced.total_rows) == ("overwrite", first.snapshot_id, 3)
    pd.testing.assert_frame_equal(spark_lake.read("customers"), as_read(customers(3, start=70)))
    pd.testing.assert_frame_equal(spark_lake.read("customers", first.snapshot_id), as_read(customers(4)))
    with pytest.raises(LakeError, match="not append-only"):
        spark_lake.read_increment("customers", first.snapshot_id)


def test_replace_with_a_new_schema_evolves_it_and_refuses_a_type_change(spark_lake: SparkLake) -> None:
    first = spark_lake.create_or_replace("customers", customers(2), SCHEMA)
    wider = SCHEMA.append(pyarrow.field("note", pyarrow.string(), nullable=True))

    spark_lake.create_or_replace("customers", customers(2).assign(note=["a", None]), wider)

    assert spark_lake.schema("customers") == wider
    pd.testing.assert_frame_equal(spark_lake.read("customers", first.snapshot_id), as_read(customers(2)))
    retyped = SCHEMA.set(0, pyarrow.field("age", pyarrow.string(), nullable=False))
    with pytest.raises(LakeError, match="cannot change the type"):
        spark_lake.create_or_replace("customers", customers(2).astype({"age": str}), retyped)


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (customers(2).drop(columns=["job"]), "missing column"),
        (customers(2).assign(age=[1.5, 2.0]), "'age'"),
        (customers(2).assign(job=[None, "admin."]), "'job'"),
    ],
    ids=["missing-column", "lossy-cast", "null-in-required"],
)
def test_a_bad_append_changes_nothing(spark_lake: SparkLake, frame: pd.DataFrame, problem: str) -> None:
    spark_lake.create_or_replace("customers", customers(3), SCHEMA)
    before = spark_lake.snapshots("customers")

    with pytest.raises(LakeError, match=problem):
        spark_lake.append("customers", frame)

    assert spark_lake.snapshots("customers") == before
    pd.testing.assert_frame_equal(spark_lake.read("customers"), as_read(customers(3)))


def test_unknown_tables_snapshots_and_backward_increments_are_named(spark_lake: SparkLake) -> None:
    with pytest.raises(LakeError, match=r"spark_tests\.nothing does not exist"):
        spark_lake.read("nothing")
    assert not spark_lake.table_exists("nothing")
    ids = _write_history(spark_lake)
    with pytest.raises(LakeError, match=rf"no snapshot 12345 \(known: .*{ids[-1]}"):
        spark_lake.read("customers", 12345)
    with pytest.raises(LakeError, match="not an ancestor"):
        spark_lake.read_increment("customers", ids[2], ids[0])
    with pytest.raises(LakeError, match="invalid table name"):
        spark_lake.read("bad-name")


def test_drop_removes_the_table_for_both_engines(engines: tuple[PyIcebergLake, SparkLake]) -> None:
    pyiceberg, on_spark = engines
    pyiceberg.create_or_replace("customers", customers(2), SCHEMA)

    on_spark.drop("customers")

    assert not pyiceberg.table_exists("customers")
    assert not on_spark.table_exists("customers")
    with pytest.raises(LakeError, match="nothing to drop"):
        on_spark.drop("customers")


def test_quarantine_rows_written_by_spark_are_read_by_pyiceberg(engines: tuple[PyIcebergLake, SparkLake]) -> None:
    pyiceberg, on_spark = engines
    rows = pd.DataFrame(
        {
            "age": ["17", None],
            REASON_COLUMN: ["age in_range", "age not_nullable"],
            "_source": ["batch 1", "batch 1"],
            "_quarantined_at": pd.to_datetime(["2026-01-02 03:04:05", "2026-01-02 03:04:06"], utc=True),
        }
    )

    on_spark.create_or_replace("customers_quarantine", rows, quarantine_schema(["age"]))

    pd.testing.assert_frame_equal(pyiceberg.read("customers_quarantine"), rows)
    pd.testing.assert_frame_equal(on_spark.read("customers_quarantine"), rows)


def test_mismatched_catalog_names_are_refused_with_the_name_to_set(
    spark_lake: SparkLake, sqlite_catalog_uri: str, warehouse: Path
) -> None:
    spark_lake.create_or_replace("customers", customers(1), SCHEMA)

    with pytest.raises(LakeError, match=rf"set lake.catalog_name to one of .*{spark_lake.catalog_name}"):
        SparkLake("other_name", sqlite_catalog_uri, str(warehouse), NAMESPACE, TEST_SETTINGS)


def test_a_catalog_name_can_be_pointed_at_another_database_within_a_session(
    spark_lake: SparkLake, tmp_path: Path
) -> None:
    spark_lake.create_or_replace("customers", customers(2), SCHEMA)
    other = tmp_path / "other"

    moved = SparkLake(spark_lake.catalog_name, f"sqlite:///{other}/c.db", str(other), NAMESPACE, TEST_SETTINGS)

    assert not moved.table_exists("customers")
    moved.create_or_replace("customers", customers(1), SCHEMA)
    assert len(moved.read("customers")) == 1


def test_jdbc_urls_follow_the_pyiceberg_catalog_url(tmp_path: Path) -> None:
    assert jdbc_catalog(f"sqlite:///{tmp_path}/c.db").uri == f"jdbc:sqlite:{tmp_path}/c.db"
    pg = jdbc_catalog("postgresql+psycopg2://me:secret@db.example:5433/lake")
    assert (pg.uri, pg.user, pg.password) == ("jdbc:postgresql://db.example:5433/lake", "me", "secret")
    with pytest.raises(LakeError, match="SQLite and PostgreSQL"):
        jdbc_catalog("mysql://host/db")


_START = """
import sys
from cml_mlops.errors import LakeError
from cml_mlops.lake.spark_session import SparkSettings, spark_session
try:
    spark_session(SparkSettings(jdbc_jar_dir=sys.argv[1]), "sqlite")
except LakeError as exc:
    print(exc)
    raise SystemExit(3)
"""


@pytest.mark.parametrize(
    ("path", "jar_dir", "expected"),
    [
        ("/nonexistent", "/usr/share/java", "needs Java 17 and none was found: install it"),
        (None, "/nonexistent", "install Debian's libxerial-sqlite-jdbc-java"),
    ],
    ids=["no-java", "no-jdbc-driver"],
)
def test_missing_system_pieces_say_what_to_install(path: str | None, jar_dir: str, expected: str) -> None:
    # A fresh process: this one already runs Spark. Both checks run before a JVM would start.
    env = {"PATH": path} if path is not None else None
    result = subprocess.run(
        [sys.executable, "-c", _START, jar_dir], capture_output=True, text=True, env=env, timeout=120, check=False
    )

    assert result.returncode == 3, result.stderr
    assert expected in result.stdout

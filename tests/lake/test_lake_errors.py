"""Misuse and broken state give a LakeError that says what to do; open_lake follows the config."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import psycopg2
import pytest
import yaml

from cml_mlops.config import load_config
from cml_mlops.errors import CmlMlopsError, LakeError
from cml_mlops.lake import Lake, PyIcebergLake, arrow_schema, open_lake
from tests.lake.conftest import NAMESPACE
from tests.lake.contract import Customers, as_read, customers
from tests.support.net import free_port

SCHEMA = arrow_schema(Customers)


def test_lake_error_is_a_cml_mlops_error() -> None:
    assert issubclass(LakeError, CmlMlopsError)


@pytest.mark.parametrize(
    "operation",
    [
        lambda lake: lake.read("nowhere"),
        lambda lake: lake.append("nowhere", customers(1)),
        lambda lake: lake.snapshots("nowhere"),
        lambda lake: lake.current_snapshot("nowhere"),
        lambda lake: lake.schema("nowhere"),
        lambda lake: lake.read_increment("nowhere", 1),
        lambda lake: lake.drop("nowhere"),
    ],
    ids=["read", "append", "snapshots", "current_snapshot", "schema", "read_increment", "drop"],
)
def test_an_unknown_table_is_named(sqlite_lake: PyIcebergLake, operation: object) -> None:
    assert not sqlite_lake.table_exists("nowhere")
    with pytest.raises(LakeError, match=rf"{NAMESPACE}\.nowhere does not exist"):
        operation(sqlite_lake)  # type: ignore[operator]


@pytest.mark.parametrize("name", ["has space", "1st", "semi;colon", ""])
def test_an_invalid_table_name_is_refused(sqlite_lake: PyIcebergLake, name: str) -> None:
    with pytest.raises(LakeError, match="invalid table name"):
        sqlite_lake.create_or_replace(name, customers(1), SCHEMA)


def test_an_unknown_snapshot_id_is_named_with_the_known_ones(sqlite_lake: PyIcebergLake) -> None:
    first = sqlite_lake.create_or_replace("customers", customers(2), SCHEMA)

    with pytest.raises(LakeError, match=rf"no snapshot 42 \(known: {first.snapshot_id}\)"):
        sqlite_lake.read("customers", 42)
    with pytest.raises(LakeError, match="no snapshot 42"):
        sqlite_lake.read_increment("customers", 42)
    with pytest.raises(LakeError, match="no snapshot 42"):
        sqlite_lake.read_increment("customers", first.snapshot_id, 42)


def test_an_increment_must_go_forward(sqlite_lake: PyIcebergLake) -> None:
    first = sqlite_lake.create_or_replace("customers", customers(2), SCHEMA)
    second = sqlite_lake.append("customers", customers(1, start=50))

    with pytest.raises(LakeError, match=f"{second.snapshot_id} .* is not an ancestor of snapshot {first.snapshot_id}"):
        sqlite_lake.read_increment("customers", second.snapshot_id, first.snapshot_id)
    empty = sqlite_lake.read_increment("customers", second.snapshot_id)
    pd.testing.assert_frame_equal(empty, as_read(customers(2).iloc[0:0]))


def test_a_non_frame_is_refused(sqlite_lake: PyIcebergLake) -> None:
    with pytest.raises(LakeError, match="expected a pandas DataFrame, got dict"):
        sqlite_lake.create_or_replace("customers", {"age": [1]}, SCHEMA)


def test_a_table_whose_files_were_deleted_is_reported_and_can_be_dropped(
    sqlite_lake: PyIcebergLake, warehouse: Path
) -> None:
    sqlite_lake.create_or_replace("customers", customers(2), SCHEMA)
    shutil.rmtree(warehouse / NAMESPACE / "customers")
    advice = r"files are missing.*cml-mlops lake drop --table customers --yes"

    with pytest.raises(LakeError, match=advice):
        sqlite_lake.table_exists("customers")
    with pytest.raises(LakeError, match=advice):
        sqlite_lake.read("customers")
    with pytest.raises(LakeError, match=advice):
        sqlite_lake.create_or_replace("customers", customers(2), SCHEMA)

    sqlite_lake.drop("customers")
    assert not sqlite_lake.table_exists("customers")
    sqlite_lake.create_or_replace("customers", customers(3), SCHEMA)
    pd.testing.assert_frame_equal(sqlite_lake.read("customers"), as_read(customers(3)))


def test_drop_removes_the_table_and_its_files(sqlite_lake: PyIcebergLake, warehouse: Path) -> None:
    sqlite_lake.create_or_replace("customers", customers(2), SCHEMA)
    sqlite_lake.create_or_replace("others", customers(2), SCHEMA)

    sqlite_lake.drop("customers")

    assert not sqlite_lake.table_exists("customers")
    assert not (warehouse / NAMESPACE / "customers").exists()
    assert sqlite_lake.table_exists("others"), "other tables are untouched"
    assert len(sqlite_lake.read("others")) == 2


def test_an_unreachable_catalog_is_a_lake_error_without_the_password(tmp_path: Path) -> None:
    uri = f"postgresql+psycopg2://someone:s3cret@127.0.0.1:{free_port()}/nothing?connect_timeout=2"

    with pytest.raises(LakeError, match=r"cannot open the Iceberg catalog .*\*\*\*.*server is running") as caught:
        PyIcebergLake("lake_tests", uri, str(tmp_path / "warehouse"), NAMESPACE)
    assert "s3cret" not in str(caught.value)


def test_an_invalid_catalog_url_is_a_lake_error(tmp_path: Path) -> None:
    with pytest.raises(LakeError, match="not a valid SQLAlchemy URL"):
        PyIcebergLake("lake_tests", "not a url", str(tmp_path / "warehouse"), NAMESPACE)


def write_project(root: Path) -> Path:
    config = {
        "project": {"name": "Lake test", "package": "lake_test"},
        "data": {"url": "file:///nowhere/bank.zip", "member": "bank.csv"},
        "lake": {"namespace": "bank", "table": "customers"},
        "tracking": {"experiment": "lake-test", "model_name": "lake_test"},
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / "cml-mlops.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return root


def test_open_lake_defaults_to_sqlite_and_a_warehouse_under_the_project(tmp_path: Path) -> None:
    project = write_project(tmp_path / "project")

    with open_lake(load_config(project, environ={})) as lake:
        assert isinstance(lake, Lake)
        lake.create_or_replace("customers", customers(2), SCHEMA)

    assert (project / "lake" / "catalog.db").is_file()
    assert (project / "lake" / "warehouse" / "bank" / "customers" / "metadata").is_dir()
    # A second opening sees the same table.
    with open_lake(load_config(project, environ={})) as again:
        pd.testing.assert_frame_equal(again.read("customers"), as_read(customers(2)))


@pytest.mark.postgres
def test_open_lake_uses_a_postgresql_catalog_by_configuration(tmp_path: Path, postgres_catalog_uri: str) -> None:
    project = write_project(tmp_path / "project")
    config = load_config(project, environ={"CML_MLOPS_LAKE_CATALOG_URI": postgres_catalog_uri})

    with open_lake(config) as lake:
        snapshot = lake.create_or_replace("customers", customers(2), SCHEMA)
        pd.testing.assert_frame_equal(lake.read("customers"), as_read(customers(2)))

    assert not (project / "lake" / "catalog.db").exists()
    dsn = postgres_catalog_uri.replace("postgresql+psycopg2://", "postgresql://")
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT table_namespace, table_name, metadata_location FROM iceberg_tables")
        rows = cursor.fetchall()
    connection.close()
    assert [(namespace, name) for namespace, name, _ in rows] == [("bank", "customers")]
    assert str(snapshot.snapshot_id) in Path(rows[0][2].removeprefix("file://")).read_text(encoding="utf-8")

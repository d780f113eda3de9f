"""A failed write, whatever the cause, leaves the table at its previous snapshot (or absent)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow
import pytest
from pyiceberg.catalog.sql import SqlCatalog

from cml_mlops.errors import LakeError
from cml_mlops.lake import PyIcebergLake, arrow_schema
from tests.lake.conftest import NAMESPACE
from tests.lake.contract import Customers, as_read, customers

SCHEMA = arrow_schema(Customers)


def parquet_files(warehouse: Path) -> set[Path]:
    return set(warehouse.rglob("*.parquet"))


def with_column(frame: pd.DataFrame, name: str, values: list[Any]) -> pd.DataFrame:
    changed = frame.copy()
    changed[name] = pd.Series(values, dtype=object)
    return changed


BAD_FRAMES: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], str]] = {
    "missing column": (lambda f: f.drop(columns=["job"]), r"missing column\(s\) \['job'\]"),
    "extra column": (lambda f: f.assign(surprise=1), r"unexpected column\(s\) \['surprise'\]"),
    "renamed column": (
        lambda f: f.rename(columns={"balance": "Balance"}),
        r"missing column\(s\) \['balance'\]; unexpected column\(s\) \['Balance'\]",
    ),
    "text in an int column": (lambda f: with_column(f, "age", ["x", 31]), "column 'age'"),
    "fraction in an int column": (lambda f: f.assign(age=[30.5, 31.0]), "column 'age'.*without loss"),
    "null in a required column": (lambda f: with_column(f, "job", ["admin.", None]), "'job'.*null"),
    "NaN in a required float column": (lambda f: f.assign(balance=[1.0, float("nan")]), "'balance'.*null"),
    # Every column but the last converts: the failure comes in the middle of the conversion.
    "bad value in the last column": (lambda f: with_column(f, "default", [True, "maybe"]), "column 'default'"),
    "duplicated column": (lambda f: pd.concat([f, f[["age"]]], axis=1), r"duplicated columns \['age'\]"),
}


# Frames are checked before the catalog is touched, so one catalog database is enough here.
@pytest.mark.parametrize("case", list(BAD_FRAMES))
def test_a_bad_append_changes_nothing(sqlite_lake: PyIcebergLake, case: str) -> None:
    lake = sqlite_lake
    make_bad, message = BAD_FRAMES[case]
    lake.create_or_replace("customers", customers(3), SCHEMA)
    before = lake.snapshots("customers")

    with pytest.raises(LakeError, match=message):
        lake.append("customers", make_bad(customers(2, start=50)))

    assert lake.snapshots("customers") == before
    pd.testing.assert_frame_equal(lake.read("customers"), as_read(customers(3)))


@pytest.mark.parametrize("case", list(BAD_FRAMES))
def test_a_bad_replace_changes_nothing(sqlite_lake: PyIcebergLake, case: str) -> None:
    lake = sqlite_lake
    make_bad, message = BAD_FRAMES[case]
    lake.create_or_replace("customers", customers(3), SCHEMA)
    before = lake.snapshots("customers")

    with pytest.raises(LakeError, match=message):
        lake.create_or_replace("customers", make_bad(customers(2, start=50)), SCHEMA)

    assert lake.snapshots("customers") == before


@pytest.mark.parametrize("case", list(BAD_FRAMES))
def test_a_bad_first_write_creates_no_table(sqlite_lake: PyIcebergLake, warehouse: Path, case: str) -> None:
    lake = sqlite_lake
    make_bad, message = BAD_FRAMES[case]

    with pytest.raises(LakeError, match=message):
        lake.create_or_replace("customers", make_bad(customers(2)), SCHEMA)

    assert not lake.table_exists("customers")
    assert not (warehouse / NAMESPACE / "customers").exists()


def test_an_incompatible_type_change_is_refused_with_advice(lake: PyIcebergLake) -> None:
    lake.create_or_replace("customers", customers(3), SCHEMA)
    before = lake.snapshots("customers")
    schema = SCHEMA.set(0, pyarrow.field("age", pyarrow.string(), nullable=False))

    with pytest.raises(LakeError, match=r"'age' from int64 to string.*drop the table.*load again"):
        lake.create_or_replace("customers", customers(2).astype({"age": str}), schema)

    assert lake.snapshots("customers") == before
    assert lake.schema("customers") == SCHEMA


def failing_commit(*args: object, **kwargs: object) -> None:
    raise RuntimeError("injected: the catalog refused the commit")


def test_a_commit_that_fails_after_the_files_are_written_changes_nothing_and_cleans_up(
    lake: PyIcebergLake, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake.create_or_replace("customers", customers(3), SCHEMA)
    before = lake.snapshots("customers")
    files = parquet_files(warehouse)
    monkeypatch.setattr(SqlCatalog, "commit_table", failing_commit)

    with pytest.raises(LakeError, match=rf"unchanged \(still at snapshot {before[-1].snapshot_id}\).*injected"):
        lake.append("customers", customers(2, start=50))
    with pytest.raises(LakeError, match="injected"):
        lake.create_or_replace("customers", customers(2, start=50), SCHEMA)

    monkeypatch.undo()
    assert lake.snapshots("customers") == before
    assert parquet_files(warehouse) == files, "the data files of the failed writes are deleted"
    pd.testing.assert_frame_equal(lake.read("customers"), as_read(customers(3)))


def test_a_new_table_whose_commit_fails_does_not_exist(
    lake: PyIcebergLake, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SqlCatalog, "commit_table", failing_commit)

    with pytest.raises(LakeError, match=r"nothing was created.*injected"):
        lake.create_or_replace("customers", customers(3), SCHEMA)

    monkeypatch.undo()
    assert not lake.table_exists("customers")
    assert not (warehouse / NAMESPACE / "customers").exists()
    # The name is free: a later load works.
    lake.create_or_replace("customers", customers(3), SCHEMA)
    pd.testing.assert_frame_equal(lake.read("customers"), as_read(customers(3)))


# Runs in a child process that dies (no exception handler, no cleanup) right before the catalog commit,
# after the data files are written: the closest thing to pulling the plug mid-write.
CRASHING_WRITER = """
import os, sys
from pyiceberg.catalog.sql import SqlCatalog
from cml_mlops.lake import PyIcebergLake, arrow_schema
from tests.lake.contract import Customers, customers

def crash(*args, **kwargs):
    os._exit(17)

catalog_uri, warehouse, namespace, operation, table = sys.argv[1:]
lake = PyIcebergLake("lake_tests", catalog_uri, warehouse, namespace)
SqlCatalog.commit_table = crash
if operation == "append":
    lake.append(table, customers(5, start=60))
else:
    lake.create_or_replace(table, customers(5, start=60), arrow_schema(Customers))
sys.exit(0)
"""


def crash_while_writing(catalog_uri: str, warehouse: Path, operation: str, table: str) -> None:
    args = [catalog_uri, str(warehouse), NAMESPACE, operation, table]
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, *args],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 17, f"the writer should have crashed mid-write:\n{done.stderr}"


def test_a_crash_mid_append_leaves_the_previous_snapshot(
    lake: PyIcebergLake, catalog_uri: str, warehouse: Path
) -> None:
    check_crash_mid_write(lake, catalog_uri, warehouse, "append")


def test_a_crash_mid_replace_leaves_the_previous_snapshot(
    sqlite_lake: PyIcebergLake, sqlite_catalog_uri: str, warehouse: Path
) -> None:
    check_crash_mid_write(sqlite_lake, sqlite_catalog_uri, warehouse, "replace")


def check_crash_mid_write(lake: PyIcebergLake, catalog_uri: str, warehouse: Path, operation: str) -> None:
    lake.create_or_replace("customers", customers(3), SCHEMA)
    before = lake.snapshots("customers")
    files = parquet_files(warehouse)

    crash_while_writing(catalog_uri, warehouse, operation, "customers")

    assert len(parquet_files(warehouse)) > len(files), "the crash came after the data files were written"
    assert lake.snapshots("customers") == before
    pd.testing.assert_frame_equal(lake.read("customers"), as_read(customers(3)))
    # The table takes writes again.
    lake.append("customers", customers(1, start=80))
    assert len(lake.snapshots("customers")) == len(before) + 1


def test_a_crash_while_creating_leaves_no_table(lake: PyIcebergLake, catalog_uri: str, warehouse: Path) -> None:
    crash_while_writing(catalog_uri, warehouse, "create", "customers")

    assert not lake.table_exists("customers")
    lake.create_or_replace("customers", customers(2), SCHEMA)
    pd.testing.assert_frame_equal(lake.read("customers"), as_read(customers(2)))

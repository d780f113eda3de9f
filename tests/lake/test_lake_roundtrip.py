"""Frames go through the lake unchanged, every write is one snapshot, and history stays readable."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pyarrow
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cml_mlops.errors import LakeError
from cml_mlops.lake import PyIcebergLake, arrow_schema
from tests.lake.contract import LAKE_SETTINGS, Customers, as_read, concat, customers, new_table

SCHEMA = arrow_schema(Customers)


@LAKE_SETTINGS
@given(frame=Customers.strategy(size=12))
def test_create_then_read_returns_the_frame_unchanged(lake: PyIcebergLake, frame: pd.DataFrame) -> None:
    table = new_table()
    snapshot = lake.create_or_replace(table, frame, SCHEMA)

    pd.testing.assert_frame_equal(lake.read(table), as_read(frame), check_dtype=True)
    assert (snapshot.operation, snapshot.added_rows, snapshot.total_rows) == ("append", len(frame), len(frame))
    assert lake.schema(table) == SCHEMA


@LAKE_SETTINGS
@given(data=st.data(), sizes=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=4))
def test_appended_batches_are_snapshots_and_increments(
    lake: PyIcebergLake, data: st.DataObject, sizes: list[int]
) -> None:
    batches = [data.draw(Customers.strategy(size=size), label=f"batch {i}") for i, size in enumerate(sizes)]
    like = as_read(batches[0])
    table = new_table()

    ids = [lake.create_or_replace(table, batches[0], SCHEMA).snapshot_id]
    for batch in batches[1:]:
        before = len(lake.snapshots(table))
        snapshot = lake.append(table, batch)
        assert len(lake.snapshots(table)) == before + 1, "an append makes exactly one snapshot"
        assert (snapshot.parent_id, snapshot.operation, snapshot.added_rows) == (ids[-1], "append", len(batch))
        ids.append(snapshot.snapshot_id)

    assert [s.snapshot_id for s in lake.snapshots(table)] == ids
    assert lake.current_snapshot(table) == lake.snapshots(table)[-1]
    for i, snapshot_id in enumerate(ids):
        # Reading an old snapshot gives the data as it was then, in write order.
        pd.testing.assert_frame_equal(lake.read(table, snapshot_id), concat(batches[: i + 1], like))
        for j in range(i, len(ids)):
            increment = lake.read_increment(table, snapshot_id, ids[j])
            pd.testing.assert_frame_equal(increment, concat(batches[i + 1 : j + 1], like))
    pd.testing.assert_frame_equal(lake.read_increment(table, ids[0]), concat(batches[1:], like))


def test_snapshot_fields_come_from_the_iceberg_summary(lake: PyIcebergLake) -> None:
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    first = lake.create_or_replace("customers", customers(3), SCHEMA)
    second = lake.append("customers", customers(2, start=40))

    assert first.parent_id is None
    assert (second.parent_id, second.added_rows, second.total_rows) == (first.snapshot_id, 2, 5)
    assert started <= first.committed_at <= second.committed_at <= datetime.now(timezone.utc)
    assert first.committed_at.tzinfo == timezone.utc


def test_replace_keeps_the_history_readable(lake: PyIcebergLake) -> None:
    old = customers(4)
    first = lake.create_or_replace("customers", old, SCHEMA)
    appended = lake.append("customers", customers(2, start=60))
    new = customers(3, start=70)

    replaced = lake.create_or_replace("customers", new, SCHEMA)

    assert (replaced.operation, replaced.parent_id) == ("overwrite", appended.snapshot_id)
    assert (replaced.added_rows, replaced.total_rows) == (3, 3)
    assert [s.snapshot_id for s in lake.snapshots("customers")] == [
        first.snapshot_id,
        appended.snapshot_id,
        replaced.snapshot_id,
    ]
    pd.testing.assert_frame_equal(lake.read("customers"), as_read(new))
    pd.testing.assert_frame_equal(lake.read("customers", first.snapshot_id), as_read(old))
    with pytest.raises(LakeError, match="not append-only"):
        lake.read_increment("customers", first.snapshot_id)
    # Appends after a replace form a new append-only stretch.
    later = lake.append("customers", customers(1, start=90))
    pd.testing.assert_frame_equal(
        lake.read_increment("customers", replaced.snapshot_id), as_read(customers(1, start=90))
    )
    assert lake.current_snapshot("customers") == later


def test_replace_with_new_columns_evolves_the_schema_and_old_snapshots_keep_theirs(lake: PyIcebergLake) -> None:
    first = lake.create_or_replace("customers", customers(2), SCHEMA)
    # Drop "contact", add a required "score" first and an optional "note", reorder, and relax "job".
    new_schema = pyarrow.schema(
        [
            pyarrow.field("score", pyarrow.float64(), nullable=False),
            pyarrow.field("default", pyarrow.bool_(), nullable=False),
            pyarrow.field("age", pyarrow.int64(), nullable=False),
            pyarrow.field("balance", pyarrow.float64(), nullable=False),
            pyarrow.field("job", pyarrow.string(), nullable=True),
            pyarrow.field("note", pyarrow.string(), nullable=True),
        ]
    )
    new = pd.DataFrame(
        {
            "score": [0.5, 0.25],
            "default": [True, False],
            "age": [30, 31],
            "balance": [1.0, 2.0],
            "job": [None, "admin."],
            "note": ["a", None],
        }
    )

    lake.create_or_replace("customers", new, new_schema)

    assert lake.schema("customers") == new_schema
    pd.testing.assert_frame_equal(lake.read("customers"), new)
    pd.testing.assert_frame_equal(lake.read("customers", first.snapshot_id), as_read(customers(2)))


def test_replace_with_the_same_schema_twice_is_two_snapshots(lake: PyIcebergLake) -> None:
    lake.create_or_replace("customers", customers(2), SCHEMA)
    lake.create_or_replace("customers", customers(2), SCHEMA)
    lake.create_or_replace("customers", customers(0), SCHEMA)

    assert [s.operation for s in lake.snapshots("customers")] == ["append", "overwrite", "overwrite"]
    assert lake.read("customers").empty
    assert list(lake.read("customers").dtypes) == list(as_read(customers(2)).dtypes)


def test_values_at_the_edges_round_trip(lake: PyIcebergLake) -> None:
    frame = pd.DataFrame(
        {
            "age": [18, 95, 2**62],
            "balance": [float("inf"), -0.0, 1e-308],
            "job": ["", "ü ✓ 中文", "x" * 10_000],
            "contact": [None, "", "\x00 nul"],
            "default": [True, False, True],
        }
    )

    lake.create_or_replace("edges", frame, SCHEMA)

    pd.testing.assert_frame_equal(lake.read("edges"), frame)


def test_temporal_and_nullable_columns_round_trip_with_stable_dtypes(lake: PyIcebergLake) -> None:
    schema = pyarrow.schema(
        [
            pyarrow.field("when", pyarrow.timestamp("us"), nullable=False),
            pyarrow.field("when_utc", pyarrow.timestamp("us", tz="UTC"), nullable=True),
            pyarrow.field("day", pyarrow.date32(), nullable=True),
            pyarrow.field("count", pyarrow.int64(), nullable=True),
            pyarrow.field("flag", pyarrow.bool_(), nullable=True),
        ]
    )
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime(["2024-01-02 03:04:05.123456", "1999-12-31 00:00:00"], format="ISO8601"),
            "when_utc": pd.to_datetime(pd.Series(["2024-01-02 03:04:05", None]), utc=True),
            "day": [pd.Timestamp("2024-02-29").date(), None],
            "count": pd.array([7, None], dtype="Int64"),
            "flag": pd.array([None, True], dtype="boolean"),
        }
    )

    lake.create_or_replace("temporal", frame, schema)

    pd.testing.assert_frame_equal(lake.read("temporal"), frame)


def test_append_accepts_the_columns_in_any_order(lake: PyIcebergLake) -> None:
    lake.create_or_replace("customers", customers(2), SCHEMA)
    shuffled = customers(2, start=50)[["default", "job", "age", "contact", "balance"]]

    lake.append("customers", shuffled)

    expected = pd.concat([customers(2), customers(2, start=50)], ignore_index=True)
    pd.testing.assert_frame_equal(lake.read("customers"), as_read(expected))


def test_replace_can_make_a_column_required_and_appends_then_follow_it(lake: PyIcebergLake) -> None:
    lake.create_or_replace("customers", customers(3), SCHEMA)
    strict = SCHEMA.set(3, pyarrow.field("contact", pyarrow.string(), nullable=False))
    filled = customers(2).assign(contact=["a", "b"])

    lake.create_or_replace("customers", filled, strict)

    assert lake.schema("customers") == strict
    with pytest.raises(LakeError, match=r"'contact'.*null"):
        lake.append("customers", customers(2))
    lake.append("customers", filled)
    assert len(lake.read("customers")) == 4

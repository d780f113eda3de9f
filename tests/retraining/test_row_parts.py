"""Every row keeps its part for life: recorded by content key, inherited by synthetic rows, split once."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cml_mlops.batches import BatchSpec, Drift, generate_batch
from cml_mlops.batches.generator import source_positions
from cml_mlops.batches.lineage import batch_label
from cml_mlops.row_keys import row_keys
from cml_mlops.training.row_parts import HISTORY, assign_parts, empty_record, parts_of, sources_of
from cml_mlops.training.splits import SplitError, split_frame

SETTINGS: dict[str, Any] = {
    "target": "y",
    "positive_label": "yes",
    "strategy": "stratified",
    "validation": 0.15,
    "test": 0.15,
    "seed": 42,
}


def first_version(frame: pd.DataFrame, **options: Any) -> tuple[Any, pd.DataFrame]:
    return assign_parts(frame, known=empty_record(), lineage=None, new_source=HISTORY, **{**SETTINGS, **options})


def batch_of(source: pd.DataFrame, rows: int, seed: int, noise: float = 0.1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A newbatch batch and its lineage lines, as `newbatch` records them."""
    spec = BatchSpec(rows=rows, seed=seed, noise=noise, drift=Drift(), target="y", positive_label="yes")
    batch = generate_batch(source, spec)
    picked = source.iloc[source_positions(source, spec)]
    lineage = pd.DataFrame(
        {
            "row_key": row_keys(batch).to_numpy(),
            "source_key": row_keys(picked).to_numpy(),
            "source": batch_label(1, seed),
        }
    )
    return batch, lineage


def test_row_keys_are_content_keys_independent_of_order_index_and_integer_width(bank_frame: pd.DataFrame) -> None:
    keys = row_keys(bank_frame)
    assert keys.is_unique and keys.str.fullmatch(r"[0-9a-f]{16}").all()
    shuffled = bank_frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    assert sorted(row_keys(shuffled)) == sorted(keys)
    narrow = bank_frame.astype({"age": "int32", "balance": "float64"})[list(reversed(bank_frame.columns))]
    assert (row_keys(narrow) == keys).all()
    changed = bank_frame.head(3).assign(age=bank_frame["age"].head(3) + 1)
    assert not set(row_keys(changed)) & set(keys.head(3))


def test_the_first_version_is_the_configured_split(bank_frame: pd.DataFrame) -> None:
    split, record = first_version(bank_frame)
    plain = split_frame(bank_frame, **SETTINGS)
    for name in ("train", "validation", "test"):
        assert set(split.parts()[name].index) == set(plain.parts()[name].index)
    assert len(record) == len(bank_frame) and set(record["source"]) == {HISTORY}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    strategy=st.sampled_from(["stratified", "time"]),
    shares=st.tuples(st.floats(0.05, 0.4), st.floats(0.05, 0.4)),
    added=st.integers(0, 600),
)
def test_recorded_rows_keep_their_part_whatever_the_seed_settings_and_row_order(
    bank_frame: pd.DataFrame, seed: int, strategy: str, shares: tuple[float, float], added: int
) -> None:
    history = bank_frame.iloc[: len(bank_frame) - 600]
    _, record = first_version(history)
    table = pd.concat([history, bank_frame.iloc[len(history) : len(history) + added]]).sample(
        frac=1.0, random_state=seed
    )
    options = {**SETTINGS, "seed": seed, "strategy": strategy, "validation": shares[0], "test": shares[1]}
    split, again = assign_parts(table, known=record, lineage=None, new_source="increment@2", **options)
    for name, part in split.parts().items():
        old = part.index[part.index < len(history)]
        assert (parts_of(history.loc[old], record) == name).all()
    assert len(again) == len(history) + added
    assert (sources_of(table.loc[table.index >= len(history)], again) == "increment@2").all()
    assert sum(map(len, split.parts().values())) == len(table)


def test_three_generations_never_move_a_row(bank_frame: pd.DataFrame) -> None:
    """The bug of issue 16: a second retrain re-split the first retrain's table and leaked its training rows."""
    v1 = bank_frame.iloc[:3500]
    _, record1 = first_version(v1)
    v2 = bank_frame.iloc[:4000]
    _, record2 = assign_parts(v2, known=record1, lineage=None, new_source="increment@2", **SETTINGS)
    _, record3 = assign_parts(bank_frame, known=record2, lineage=None, new_source="increment@3", **SETTINGS)
    merged = record1.merge(record2, on="row_key").merge(record3, on="row_key")
    assert (
        len(merged) == 3500
        and (merged["part_x"] == merged["part_y"]).all()
        and (merged["part"] == merged["part_x"]).all()
    )
    later = record2.merge(record3, on="row_key")
    assert len(later) == 4000 and (later["part_x"] == later["part_y"]).all()


def test_synthetic_rows_inherit_the_part_of_their_source_row_even_through_a_chain(bank_frame: pd.DataFrame) -> None:
    _, record = first_version(bank_frame)
    batch, lineage = batch_of(bank_frame, rows=500, seed=3)
    table = pd.concat([bank_frame, batch], ignore_index=True)
    second, lineage2 = batch_of(table, rows=300, seed=4)  # drawn from the first batch too, before any training
    table = pd.concat([table, second], ignore_index=True)
    lines = pd.concat([lineage, lineage2])
    _, record2 = assign_parts(table, known=record, lineage=lines, new_source="increment@9", **SETTINGS)
    new = table.iloc[len(bank_frame) :]
    keys = row_keys(new)
    source_of = dict(zip(lines["row_key"], lines["source_key"], strict=True))
    parts = dict(zip(record2["row_key"], record2["part"], strict=True))
    assert all(parts[key] == parts[source_of[key]] for key in keys)
    assert set(sources_of(new, record2)) == {batch_label(1, 3), batch_label(1, 4)}


def test_exact_duplicates_share_a_part(bank_frame: pd.DataFrame) -> None:
    """A copy of a training row (bank-full has exact duplicates; noise 0 makes more) is never a test row."""
    doubled = pd.concat([bank_frame, bank_frame.iloc[:800]], ignore_index=True)
    split, record = first_version(doubled)
    keys = {name: set(row_keys(part)) for name, part in split.parts().items()}
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["validation"]
    assert len(record) == len(bank_frame)
    batch, lineage = batch_of(bank_frame, rows=400, seed=5, noise=0.0)
    _, with_batch = assign_parts(
        pd.concat([doubled, batch], ignore_index=True), known=record, lineage=lineage, new_source="x", **SETTINGS
    )
    assert (parts_of(batch, with_batch).to_numpy() == parts_of(batch, record).to_numpy()).all()


def test_new_rows_too_few_to_split_go_to_training_but_a_first_version_must_split(bank_frame: pd.DataFrame) -> None:
    _, record = first_version(bank_frame.iloc[:-3])
    split, _ = assign_parts(bank_frame, known=record, lineage=None, new_source="increment@2", **SETTINGS)
    assert set(bank_frame.index[-3:]) <= set(split.train.index)
    with pytest.raises(SplitError, match="too few"):
        first_version(bank_frame.iloc[:5])


def test_a_row_drawn_from_a_row_that_is_gone_is_split_as_new(bank_frame: pd.DataFrame) -> None:
    _, record = first_version(bank_frame.iloc[:4000])
    lineage = pd.DataFrame({"row_key": row_keys(bank_frame.iloc[4000:]), "source_key": "0" * 16, "source": "synthetic"})
    split, record2 = assign_parts(bank_frame, known=record, lineage=lineage, new_source="increment@2", **SETTINGS)
    tested = np.asarray(split.test.index)
    assert (tested >= 4000).sum() > 0  # split as unseen rows, not dropped and not all in training
    assert set(sources_of(bank_frame.iloc[4000:], record2)) == {"increment@2"}


def test_a_copy_of_a_new_row_is_split_with_it_not_sent_to_training(bank_frame: pd.DataFrame) -> None:
    """Noise 0 draws exact copies; drawn from rows no version has seen yet, they share those rows' fresh part."""
    _, record = first_version(bank_frame.iloc[:3000])
    batch, lineage = batch_of(bank_frame.iloc[3000:], rows=600, seed=8, noise=0.0)
    table = pd.concat([bank_frame, batch], ignore_index=True)
    split, _ = assign_parts(table, known=record, lineage=lineage, new_source="increment@2", **SETTINGS)
    copies = set(row_keys(batch))
    assert copies & set(row_keys(split.test)) and copies & set(row_keys(split.validation))


def test_stratified_parts_are_shuffled_and_time_parts_keep_table_order(bank_frame: pd.DataFrame) -> None:
    """Consumers that replay a part in order (holdout traffic) must not see a time-ordered table season by season."""
    split, _ = first_version(bank_frame)
    assert not split.test.index.is_monotonic_increasing
    assert list(split.test.index) == list(first_version(bank_frame)[0].test.index)  # a fixed order
    timed, _ = first_version(bank_frame, strategy="time")
    assert timed.test.index.is_monotonic_increasing

"""The batch generator on bank.csv: seeded and reproducible, like the table without drift, exact drift with it."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cml_mlops.batches import BatchError, BatchSpec, Drift, generate_batch
from cml_mlops.batches.bounds import contract_bounds
from cml_mlops.batches.generator import SPIKE_SHARE, numeric_columns
from cml_mlops.contracts import validate_frame
from cml_mlops.features import FeatureSpec

NUMERIC = ["age", "balance", "day", "duration", "campaign", "pdays", "previous"]
CATEGORICAL = ["job", "marital", "education", "default", "housing", "loan", "contact", "month", "poutcome"]
FIXTURES = [HealthCheck.function_scoped_fixture]


@pytest.fixture(scope="module")
def make(bank_frame: pd.DataFrame, bank_contracts: ModuleType, bank_spec: FeatureSpec) -> Any:
    bounds = contract_bounds(bank_contracts.RawRecord)

    def generate(rows: int = 500, seed: int = 1, noise: float = 0.05, drift: Drift | None = None) -> pd.DataFrame:
        spec = BatchSpec(rows, seed, noise, drift or Drift(), bank_spec.target, bank_spec.positive_label, bounds)
        return generate_batch(bank_frame, spec)

    return generate


MIXABLE = {"poutcome": ["unknown", "success"], "job": ["student", "retired"]}
mixes = st.sampled_from(sorted(MIXABLE)).flatmap(
    lambda column: st.dictionaries(
        st.just(column), st.dictionaries(st.sampled_from(MIXABLE[column]), st.floats(0, 0.5), max_size=2), max_size=1
    )
)
drifts = st.builds(
    Drift,
    shift=st.dictionaries(st.sampled_from(NUMERIC), st.floats(-5, 5), max_size=2),
    category_mix=mixes,
    flip_labels=st.floats(0, 1),
)


@settings(max_examples=20, deadline=None, suppress_health_check=FIXTURES)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 300), noise=st.floats(0, 1), drift=drifts)
def test_same_seed_and_source_give_the_same_batch_of_valid_rows(
    make: Any, bank_contracts: ModuleType, bank_frame: pd.DataFrame, seed: int, rows: int, noise: float, drift: Drift
) -> None:
    first = make(rows, seed, noise, drift)
    pd.testing.assert_frame_equal(first, make(rows, seed, noise, drift))
    assert len(first) == rows and list(first.columns) == list(bank_frame.columns)
    assert (first.dtypes == bank_frame.dtypes).all()
    # Noise and shifts are clipped to the contract's ranges, so any batch of known categories is valid.
    assert validate_frame(first, bank_contracts.RawRecord).passed


def test_different_seeds_give_different_batches(make: Any) -> None:
    assert not make(seed=1).equals(make(seed=2))


def test_without_drift_a_batch_looks_like_the_table(make: Any, bank_frame: pd.DataFrame) -> None:
    batch = make(rows=20_000, seed=3)
    for column in NUMERIC:
        std = bank_frame[column].std(ddof=0)
        assert abs(batch[column].mean() - bank_frame[column].mean()) < 0.05 * std, column
        assert batch[column].std(ddof=0) == pytest.approx(std, rel=0.1), column
    for column in [*CATEGORICAL, "y"]:
        table = bank_frame[column].value_counts(normalize=True)
        shares = batch[column].value_counts(normalize=True).reindex(table.index, fill_value=0)
        assert (shares - table).abs().max() < 0.02, column
    # Sentinels keep their mass: pdays=-1 (never contacted) is not smeared into made-up recent contacts.
    assert (bank_frame["pdays"] == -1).mean() >= SPIKE_SHARE
    assert (batch["pdays"] == -1).mean() == pytest.approx((bank_frame["pdays"] == -1).mean(), abs=0.02)


def test_noise_changes_values_and_zero_noise_copies_rows(make: Any, bank_frame: pd.DataFrame) -> None:
    noisy = make(noise=0.05)
    assert (noisy["balance"] != make(noise=0.0)["balance"]).mean() > 0.5
    copies = make(noise=0.0)
    merged = copies.merge(bank_frame.drop_duplicates(), how="left", indicator=True)
    assert (merged["_merge"] == "both").all()  # every row is a row of the table


def test_a_shift_moves_the_mean_by_the_asked_stds_and_touches_nothing_else(make: Any, bank_frame: pd.DataFrame) -> None:
    base = make(rows=5000, seed=5)
    shifted = make(rows=5000, seed=5, drift=Drift(shift={"balance": 1.0}))
    std = bank_frame["balance"].std(ddof=0)
    assert (shifted["balance"].mean() - base["balance"].mean()) / std == pytest.approx(1.0, abs=0.01)
    pd.testing.assert_frame_equal(shifted.drop(columns="balance"), base.drop(columns="balance"))


def test_a_shift_past_the_contract_range_is_clipped_to_it(make: Any) -> None:
    shifted = make(drift=Drift(shift={"age": 100.0, "day": -100.0}))
    assert (shifted["age"] == 100).all() and (shifted["day"] == 1).all()


def test_a_category_mix_gives_the_value_its_exact_share(make: Any) -> None:
    base = make(rows=1000, seed=9)
    mixed = make(rows=1000, seed=9, drift=Drift(category_mix={"poutcome": {"success": 0.5, "failure": 0.2}}))
    assert (mixed["poutcome"] == "success").sum() == 500 and (mixed["poutcome"] == "failure").sum() == 200
    assert set(mixed["poutcome"]) <= {"success", "failure", "unknown", "other"}
    pd.testing.assert_frame_equal(mixed.drop(columns="poutcome"), base.drop(columns="poutcome"))


def test_a_category_mix_of_zero_removes_the_value(make: Any) -> None:
    mixed = make(rows=1000, drift=Drift(category_mix={"poutcome": {"unknown": 0.0}}))
    assert "unknown" not in set(mixed["poutcome"]) and mixed["poutcome"].notna().all()


def test_flipping_labels_swaps_exactly_that_share(make: Any) -> None:
    base = make(rows=1000, seed=4)
    flipped = make(rows=1000, seed=4, drift=Drift(flip_labels=0.25))
    assert (flipped["y"] != base["y"]).sum() == 250
    assert set(flipped["y"]) == {"yes", "no"}
    pd.testing.assert_frame_equal(flipped.drop(columns="y"), base.drop(columns="y"))


@pytest.mark.parametrize(
    ("drift", "message"),
    [
        (Drift(shift={"agee": 1.0}), "cannot shift 'agee': not a numeric column; numeric columns: age, balance"),
        (Drift(shift={"job": 1.0}), "cannot shift 'job': not a numeric column"),
        (Drift(category_mix={"age": {"30": 0.5}}), "cannot change the category mix of 'age'"),
        (Drift(category_mix={"y": {"yes": 0.5}}), "flip labels instead"),
    ],
)
def test_drift_the_table_cannot_take_is_refused_naming_the_columns(make: Any, drift: Drift, message: str) -> None:
    with pytest.raises(BatchError, match=message.replace("(", r"\(")):
        make(drift=drift)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Drift(category_mix={"poutcome": {"success": 1.5}}), "between 0 and 1"),
        (lambda: Drift(category_mix={"poutcome": {"success": 0.6, "failure": 0.6}}), "add up to more than 1"),
        (lambda: Drift(flip_labels=-0.1), "between 0 and 1"),
        (lambda: Drift(shift={"age": float("nan")}), "finite"),
    ],
)
def test_impossible_drift_is_refused(build: Any, message: str) -> None:
    with pytest.raises(BatchError, match=message):
        build()


def test_bad_sizes_and_an_empty_source_are_refused(make: Any, bank_frame: pd.DataFrame, bank_spec: FeatureSpec) -> None:
    with pytest.raises(BatchError, match="rows must be a positive"):
        make(rows=0)
    with pytest.raises(BatchError, match="noise must be between 0 and 1"):
        make(noise=1.5)
    with pytest.raises(BatchError, match="table is empty"):
        generate_batch(bank_frame.iloc[:0], BatchSpec(5, 1, 0.1, Drift(), bank_spec.target, "yes"))


def test_numeric_columns_exclude_booleans() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5], "c": [True, False], "d": ["x", "y"]})
    assert numeric_columns(frame) == ["a", "b"]


def test_a_nullable_integer_column_keeps_its_missing_values() -> None:
    frame = pd.DataFrame({"n": pd.array([1, None, 30, 4, 50, 6, 70, 8, 90, 10], dtype="Int64"), "t": ["a", "b"] * 5})
    batch = generate_batch(frame, BatchSpec(200, 1, 0.5, Drift(shift={"n": 1.0}), "t", "a"))
    assert batch["n"].dtype == "Int64" and batch["n"].isna().any() and batch["n"].notna().any()
    assert np.array_equal(batch["n"].isna(), batch["n"].isna())

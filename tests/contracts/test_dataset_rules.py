"""The data-set rules live in the library: the template's contract and every drafted one call them."""

from __future__ import annotations

import inspect
from types import ModuleType

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cml_mlops.contracts import dataset_rules
from cml_mlops.contracts.draft import draft_contract, loaded_contract
from tests.contracts.test_draft import frame_of

CHECKS = ("enough_rows", "positive_rate_in_band", "few_duplicates")


def calls_the_library(model: type) -> bool:
    return all(f"dataset_rules.{name}(" in inspect.getsource(getattr(model, name)) for name in CHECKS)


def test_the_templates_contract_uses_the_librarys_rules(bank_contracts: ModuleType) -> None:
    assert calls_the_library(bank_contracts.RawDataset)


def test_a_drafted_contract_uses_the_librarys_rules() -> None:
    source = draft_contract(frame_of({"n": ["1", "2"], "y": ["no", "yes"]}), target="y", positive_label="yes")
    assert "from cml_mlops.contracts import dataset_rules" in source
    for name in CHECKS:
        assert f"return dataset_rules.{name}(frame" in source
    with loaded_contract(source) as module:
        assert module.RawDataset.to_schema().checks  # the three data-set checks are registered


@given(st.floats(min_value=1e-4, max_value=0.999))
def test_the_drafted_band_holds_the_sample_rate(rate: float) -> None:
    low, high = dataset_rules.positive_rate_band_for(rate)
    assert 0 < low <= rate <= high <= 1


@given(st.integers(min_value=0, max_value=10**9))
def test_min_rows_is_at_most_a_tenth_and_at_least_one(rows: int) -> None:
    minimum = dataset_rules.min_rows_for(rows)
    assert 1 <= minimum <= max(1, rows // 10)


def test_the_rules_on_frames() -> None:
    frame = pd.DataFrame({"y": ["yes", "no", "no", "no"], "x": [1, 1, 2, 3]})
    assert dataset_rules.enough_rows(frame, 4) and not dataset_rules.enough_rows(frame, 5)
    assert dataset_rules.positive_rate_in_band(frame, "y", "yes", (0.2, 0.3))
    assert not dataset_rules.positive_rate_in_band(frame, "y", "yes", (0.3, 0.5))
    assert dataset_rules.few_duplicates(frame, 0.0)
    assert not dataset_rules.few_duplicates(pd.concat([frame, frame.head(1)]), 0.1)

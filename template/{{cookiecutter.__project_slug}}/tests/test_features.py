"""Feature definitions stay consistent with the contract."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings

from {{ cookiecutter.package_name }}.contracts import TARGET, RawRecord
from {{ cookiecutter.package_name }}.features import FEATURES, LEAKAGE, derive


def test_features_are_contract_columns_and_exclude_the_target() -> None:
    columns = set(RawRecord.to_schema().columns)
    assert set(FEATURES.numeric) | set(FEATURES.categorical) <= columns - {TARGET}
    assert FEATURES.target == TARGET


def test_leakage_columns_stay_out_of_model_inputs_by_default() -> None:
    assert not set(LEAKAGE) & set(FEATURES.inputs())
    assert set(LEAKAGE) <= set(FEATURES.inputs(use_leakage_columns=True))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RawRecord.strategy(size=5))
def test_derived_features_are_new_columns_with_one_row_per_input_row(frame: pd.DataFrame) -> None:
    inputs = frame[list(FEATURES.inputs())]
    derived = derive(inputs)
    assert len(derived) == len(inputs)
    assert not set(derived.columns) & set(frame.columns)

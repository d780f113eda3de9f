"""Feature definitions stay consistent with the contract."""

from __future__ import annotations

from {{ cookiecutter.package_name }}.contracts import TARGET, RawRecord
from {{ cookiecutter.package_name }}.features import FEATURES, LEAKAGE


def test_features_are_contract_columns_and_exclude_the_target() -> None:
    columns = set(RawRecord.to_schema().columns)
    assert set(FEATURES.numeric) | set(FEATURES.categorical) <= columns - {TARGET}
    assert FEATURES.target == TARGET


def test_leakage_columns_stay_out_of_model_inputs_by_default() -> None:
    assert not set(LEAKAGE) & set(FEATURES.inputs())
    assert set(LEAKAGE) <= set(FEATURES.inputs(use_leakage_columns=True))

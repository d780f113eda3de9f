"""Fixtures for the EDA tests: bank.csv typed by the baked project's contract, and its feature spec."""

from __future__ import annotations

from types import ModuleType

import pandas as pd
import pytest

from cml_mlops.eda.profile import EdaProfile, profile_frame
from cml_mlops.features import FeatureSpec


@pytest.fixture(scope="session")
def bank_spec(bank_features: ModuleType) -> FeatureSpec:
    spec = bank_features.FEATURES
    assert isinstance(spec, FeatureSpec)
    return spec


@pytest.fixture(scope="session")
def bank_frame(bank_contracts: ModuleType, bank_sample_raw: pd.DataFrame) -> pd.DataFrame:
    """bank.csv (4,521 rows) with the contract's types, as the lake holds it."""
    frame = bank_contracts.RawDataset.validate(bank_sample_raw)
    assert isinstance(frame, pd.DataFrame)
    return frame


@pytest.fixture(scope="session")
def bank_profile(bank_frame: pd.DataFrame, bank_spec: FeatureSpec) -> EdaProfile:
    return profile_frame(bank_frame, bank_spec)

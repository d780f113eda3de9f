"""Fixtures for the EDA tests: bank.csv typed by the baked project's contract, and its feature spec."""

from __future__ import annotations

import pandas as pd
import pytest

from cml_mlops.eda.profile import EdaProfile, profile_frame
from cml_mlops.features import FeatureSpec


@pytest.fixture(scope="session")
def bank_profile(bank_frame: pd.DataFrame, bank_spec: FeatureSpec) -> EdaProfile:
    return profile_frame(bank_frame, bank_spec)

"""Fixtures shared by the whole suite: the shared bank data, a baked default project, PostgreSQL."""

from __future__ import annotations

import importlib
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
from hypothesis import settings

from ci.lifecycle import REPO_ROOT, bake_project
from cml_mlops.features import FeatureSpec

# CI runs the same examples every time (a failure there is reproducible); locally hypothesis explores.
# No deadline in either: speed is checked by benchmarks, and a loaded 2-core machine must not fail a property.
settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

BANK_ZIP = Path(os.environ.get("CML_MLOPS_TEST_DATA_ZIP", REPO_ROOT.parent / "shared/data/bank-marketing/bank.zip"))
BANK_FULL_SHA256 = "d1513ec63b385506f7cfce9f2c5caa9fe99e7ba4e8c3fa264b3aaf0f849ed32d"
BANK_SAMPLE_SHA256 = "dc8d576e9bda0f41ee891251bd84bab9a39ce576cba715aac08adc2374a01fde"


def bake(output_dir: Path, **extra_context: str) -> Path:
    """Generate a project from the template without prompts; the library comes from this checkout."""
    return bake_project(output_dir, **extra_context)


def read_bank_csv(member: str = "bank.csv") -> pd.DataFrame:
    """A member of the shared bank zip as raw text columns, as `lake load` reads it."""
    with zipfile.ZipFile(BANK_ZIP) as archive, archive.open(member) as handle:
        return pd.read_csv(handle, sep=";", dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def bank_zip() -> Path:
    if not BANK_ZIP.is_file():
        pytest.fail(f"shared data set missing at {BANK_ZIP}: set CML_MLOPS_TEST_DATA_ZIP")
    return BANK_ZIP


@pytest.fixture(scope="session")
def baked_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default (bank marketing) project, baked once per session; treat it as read-only."""
    return bake(tmp_path_factory.mktemp("baked"))


@pytest.fixture(scope="session")
def bank_package(baked_project: Path) -> Iterator[ModuleType]:
    """The baked project's use-case package (`bank_marketing`), importable for the session."""
    sys.path.insert(0, str(baked_project / "src"))
    try:
        yield importlib.import_module("bank_marketing")
    finally:
        sys.path.remove(str(baked_project / "src"))


@pytest.fixture(scope="session")
def bank_contracts(bank_package: ModuleType) -> ModuleType:
    return importlib.import_module("bank_marketing.contracts")


@pytest.fixture(scope="session")
def bank_features(bank_package: ModuleType) -> ModuleType:
    return importlib.import_module("bank_marketing.features")


@pytest.fixture(scope="session")
def bank_sample_raw(bank_zip: Path) -> pd.DataFrame:
    """bank.csv (4,521 rows) as raw text columns."""
    return read_bank_csv("bank.csv")


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


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A fresh default project of its own, safe to write to."""
    return bake(tmp_path)

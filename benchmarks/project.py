"""A baked default project and the bank data, prepared once for the benchmarks."""

from __future__ import annotations

import importlib
import sys
import tempfile
import zipfile
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

from ci.lifecycle import REPO_ROOT, bake_project
from cml_mlops.config import ProjectConfig, load_config
from cml_mlops.ingest import fetch_dataset
from cml_mlops.loading import load_raw_csv

BANK_ZIP = REPO_ROOT.parent / "shared" / "data" / "bank-marketing" / "bank.zip"


@cache
def baked_project() -> Path:
    project = bake_project(Path(tempfile.mkdtemp(prefix="cml-mlops-bench-")))
    sys.path.insert(0, str(project / "src"))
    return project


def scratch_environ(scratch: Path, **environ: str) -> dict[str, str]:
    """Config overrides that move data, lake, tracking, reports and serving state into `scratch`."""
    return {
        "CML_MLOPS_DATA_URL": BANK_ZIP.as_uri(),
        "CML_MLOPS_DATA_RAW_DIR": str(scratch / "raw"),
        "CML_MLOPS_LAKE_CATALOG_URI": f"sqlite:///{scratch}/catalog.db",
        "CML_MLOPS_LAKE_WAREHOUSE": str(scratch / "warehouse"),
        "CML_MLOPS_REPORTS_DIR": str(scratch / "reports"),
        "CML_MLOPS_TRACKING_URI": f"sqlite:///{scratch}/mlflow.db",
        "CML_MLOPS_TRACKING_ARTIFACT_LOCATION": str(scratch / "artifacts"),
        "CML_MLOPS_SERVING_STATE_DIR": str(scratch / "serving"),
        **environ,
    }


def scratch_config(scratch: Path, **environ: str) -> ProjectConfig:
    """The baked project's config with everything it writes moved into `scratch`."""
    return load_config(baked_project(), environ=scratch_environ(scratch, **environ))


def loaded_config(scratch: Path, **environ: str) -> ProjectConfig:
    """`scratch_config` with bank-full fetched and loaded into the scratch lake."""
    config = scratch_config(scratch, **environ)
    fetch_dataset(config, progress=False)
    load_raw_csv(config)
    return config


def contracts() -> ModuleType:
    baked_project()
    return importlib.import_module("bank_marketing.contracts")


def bank_full_text() -> pd.DataFrame:
    """bank-full.csv as text columns, as `lake load` reads it."""
    with zipfile.ZipFile(BANK_ZIP) as archive, archive.open("bank-full.csv") as handle:
        return pd.read_csv(handle, sep=";", dtype=str, keep_default_na=False)


def resampled(rows: int, *, seed: int = 0) -> pd.DataFrame:
    """bank-full resampled to `rows` rows; `balance` redrawn so rows stay distinct (the duplicate rule passes)."""
    rng = np.random.default_rng(seed)
    full = bank_full_text()
    frame = full.iloc[rng.integers(0, len(full), rows)].reset_index(drop=True)
    frame["balance"] = rng.integers(-5_000, 100_000, rows).astype(str)
    return frame

"""The template serves another data set: bake `custom`, draft its contract, and run the lifecycle through the CLI."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

from ci.lifecycle import cml, run_steps
from tests.conftest import bake


@pytest.fixture
def cells_csv(tmp_path: Path) -> Path:
    """scikit-learn's breast cancer data (shipped with the package) as a comma-separated CSV with a text target."""
    data = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "diagnosis"})
    data["diagnosis"] = data["diagnosis"].map({0: "malignant", 1: "benign"})
    path = tmp_path / "source" / "cells.csv"
    path.parent.mkdir()
    data.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_a_custom_project_runs_its_lifecycle(tmp_path: Path, cells_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = bake(
        tmp_path / "out",
        project_name="Tumour Study",
        dataset_preset="custom",
        dataset_url=cells_csv.as_uri(),
        dataset_member="cells.csv",
        dataset_sha256=hashlib.sha256(cells_csv.read_bytes()).hexdigest(),
        csv_separator=",",
        target_column="diagnosis",
        positive_label="malignant",
        lake_namespace="oncology",
        lake_table="cells",
    )
    monkeypatch.delenv("CML_MLOPS_DATA_URL", raising=False)
    steps = [
        ("download", cml("ingest", "--no-progress")),
        (
            "draft",
            cml("contract", "draft", "data/raw/cells.csv", "--output", "src/tumour_study/contracts.py", "--force"),
        ),
        ("lake", cml("lake", "load")),
        ("validate", cml("validate")),
        ("eda", cml("eda")),
    ]
    results = run_steps(project, steps)
    assert [(r.name, r.returncode) for r in results] == [(name, 0) for name, _ in steps], results[-1].last_line
    assert "569 rows" in results[2].last_line
    assert (project / "reports" / "eda" / "eda.html").is_file()

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project, env={**os.environ, "PYTHONPATH": str(project / "src")},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout[-3000:]

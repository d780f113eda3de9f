"""The generated project's monitoring notebook runs and shows the dashboard inline (the library call of `report`)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient
from sqlalchemy import create_engine

from cml_mlops.features import FeatureSpec
from cml_mlops.monitoring.store import migrate
from tests.conftest import bake
from tests.monitoring.conftest import Registry
from tests.monitoring.helpers import START, log_traffic, shifted, store_environ


@pytest.mark.slow
def test_the_monitoring_notebook_renders_the_dashboard(
    tmp_path: Path, registry: Registry, bank_frame: pd.DataFrame, bank_spec: FeatureSpec,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    project = bake(tmp_path)
    store = project / "monitoring" / "predictions.db"  # the project's embedded default store
    store.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{store}")
    migrate(engine)
    rng = np.random.default_rng(0)
    for day in range(4):
        rows = bank_frame.sample(300, random_state=day)
        rows = shifted(rows) if day == 3 else rows
        times = START - (3 - day) * 86_400 - rng.uniform(0, 86_399, len(rows))
        times[0] = START - (3 - day) * 86_400
        log_traffic(engine, registry.profiled, rows, times, target=bank_spec.target,
                    positive_label=bank_spec.positive_label, seed=day)  # fmt: skip
    engine.dispose()
    # The kernel inherits the environment: the session's MLflow registry; the store and reports stay the project's.
    environ = store_environ(tmp_path, None, registry.folder)
    for name in ("CML_MLOPS_TRACKING_URI", "CML_MLOPS_TRACKING_ARTIFACT_LOCATION"):
        monkeypatch.setenv(name, environ[name])
    monkeypatch.delenv("CML_MLOPS_PROFILE", raising=False)
    notebook = nbformat.read(project / "notebooks" / "monitoring.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(project)}}
    ).execute()
    html = "".join(
        output.get("data", {}).get("text/html", "") for cell in notebook.cells for output in cell.get("outputs", [])
    )
    assert html.count("<img") >= 8
    assert "Drift per feature" in html and "prediction_drift" in html
    # Four days, 1200 rows: the windows fit the span and the rows (8 of 12 hours), not one day in 1 of 30.
    assert re.search(r"\b[89] of 12h\b", html), html[:2000]
    assert not (project / "reports" / "monitoring").exists()  # the notebook shows; `report` writes

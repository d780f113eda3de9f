"""`cml-mlops validate` with lake.engine: spark: the same report and quarantine, computed by Spark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cml_mlops.config import load_config
from cml_mlops.lake import open_lake
from tests.steps.conftest import Invoke, invoke, loaded_project
from tests.steps.test_validate import corrupt_table

pytestmark = [pytest.mark.spark, pytest.mark.slow]  # a CLI run over bank.csv on Spark
__all__ = ["invoke", "loaded_project"]


@pytest.fixture
def on_spark(spark: object, loaded_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The loaded project (written by PyIceberg), switched to the Spark engine."""
    monkeypatch.setenv("CML_MLOPS_LAKE_ENGINE", "spark")
    return loaded_project


def test_validate_on_spark_reports_and_quarantines_like_pandas(invoke: Invoke, on_spark: Path) -> None:
    config = load_config(on_spark)
    assert config.lake.engine == "spark"
    corrupt_table(on_spark)

    failed = invoke("validate")

    assert failed.exit_code == 1
    report = json.loads((on_spark / "reports" / "validation.json").read_text())
    assert {(f["column"], f["check"], f["failure_count"]) for f in report["failures"]} == {
        ("age", "in_range", 1),
        ("month", "isin", 1),
    }
    assert all(f["samples"] for f in report["failures"]) and report["invalid_rows"] == 2

    moved = invoke("validate", "--quarantine")

    assert moved.exit_code == 0, moved.output
    with open_lake(config) as lake:
        assert len(lake.read(config.lake.table)) == 4_519
        quarantined = lake.read(config.lake.quarantine_table)
    assert sorted(quarantined["_failed_checks"]) == ["in_range", "isin"]
    assert "7" in quarantined["age"].tolist() and "smarch" in quarantined["month"].tolist()

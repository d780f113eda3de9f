"""`cml-mlops newbatch` with lake.engine: spark appends one snapshot that the PyIceberg engine reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from cml_mlops.config import load_config
from cml_mlops.lake import PyIcebergLake, open_lake
from tests.steps.conftest import Invoke, invoke, loaded_project

pytestmark = [pytest.mark.spark, pytest.mark.slow]  # a CLI run over bank.csv on Spark
__all__ = ["invoke", "loaded_project"]


def test_newbatch_on_spark_appends_one_snapshot_and_the_increment_is_the_batch(
    spark: object, invoke: Invoke, loaded_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CML_MLOPS_LAKE_ENGINE", "spark")
    config = load_config(loaded_project)
    with open_lake(config) as lake:
        assert type(lake).__name__ == "SparkLake"
        before = lake.current_snapshot(config.lake.table)
    assert before is not None

    result = invoke("newbatch", "--rows", "300", "--seed", "5")

    assert result.exit_code == 0, result.output
    with open_lake(config) as lake:
        after = lake.snapshots(config.lake.table)
        increment = lake.read_increment(config.lake.table, before.snapshot_id)
    assert after[-1].parent_id == before.snapshot_id and after[-1].operation == "append"
    assert len(increment) == 300
    monkeypatch.delenv("CML_MLOPS_LAKE_ENGINE")
    embedded = open_lake(load_config(loaded_project))
    assert isinstance(embedded, PyIcebergLake)
    with embedded:
        assert len(embedded.read(config.lake.table)) == 4_521 + 300

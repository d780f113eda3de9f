"""`cml-mlops score`: the registered model scores a table at a snapshot into one Iceberg snapshot, on both engines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cml_mlops.batch_scoring import score_table
from cml_mlops.config import ProjectConfig, load_config
from cml_mlops.errors import ContractViolation
from cml_mlops.lake import open_lake
from cml_mlops.registry import set_alias
from cml_mlops.tracking import CHAMPION, load_model_version
from cml_mlops.training import train
from tests.steps.conftest import Invoke, invoke, loaded_project
from tests.training.conftest import ONE_CANDIDATE, configure

pytestmark = [pytest.mark.spark, pytest.mark.slow]  # trains a model
__all__ = ["invoke", "loaded_project"]


@pytest.fixture
def champion_project(loaded_project: Path) -> Path:
    """The loaded bank.csv project with one fast model trained and made champion."""
    configure(loaded_project, candidates=ONE_CANDIDATE)
    config = load_config(loaded_project)
    set_alias(config, train(config, progress=False).model_version, CHAMPION)
    return loaded_project


def _expected(config: ProjectConfig, snapshot_id: int) -> pd.DataFrame:
    model = load_model_version(config, alias=CHAMPION)
    with open_lake(config) as lake:
        return model.predict(lake.read(config.lake.table, snapshot_id))


def test_score_on_both_engines_writes_the_same_predictions_in_one_snapshot(
    spark: object, champion_project: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(champion_project)
    with open_lake(config) as lake:
        snapshot = lake.current_snapshot(config.lake.table)
    assert snapshot is not None
    expected = _expected(config, snapshot.snapshot_id)

    in_pandas = invoke("score", "--snapshot", str(snapshot.snapshot_id), "--output-table", "scored_pandas")
    monkeypatch.setenv("CML_MLOPS_LAKE_ENGINE", "spark")
    on_spark = invoke("score", "--snapshot", str(snapshot.snapshot_id), "--output-table", "scored_spark")

    assert in_pandas.exit_code == 0, in_pandas.output
    assert on_spark.exit_code == 0, on_spark.output
    assert "scored 4521 rows" in on_spark.output
    monkeypatch.delenv("CML_MLOPS_LAKE_ENGINE")
    with open_lake(config) as lake:  # PyIceberg reads what Spark wrote
        for table in ("scored_pandas", "scored_spark"):
            assert [s.operation for s in lake.snapshots(table)] == ["append"]
            scored = lake.read(table)
            assert len(scored) == 4_521 and set(scored["source_snapshot_id"]) == {snapshot.snapshot_id}
            by_row = scored.sort_values(["age", "balance", "duration", "day", "campaign"]).reset_index(drop=True)
            want = pd.concat([lake.read(config.lake.table, snapshot.snapshot_id), expected], axis=1)
            want = want.sort_values(["age", "balance", "duration", "day", "campaign"]).reset_index(drop=True)
            np.testing.assert_allclose(by_row["probability"], want["probability"], rtol=0, atol=1e-9)
            assert (by_row["label"] == want["label"]).all()


def test_predictions_that_break_the_contract_write_nothing(
    champion_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(champion_project)
    # A broken model: its probabilities leave [0, 1] (patched in this process, so on the in-process engine).
    monkeypatch.setattr("cml_mlops.tracking.LoadedModel.predict_proba", lambda self, frame: np.full(len(frame), 1.5))

    with pytest.raises(ContractViolation, match="nothing was written") as raised:
        score_table(config, output_table="scored")

    assert raised.value.report.failures[0].check == "in_range"  # type: ignore[attr-defined]
    with open_lake(config) as lake:
        assert not lake.table_exists("scored")

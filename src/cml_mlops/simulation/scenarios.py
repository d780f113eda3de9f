"""The rows a simulation sends: real data the served model has not been trained on, never random numbers.

- `holdout`: the test split the version's training run held out (the artifact it logged), in its order;
- `batch`: the rows appended to the lake table after the snapshot the version was trained on (new batches);
- `drift-replay`: the table's last `drift_share` of rows in table order. bank-full is in time order (May 2008 to
  November 2010) and its late rows differ sharply (about 7% subscribed in the first 80%, about 32% in the last
  20%), so a model trained with `training.split.strategy: time` meets, in time order, data it has not seen.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd

from cml_mlops.config import ProjectConfig
from cml_mlops.lake import open_lake
from cml_mlops.simulation.errors import SimulationError
from cml_mlops.simulation.served import ServedVersion
from cml_mlops.tracking import TEST_SPLIT_ARTIFACT, configure_mlflow

SCENARIOS = ("holdout", "batch", "drift-replay")


@dataclass(frozen=True)
class ScenarioRows:
    """The rows to send in order (the target column included, for the delayed labels) and where they came from."""

    name: str
    frame: pd.DataFrame
    source: str


def scenario_rows(
    config: ProjectConfig, name: str, served: ServedVersion, *, rows: int | None = None, drift_share: float = 0.2
) -> ScenarioRows:
    """The scenario's rows, the first `rows` of them when given; SimulationError when there are none."""
    if name == "holdout":
        frame, source = _holdout(config, served)
    elif name == "batch":
        frame, source = _batch(config, served)
    elif name == "drift-replay":
        frame, source = _drift_replay(config, drift_share)
    else:
        raise SimulationError(f"unknown scenario {name!r}: choose one of {', '.join(SCENARIOS)}")
    missing = [column for column in (*served.features, served.target) if column not in frame.columns]
    if missing:
        raise SimulationError(f"the {name} rows ({source}) lack the columns {', '.join(missing)}")
    if rows is not None:
        frame = frame.head(rows)
    return ScenarioRows(name, frame.reset_index(drop=True), source)


def _holdout(config: ProjectConfig, served: ServedVersion) -> tuple[pd.DataFrame, str]:
    configure_mlflow(config)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=served.run_id, artifact_path=TEST_SPLIT_ARTIFACT, dst_path=scratch
            )
            frame = pd.read_parquet(Path(path))
        except Exception as exc:  # MLflow raises several types for a missing artifact
            raise SimulationError(
                f"{served.model_name} version {served.version}: cannot read its held-out rows {TEST_SPLIT_ARTIFACT} "
                f"from training run {served.run_id or '(none)'} ({type(exc).__name__}: {exc}); use another scenario "
                "or a version trained by `cml-mlops train`"
            ) from None
    if frame.empty:
        raise SimulationError(f"the held-out split of version {served.version} is empty")
    return frame, f"test split of {served.model_name} version {served.version} (run {served.run_id})"


def _batch(config: ProjectConfig, served: ServedVersion) -> tuple[pd.DataFrame, str]:
    table = config.lake.table
    qualified = f"{config.lake.namespace}.{table}"
    if served.snapshot_id is None:
        raise SimulationError(
            f"version {served.version} does not record the snapshot it was trained on, so its new rows are unknown"
        )
    with open_lake(config) as lake:
        frame = lake.read_increment(table, from_snapshot_id=served.snapshot_id)
        current = lake.current_snapshot(table)
    if frame.empty:
        raise SimulationError(
            f"no rows were added to {qualified} after snapshot {served.snapshot_id}, which version {served.version} "
            "was trained on: append a new batch first (`cml-mlops newbatch`)"
        )
    last = current.snapshot_id if current else "?"
    return frame, f"rows of {qualified} appended after snapshot {served.snapshot_id} (up to {last})"


def _drift_replay(config: ProjectConfig, share: float) -> tuple[pd.DataFrame, str]:
    if not 0 < share <= 1:
        raise SimulationError(f"drift share {share} must be in (0, 1]")
    table = config.lake.table
    with open_lake(config) as lake:
        current = lake.current_snapshot(table) if lake.table_exists(table) else None
        if current is None:
            raise SimulationError(f"{config.lake.namespace}.{table} has no data: run `cml-mlops lake load` first")
        frame = lake.read(table, snapshot_id=current.snapshot_id)
    first = len(frame) - math.ceil(len(frame) * share)
    source = (
        f"last {share:.0%} of {config.lake.namespace}.{table}@{current.snapshot_id} in table order "
        f"(rows {first + 1}-{len(frame)} of {len(frame)})"
    )
    return frame.iloc[first:], source

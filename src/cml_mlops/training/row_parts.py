"""Every row keeps its part (train, validation, test) for life, and knows its data source.

A model version records, as the artifact `splits/row_parts.parquet` of its run, the part and the source of every
row it used (plus every row earlier versions had assigned): columns `row_key`, `part`, `source`. A later training
starts from that record: known rows keep their part whatever the seed or split settings now say, a synthetic row
(`newbatch`) inherits the part of the row it was drawn from, and only rows no version has seen are split anew.

Rows are known by their content key (cml_mlops.row_keys): exact duplicates share one key and therefore one part.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from cml_mlops.config import ProjectConfig
from cml_mlops.errors import LakeError
from cml_mlops.lake import open_lake
from cml_mlops.registry import alias_version
from cml_mlops.row_keys import row_keys
from cml_mlops.tracking import (
    CHAMPION,
    TEST_SPLIT_ARTIFACT,
    VALIDATION_SPLIT_ARTIFACT,
    Tag,
    TrackingError,
    configure_mlflow,
    search_quoted,
)
from cml_mlops.training.splits import PARTS, SplitError, Splits, SplitStrategy, split_frame

ROW_PARTS_ARTIFACT = "splits/row_parts.parquet"
COLUMNS = ("row_key", "part", "source")
HISTORY = "history"  # the source of the rows the first version split


def empty_record() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in COLUMNS})


def merge_records(*records: pd.DataFrame) -> pd.DataFrame:
    """One record of several (earlier records win for a key in two): what later training must respect."""
    frames = [record.loc[:, list(COLUMNS)] for record in records if len(record)]
    if not frames:
        return empty_record()
    return pd.concat(frames, ignore_index=True).drop_duplicates("row_key", keep="first").reset_index(drop=True)


def assign_parts(
    frame: pd.DataFrame,
    *,
    known: pd.DataFrame,
    lineage: pd.DataFrame | None,
    new_source: str,
    target: str,
    positive_label: str,
    strategy: SplitStrategy,
    validation: float,
    test: float,
    seed: int,
) -> tuple[Splits, pd.DataFrame]:
    """The parts of `frame` and the record to log for it (known rows first, then this frame's new keys).

    `known`: the record of earlier versions (`row_key`, `part`, `source`). `lineage`: newbatch's record of
    synthetic rows (`row_key`, `source_key`, `source`). Order of precedence for a row: its key's recorded part;
    the part of the row it was drawn from; a fresh split (`split_frame` with the given settings) of the distinct
    unseen rows, which takes their source `new_source`. Unseen rows too few to split all train when something is
    known already; with nothing known (a first version) a split error propagates.
    """
    options: dict[str, Any] = {
        "target": target,
        "positive_label": positive_label,
        "strategy": strategy,
        "validation": validation,
        "test": test,
        "seed": seed,
    }
    keys = row_keys(frame)
    parts: dict[str, str] = dict(zip(known["row_key"], known["part"], strict=True))
    sources: dict[str, str] = dict(zip(known["row_key"], known["source"], strict=True))
    drawn_from: dict[str, tuple[str, str]] = {}
    if lineage is not None and len(lineage):
        lines = zip(lineage["row_key"], lineage["source_key"], lineage["source"], strict=True)
        # A row equal to its source row (no noise) is that row: it has the same key, hence the same part.
        drawn_from = {key: (source_key, source) for key, source_key, source in lines if key != source_key}
    present = set(keys)
    _inherit(keys, parts, sources, drawn_from)
    # Fresh split: distinct unseen keys that are not drawn from a row of this table (those inherit below).
    unseen = keys[~keys.isin(list(parts)) & ~keys.map(lambda key: drawn_from.get(key, ("", ""))[0] in present)]
    first = unseen[~unseen.duplicated()]
    if len(first):
        fresh = _split_fresh(frame.loc[first.index], first, known_any=bool(parts), options=options)
        for key, part in fresh.items():
            parts[key], sources[key] = part, new_source
    _inherit(keys, parts, sources, drawn_from)
    orphans = keys[~keys.isin(list(parts))]
    for key in orphans:  # drawn from a row that has no part itself (a cycle cannot occur): train, never test
        parts[key], sources[key] = "train", drawn_from.get(key, ("", new_source))[1]
    assigned = keys.map(parts)
    splits = Splits(strategy, *(_in_order(frame, keys, (assigned == name).to_numpy(), strategy) for name in PARTS))
    recorded = set(known["row_key"])
    new_keys = list(dict.fromkeys(key for key in keys if key not in recorded))
    added = pd.DataFrame(
        {"row_key": new_keys, "part": [parts[k] for k in new_keys], "source": [sources[k] for k in new_keys]},
        columns=list(COLUMNS),
    )
    return splits, merge_records(known, added)


def _in_order(frame: pd.DataFrame, keys: pd.Series, mask: np.ndarray, strategy: SplitStrategy) -> pd.DataFrame:
    """A part's rows: in table order for time-ordered data, else in row-key order, which is a fixed shuffle.

    Not table order: a table in time order (bank-full is) would make every consumer of a part in order (the holdout
    traffic replays the test split) see one season after another, which looks like drift.
    """
    part = frame[mask]
    if strategy == "time":
        return part
    return part.iloc[np.argsort(keys[mask].to_numpy().astype(str), kind="stable")]


def _inherit(
    keys: pd.Series, parts: dict[str, str], sources: dict[str, str], drawn_from: Mapping[str, tuple[str, str]]
) -> None:
    """Give unseen synthetic rows the part of the row they were drawn from, following chains of batches."""
    changed = True
    while changed:
        changed = False
        for key in keys[~keys.isin(list(parts))].unique():
            source_key, source = drawn_from.get(key, ("", ""))
            if source_key in parts:
                parts[key], sources[key] = parts[source_key], source
                changed = True


def _split_fresh(rows: pd.DataFrame, keys: pd.Series, *, known_any: bool, options: dict[str, Any]) -> dict[str, str]:
    try:
        split = split_frame(rows, **options)
    except SplitError:
        if not known_any:
            raise
        return dict.fromkeys(keys, "train")
    return {key: name for name, part in split.parts().items() for key in keys.loc[part.index]}


def sources_of(frame: pd.DataFrame, record: pd.DataFrame) -> pd.Series:
    """The recorded source of each row of `frame` ("unknown" for a row the record does not hold)."""
    mapping = dict(zip(record["row_key"], record["source"], strict=True))
    return row_keys(frame).map(lambda key: mapping.get(key, "unknown"))


def parts_of(frame: pd.DataFrame, record: pd.DataFrame) -> pd.Series:
    """The recorded part of each row of `frame` (None for a row the record does not hold)."""
    mapping = dict(zip(record["row_key"], record["part"], strict=True))
    return row_keys(frame).map(mapping)


def read_record(run_id: str) -> pd.DataFrame | None:
    """The record a training run logged, None when it has none (a run of an older cml-mlops)."""
    frame = _parquet_artifact(run_id, ROW_PARTS_ARTIFACT)
    return None if frame is None else frame.loc[:, list(COLUMNS)]


def version_record(config: ProjectConfig, run_id: str) -> pd.DataFrame | None:
    """The run's record; for a run of an older cml-mlops, rebuilt from what it logged, else None.

    Such a run logged its validation and test rows and the snapshot it was trained on: every other row of that
    snapshot was a training row. (Upgrading must not lock the gate: without this, a champion trained before row
    parts were recorded would fail every challenger closed.)
    """
    record = read_record(run_id)
    if record is not None:
        return record
    try:
        snapshot = int(configure_mlflow(config).get_run(run_id).data.tags[Tag.SNAPSHOT])
        held_out = {
            part: _parquet_artifact(run_id, artifact)
            for part, artifact in (("validation", VALIDATION_SPLIT_ARTIFACT), ("test", TEST_SPLIT_ARTIFACT))
        }
        if any(frame is None for frame in held_out.values()):
            return None
        with open_lake(config) as lake:
            rows = lake.read(config.lake.table, snapshot_id=snapshot)
    except (KeyError, ValueError, LakeError, MlflowException):
        return None
    parts = dict.fromkeys(row_keys(rows), "train")
    for part, frame in held_out.items():
        assert frame is not None  # checked above
        parts.update(dict.fromkeys(row_keys(frame), part))
    return pd.DataFrame({"row_key": list(parts), "part": list(parts.values()), "source": HISTORY})


def _parquet_artifact(run_id: str, artifact: str) -> pd.DataFrame | None:
    with tempfile.TemporaryDirectory() as scratch:
        try:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=scratch)
        except Exception:  # MLflow raises several types for a missing artifact
            return None
        return pd.read_parquet(Path(path))


def log_record(record: pd.DataFrame) -> None:
    """Log the record as ROW_PARTS_ARTIFACT of the active run."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / Path(ROW_PARTS_ARTIFACT).name
        record.loc[:, list(COLUMNS)].to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=str(Path(ROW_PARTS_ARTIFACT).parent))


def known_record(config: ProjectConfig) -> pd.DataFrame:
    """The parts every later training keeps: the champion's record, then the newest version's.

    Each version's record holds its predecessor's, so these two hold every row any version in the line has split.
    """
    client = configure_mlflow(config)
    name = config.tracking.model_name
    try:
        newest = client.search_model_versions(f"name = '{search_quoted(name)}'", order_by=["version_number DESC"])
    except MlflowException as exc:
        raise TrackingError(f"cannot list the versions of {name}: {exc.message}") from None
    champion = alias_version(config, CHAMPION)
    versions = ([champion] if champion is not None else []) + list(newest[:1])
    records = [version_record(config, version.run_id) for version in versions if version.run_id]
    return merge_records(*(record for record in records if record is not None))

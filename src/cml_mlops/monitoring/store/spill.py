"""The spill file: predictions and labels that could not reach the store, kept as JSON lines to re-send later.

One file per writer (`<spill_dir>/spill-<UTC time>-<pid>.jsonl`), appended to and fsynced as rows spill, so a
crash right after loses nothing already reported as spilled. `replay_spill` writes a file's rows in one
transaction (predictions first, then labels; duplicates skipped) and removes the file only once they are in.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from cml_mlops.monitoring.store.errors import StoreError
from cml_mlops.monitoring.store.failures import translated
from cml_mlops.monitoring.store.inserts import insert_predictions
from cml_mlops.monitoring.store.labels import write_labels
from cml_mlops.monitoring.store.records import InvalidRecord, LabelRecord, PredictionRecord

PREDICTION, LABEL = "prediction", "label"
REPLAY_BATCH = 1000


class SpillFile:
    """A JSONL file created on the first spilled row; safe to write from several threads."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path: Path | None = None
        self.predictions = 0
        self.labels = 0
        self._lock = threading.Lock()

    def write(self, predictions: Iterable[PredictionRecord] = (), labels: Iterable[LabelRecord] = ()) -> None:
        lines = [_line(PREDICTION, record.row()) for record in predictions]
        counted = len(lines)
        lines += [_line(LABEL, label.row()) for label in labels]
        if not lines:
            return
        with self._lock:
            if self.path is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
                self.path = self.folder / f"spill-{stamp}-{os.getpid()}.jsonl"
            with self.path.open("a", encoding="utf-8") as handle:
                handle.writelines(lines)
                handle.flush()
                os.fsync(handle.fileno())
            self.predictions += counted
            self.labels += len(lines) - counted


@dataclass(frozen=True)
class ReplayResult:
    path: Path
    predictions: int
    labels: int


def read_spill(path: Path) -> tuple[list[PredictionRecord], list[LabelRecord]]:
    """The records of a spill file; StoreError naming the line when one is not a record."""
    if not path.is_file():
        raise StoreError(f"no spill file at {path}")
    predictions: list[PredictionRecord] = []
    labels: list[LabelRecord] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                kind = row.pop("kind")
                if kind == PREDICTION:
                    predictions.append(PredictionRecord(**row))
                elif kind == LABEL:
                    labels.append(LabelRecord(**row))
                else:
                    raise ValueError(f"unknown kind {kind!r}")
            except (ValueError, TypeError, KeyError, AttributeError, InvalidRecord) as exc:
                raise StoreError(f"{path} line {number} is not a spilled prediction or label: {exc}") from None
    return predictions, labels


def replay_spill(engine: Engine, path: Path) -> ReplayResult:
    """Write a spill file's rows to the store (all or nothing) and remove the file; re-running adds no duplicate."""
    predictions, labels = read_spill(path)
    with translated(engine, f"replay {path}"), engine.begin() as connection:
        for start in range(0, len(predictions), REPLAY_BATCH):
            insert_predictions(connection, [record.row() for record in predictions[start : start + REPLAY_BATCH]])
        write_labels(connection, labels)
    path.unlink()
    return ReplayResult(path, len(predictions), len(labels))


def _line(kind: str, row: dict[str, Any]) -> str:
    return json.dumps({"kind": kind, **row}, allow_nan=False, separators=(",", ":")) + "\n"

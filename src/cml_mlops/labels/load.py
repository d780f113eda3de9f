"""`load_labels`: a checked ground-truth source into the prediction log's `labels` table, idempotently.

The write is the store's one idempotent label writer (`cml_mlops.monitoring.store.labels.write_new_labels`, which
the `PredictionLog` of `simulate` and the servers uses too): a label is *added* when its prediction had none,
*updated* when the stored outcome differs, and *unchanged* when the store already has that outcome (its first
`labelled_at` is kept, so loading a file again changes nothing). Labels whose prediction the store does not have
are counted and sampled in the result and never inserted: they usually mean the wrong store, or predictions that
have not been captured yet (load them again later).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from cml_mlops.config import MonitoringLabelsSection, ProjectConfig
from cml_mlops.labels.frame import LabelFrame, read_label_source
from cml_mlops.monitoring.database import describe_store
from cml_mlops.monitoring.schema import predictions
from cml_mlops.monitoring.store import LabelRecord, open_store
from cml_mlops.monitoring.store.failures import translated
from cml_mlops.monitoring.store.labels import LabelCounts, write_new_labels


@dataclass(frozen=True)
class LabelLoad:
    """The outcome of `load_labels`: the source, its rows, and what was written where."""

    source: str
    store: str
    rows: int
    counts: LabelCounts

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "store": self.store, "rows": self.rows, **self.counts.to_dict()}

    def summary(self) -> str:
        """For people: one line, plus the unknown ones when there are any."""
        counts = self.counts
        text = (
            f"{self.rows} label(s) from {self.source} into {self.store}: {counts.added} added, "
            f"{counts.updated} updated, {counts.unchanged} already stored, {counts.unknown} unknown"
        )
        if counts.unknown:
            text += (
                f"\n{counts.unknown} label(s) name predictions the store does not have (not inserted), e.g. "
                + ", ".join(counts.unknown_sample)
            )
        return text


def load_labels(config: ProjectConfig, source: str, *, now: float | None = None) -> LabelLoad:
    """Load the ground truth of `source` (a .csv path or `iceberg:<table>`) into the configured store.

    Rows without a `labelled_at` are labelled at `now` (default: the current time). Raises LabelSourceError
    (nothing written) when the source breaks the labels contract, StoreError when the store cannot be used.
    """
    frame = read_label_source(config, source)
    at = time.time() if now is None else now
    engine = open_store(config)
    try:
        with translated(engine, "load labels"), engine.begin() as connection:
            records, unknown = _records(connection, frame, config.monitoring.labels, at)
            counts = write_new_labels(connection, records)
    finally:
        engine.dispose()
    counts = LabelCounts(counts.added, counts.updated, counts.unchanged, counts.unknown_ids + unknown)
    return LabelLoad(source=source, store=describe_store(config), rows=len(frame.labels), counts=counts)


def _records(
    connection: Connection, frame: LabelFrame, settings: MonitoringLabelsSection, now: float
) -> tuple[list[LabelRecord], list[str]]:
    """The frame's labels keyed by prediction id, and the keys that match no prediction (business keys only)."""
    ids: Sequence[str | None] = frame.keys
    unknown: list[str] = []
    if frame.times is not None:
        ids = match_business_keys(connection, frame.keys, frame.times, settings)
        unknown = [
            f"{key}@{when:g}" for key, when, found in zip(frame.keys, frame.times, ids, strict=True) if not found
        ]
    records = [
        LabelRecord(prediction_id, label, now if at is None else at)
        for prediction_id, label, at in zip(ids, frame.labels, frame.labelled_at, strict=True)
        if prediction_id is not None
    ]
    return records, unknown


def match_business_keys(
    connection: Connection, keys: Sequence[str], times: Sequence[float], settings: MonitoringLabelsSection
) -> list[str | None]:
    """Per (key, time), the id of the logged prediction with that business key nearest in time, within
    `match_seconds`; None when there is none. The key is read from the logged features, as text."""
    if not keys:
        return []
    key_name, tolerance = str(settings.business_key), settings.match_seconds
    query = select(predictions.c.prediction_id, predictions.c.requested_at, predictions.c.features).where(
        predictions.c.requested_at.between(min(times) - tolerance, max(times) + tolerance)
    )
    logged: dict[str, list[tuple[float, str]]] = {}
    for row in connection.execute(query):
        value = (row.features or {}).get(key_name)
        if value is not None:
            logged.setdefault(str(value), []).append((float(row.requested_at), row.prediction_id))
    matched: list[str | None] = []
    for key, when in zip(keys, times, strict=True):
        candidates = [(abs(at - when), prediction_id) for at, prediction_id in logged.get(key, [])]
        best = min(candidates, default=None)
        matched.append(best[1] if best is not None and best[0] <= tolerance else None)
    return matched

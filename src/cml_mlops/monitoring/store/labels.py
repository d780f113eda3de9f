"""Ground truth that arrives after the predictions (CML's `track_delayed_metrics`), checked against the log.

`write_new_labels` is the one idempotent way labels reach the store: `cml-mlops labels load`, and the
`PredictionLog` that `simulate` and the servers write through, both use it. A label is added when its prediction
had none, updated when the stored outcome differs, and left alone when the store already has that outcome (its
first `labelled_at` is kept): sending the same labels twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select

from cml_mlops.monitoring.schema import labels as labels_table
from cml_mlops.monitoring.store.errors import UnknownPredictions
from cml_mlops.monitoring.store.failures import translated
from cml_mlops.monitoring.store.inserts import ID_CHUNK, known_prediction_ids, upsert_labels
from cml_mlops.monitoring.store.records import LabelRecord

SHOWN_IDS = 5


@dataclass(frozen=True)
class LabelResult:
    """How many labels were written, and the prediction ids that were not in the store (skipped)."""

    written: int
    unknown: list[str] = field(default_factory=list)


def record_labels(engine: Engine, labels: Iterable[LabelRecord], *, skip_unknown: bool = False) -> LabelResult:
    """Store the labels of logged predictions, in one transaction; a label given twice keeps the last.

    By default a label naming a prediction id the store does not have refuses the whole call (UnknownPredictions,
    nothing written): such a label usually means the wrong store or a lost prediction, which should be looked at.
    With `skip_unknown` the known ones are written and the unknown ids are returned.
    """
    with translated(engine, "write labels"), engine.begin() as connection:
        return write_labels(connection, labels, skip_unknown=skip_unknown)


def write_labels(connection: Connection, labels: Iterable[LabelRecord], *, skip_unknown: bool = False) -> LabelResult:
    """`record_labels` inside the caller's transaction."""
    latest = {label.prediction_id: label for label in labels}
    known = known_prediction_ids(connection, latest)
    unknown = [prediction_id for prediction_id in latest if prediction_id not in known]
    if unknown and not skip_unknown:
        shown = ", ".join(unknown[:SHOWN_IDS]) + (" ..." if len(unknown) > SHOWN_IDS else "")
        raise UnknownPredictions(
            f"{len(unknown)} of {len(latest)} labels name predictions the store does not have ({shown}); "
            "nothing was written: check that the labels belong to this store, or skip the unknown ids",
            unknown,
        )
    upsert_labels(connection, [label.row() for prediction_id, label in latest.items() if prediction_id in known])
    return LabelResult(written=len(latest) - len(unknown), unknown=unknown)


@dataclass(frozen=True)
class LabelCounts:
    """What one idempotent write did to the `labels` table."""

    added: int
    updated: int
    unchanged: int
    unknown_ids: list[str] = field(default_factory=list)  # labels of predictions the store does not have

    @property
    def written(self) -> int:
        return self.added + self.updated

    @property
    def unknown(self) -> int:
        return len(self.unknown_ids)

    @property
    def unknown_sample(self) -> list[str]:
        return self.unknown_ids[:SHOWN_IDS]

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "unknown": self.unknown,
            "unknown_sample": self.unknown_sample,
        }


def apply_labels(engine: Engine, labels: Iterable[LabelRecord]) -> LabelCounts:
    """Store labels idempotently, in one transaction; labels of unknown predictions are counted, not written."""
    with translated(engine, "write labels"), engine.begin() as connection:
        return write_new_labels(connection, labels)


def write_new_labels(connection: Connection, labels: Iterable[LabelRecord]) -> LabelCounts:
    """`apply_labels` inside the caller's transaction."""
    latest = {label.prediction_id: label for label in labels}
    stored = stored_outcomes(connection, latest)
    fresh = [label for label in latest.values() if stored.get(label.prediction_id) != label.label]
    result = write_labels(connection, fresh, skip_unknown=True)
    updated = sum(1 for label in fresh if label.prediction_id in stored)
    return LabelCounts(
        added=result.written - updated,
        updated=updated,
        unchanged=len(latest) - len(fresh),
        unknown_ids=result.unknown,
    )


def stored_outcomes(connection: Connection, ids: Iterable[str]) -> dict[str, int]:
    """The stored label of each of `ids` that has one."""
    wanted = list(dict.fromkeys(ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), ID_CHUNK):
        chunk = wanted[start : start + ID_CHUNK]
        column = labels_table.c.prediction_id
        query = select(column, labels_table.c.label).where(column.in_(chunk))
        found.update((row.prediction_id, int(row.label)) for row in connection.execute(query))
    return found

"""Ground truth that arrives after the predictions (CML's `track_delayed_metrics`), checked against the log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

from cml_mlops.monitoring.store.errors import UnknownPredictions
from cml_mlops.monitoring.store.failures import translated
from cml_mlops.monitoring.store.inserts import known_prediction_ids, upsert_labels
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

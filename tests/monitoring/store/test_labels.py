"""`record_labels`: delayed ground truth for logged predictions; labels of unknown ids are refused or skipped."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine

from cml_mlops.monitoring.store import (
    InvalidRecord,
    LabelRecord,
    PredictionLog,
    StoreUnavailable,
    UnknownPredictions,
    migrate,
    record_labels,
)
from tests.monitoring.store.helpers import label_of, predictions_batch, stored_labels
from tests.support.net import free_port


@pytest.fixture
def logged(engine: Engine, tmp_path):  # type: ignore[no-untyped-def]
    migrate(engine)
    records = predictions_batch(6)
    with PredictionLog(engine, spill_dir=tmp_path / "spill") as log:
        log.add(records)
    return records


def test_labels_of_logged_predictions_are_stored_and_a_later_one_replaces(engine: Engine, logged) -> None:  # type: ignore[no-untyped-def]
    first = [label_of(record, 1) for record in logged[:4]]
    assert record_labels(engine, first).written == 4
    corrected = label_of(logged[0], 0, delay=7200)
    result = record_labels(engine, [corrected])
    assert (result.written, result.unknown) == (1, [])
    assert stored_labels(engine) == {label.prediction_id: label for label in [corrected, *first[1:]]}


def test_labels_naming_unknown_predictions_are_refused_and_none_written(engine: Engine, logged) -> None:  # type: ignore[no-untyped-def]
    labels = [label_of(logged[0]), LabelRecord("not-a-prediction", 1, 1.0), label_of(logged[1])]
    with pytest.raises(UnknownPredictions) as caught:
        record_labels(engine, labels)
    assert caught.value.unknown == ["not-a-prediction"]
    assert "1 of 3 labels name predictions the store does not have (not-a-prediction)" in str(caught.value)
    assert "nothing was written" in str(caught.value)
    assert stored_labels(engine) == {}


def test_skipping_unknown_ids_writes_the_known_labels_and_reports_the_rest(engine: Engine, logged) -> None:  # type: ignore[no-untyped-def]
    labels = [label_of(logged[0]), LabelRecord("ghost-1", 0, 1.0), LabelRecord("ghost-2", 1, 2.0)]
    result = record_labels(engine, labels, skip_unknown=True)
    assert (result.written, result.unknown) == (1, ["ghost-1", "ghost-2"])
    assert list(stored_labels(engine)) == [logged[0].prediction_id]


@pytest.mark.parametrize(
    "values, message",
    [
        (("p", 2, 1.0), "label must be 0 or 1"),
        (("p", True, 1.0), "label must be 0 or 1"),
        (("", 1, 1.0), "1 to 64 characters"),
        (("p" * 65, 1, 1.0), "1 to 64 characters"),
        (("p", 1, float("nan")), "labelled_at must be epoch seconds"),
    ],
)
def test_malformed_labels_are_refused_before_any_write(values: tuple, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidRecord, match=message):
        LabelRecord(*values)


def test_an_unreachable_store_is_a_clear_error() -> None:
    engine = create_engine(f"postgresql+psycopg2://root@127.0.0.1:{free_port()}/nowhere")
    with pytest.raises(StoreUnavailable, match=r"cannot write labels: the monitoring store .* does not answer"):
        record_labels(engine, [LabelRecord("p", 1, 1.0)])

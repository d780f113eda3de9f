"""`PredictionLog`: batched writes, no duplicates on retry, and nothing lost when the database goes away."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine

from cml_mlops.monitoring.store import (
    PredictionLog,
    StoreError,
    migrate,
    read_spill,
    replay_spill,
)
from tests.monitoring.store.conftest import Outage
from tests.monitoring.store.helpers import (
    count,
    label_of,
    prediction,
    predictions_batch,
    stored_labels,
    stored_predictions,
)


def _log(engine: Engine, tmp_path: Path, **options: float) -> PredictionLog:
    return PredictionLog(engine, spill_dir=tmp_path / "spill", **options)  # type: ignore[arg-type]


def test_records_are_written_in_batches_and_read_back_unchanged(engine: Engine, tmp_path: Path) -> None:
    migrate(engine)
    records = predictions_batch(1234)
    with _log(engine, tmp_path, batch_size=100) as log:
        log.add(records[:1000])
        log.add(records[1000:])
    summary = log.summary()
    assert (summary.predictions_written, summary.complete, summary.retries) == (1234, True, 0)
    assert stored_predictions(engine) == {record.prediction_id: record for record in records}


def test_flush_returns_once_the_rows_are_visible(engine: Engine, tmp_path: Path) -> None:
    migrate(engine)
    log = _log(engine, tmp_path, batch_size=10_000, flush_seconds=3600)
    log.add(predictions_batch(7))
    assert log.flush(timeout=30) is True
    assert count(engine, "predictions") == 7 and log.pending == 0
    log.close()


def test_labels_follow_their_predictions_and_unknown_ones_are_spilled(engine: Engine, tmp_path: Path) -> None:
    migrate(engine)
    records = predictions_batch(20)
    stray = label_of(prediction(99, prediction_id="never-logged"))
    with _log(engine, tmp_path, batch_size=8) as log:
        log.add(records)  # still buffered when the labels come: they must wait for these
        log.add_labels([label_of(record, index % 2) for index, record in enumerate(records)] + [stray])
    summary = log.summary()
    assert summary.labels_written == 20 and summary.labels_spilled == 1
    assert len(stored_labels(engine)) == 20
    assert summary.spill_file is not None and read_spill(summary.spill_file) == ([], [stray])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ids=st.lists(st.sampled_from([f"id-{n}" for n in range(30)]), min_size=1, max_size=80),
    batch_size=st.integers(1, 25),
)
def test_re_sent_records_never_duplicate(tmp_path: Path, ids: list[str], batch_size: int) -> None:
    """Whatever is re-sent and however it is batched, the store holds each prediction id once."""
    engine = create_engine(f"sqlite:///{tmp_path / f'store-{time.monotonic_ns()}.db'}")
    migrate(engine)
    first = {}
    with _log(engine, tmp_path, batch_size=batch_size) as log:
        for index, prediction_id in enumerate(ids):
            record = prediction(index, prediction_id=prediction_id)
            first.setdefault(prediction_id, record)
            log.add([record])
    assert stored_predictions(engine) == first  # the first write of an id wins; re-sends are no-ops
    engine.dispose()


def test_adding_to_a_closed_log_is_refused(engine: Engine, tmp_path: Path) -> None:
    migrate(engine)
    log = _log(engine, tmp_path)
    log.close()
    with pytest.raises(StoreError, match="closed"):
        log.add(predictions_batch(1))


def test_a_full_buffer_spills_instead_of_growing(engine: Engine, tmp_path: Path) -> None:
    migrate(engine)
    records = predictions_batch(50)
    with _log(engine, tmp_path, max_buffer_rows=10, flush_seconds=3600, batch_size=1000) as log:
        log.add(records)
    summary = log.summary()
    assert (summary.predictions_written, summary.predictions_spilled) == (10, 40)
    assert summary.spill_file is not None
    assert read_spill(summary.spill_file)[0] == records[10:]


@pytest.mark.postgres
def test_rows_the_database_refuses_are_spilled_not_dropped(postgres_engine: Engine, tmp_path: Path) -> None:
    migrate(postgres_engine)
    good = predictions_batch(3)
    too_long = prediction(7, model_version="v" * 40)  # predictions.model_version is VARCHAR(32)
    with _log(postgres_engine, tmp_path, batch_size=1) as log:
        log.add([*good[:2], too_long, good[2]])
    summary = log.summary()
    assert summary.predictions_written == 3 and summary.predictions_spilled == 1
    assert summary.last_error is not None and "refused" in summary.last_error
    assert summary.spill_file is not None and read_spill(summary.spill_file)[0] == [too_long]
    assert set(stored_predictions(postgres_engine)) == {record.prediction_id for record in good}


@pytest.mark.postgres
def test_an_outage_during_the_run_loses_nothing(postgres_engine: Engine, outage: Outage, tmp_path: Path) -> None:
    migrate(postgres_engine)
    records = predictions_batch(300)
    log = _log(postgres_engine, tmp_path, batch_size=50, flush_seconds=0.05, retry_max_seconds=0.2)
    log.add(records[:100])
    assert log.flush(timeout=30)
    outage.begin()
    log.add(records[100:])
    log.add_labels([label_of(record) for record in records[::3]])
    deadline = time.monotonic() + 30
    while log.retries < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.retries >= 3 and log.pending > 0  # the writer is retrying, and the rows wait in memory
    outage.end()
    summary = log.close(timeout=60)
    assert summary.complete and summary.predictions_written == 300 and summary.labels_written == 100
    assert stored_predictions(postgres_engine) == {record.prediction_id: record for record in records}
    assert len(stored_labels(postgres_engine)) == 100


@pytest.mark.postgres
def test_rows_left_at_close_are_spilled_and_replayed_once(
    postgres_engine: Engine, outage: Outage, tmp_path: Path
) -> None:
    migrate(postgres_engine)
    records = predictions_batch(40)
    labels = [label_of(record, 0) for record in records[:10]]
    outage.begin()
    with _log(postgres_engine, tmp_path, batch_size=16, retry_max_seconds=0.2, close_timeout_seconds=1.0) as log:
        log.add(records)
        log.add_labels(labels)
    summary = log.summary()
    assert (summary.predictions_spilled, summary.labels_spilled, summary.predictions_written) == (40, 10, 0)
    assert summary.spill_file is not None and summary.last_error
    spilled = summary.spill_file
    lines = spilled.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 50 and json.loads(lines[0])["kind"] == "prediction"
    copy = spilled.with_name("copy.jsonl")
    copy.write_bytes(spilled.read_bytes())
    outage.end()
    replayed = replay_spill(postgres_engine, spilled)
    assert (replayed.predictions, replayed.labels) == (40, 10) and not spilled.exists()
    replay_spill(postgres_engine, copy)  # the same rows again: nothing doubles
    assert stored_predictions(postgres_engine) == {record.prediction_id: record for record in records}
    assert stored_labels(postgres_engine) == {label.prediction_id: label for label in labels}

"""`PredictionLog`: the store's writer. Callers add records and move on; one thread writes them in batches.

A write that fails because the database is away (down, restarting, locked) is retried with exponential
backoff while records keep buffering in memory; retries never duplicate (see inserts). Whatever cannot be
written when the log closes (the database stayed away past `close_timeout_seconds`, a row the database
refuses, a label of an unknown prediction, a buffer over `max_buffer_rows`) goes to a spill file, which
`replay_spill` re-sends: no record is dropped silently.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine

from cml_mlops.config import ProjectConfig
from cml_mlops.monitoring.store.errors import StoreError
from cml_mlops.monitoring.store.failures import first_line, is_transient
from cml_mlops.monitoring.store.inserts import insert_predictions
from cml_mlops.monitoring.store.labels import write_new_labels
from cml_mlops.monitoring.store.records import LabelRecord, PredictionRecord
from cml_mlops.monitoring.store.spill import SpillFile


@dataclass(frozen=True)
class LogSummary:
    """What the log did: rows written, rows spilled (and where), retries, the last database error."""

    predictions_written: int
    labels_written: int
    predictions_spilled: int
    labels_spilled: int
    spill_file: Path | None
    retries: int
    last_error: str | None

    @property
    def complete(self) -> bool:
        """Every record added reached the store."""
        return self.spill_file is None


class PredictionLog:
    """A buffered, batched, retrying writer of predictions and labels, backed by one thread."""

    def __init__(
        self,
        engine: Engine,
        *,
        spill_dir: Path,
        batch_size: int = 500,
        flush_seconds: float = 1.0,
        retry_initial_seconds: float = 0.1,
        retry_max_seconds: float = 5.0,
        close_timeout_seconds: float = 60.0,
        max_buffer_rows: int = 200_000,
    ) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.retry_initial_seconds = retry_initial_seconds
        self.retry_max_seconds = retry_max_seconds
        self.close_timeout_seconds = close_timeout_seconds
        self.max_buffer_rows = max_buffer_rows
        self.spill = SpillFile(spill_dir)
        self._predictions: deque[PredictionRecord] = deque()
        self._labels: deque[LabelRecord] = deque()
        self._condition = threading.Condition()
        self._in_flight: tuple[str, list[Any]] | None = None  # taken by the writer, not yet confirmed or spilled
        self._closing = False
        self._abandoned = False  # close gave up on the writer thread: it must not touch the buffers any more
        self._deadline = float("inf")
        self._flush_due = time.monotonic() + flush_seconds
        self.predictions_written = 0
        self.labels_written = 0
        self.retries = 0
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="prediction-log-writer", daemon=True)
        self._thread.start()

    @classmethod
    def from_config(cls, engine: Engine, config: ProjectConfig) -> PredictionLog:
        settings = config.prediction_log
        return cls(
            engine,
            spill_dir=config.path(settings.spill_dir),
            batch_size=settings.batch_size,
            flush_seconds=settings.flush_seconds,
            retry_initial_seconds=settings.retry_initial_seconds,
            retry_max_seconds=settings.retry_max_seconds,
            close_timeout_seconds=settings.close_timeout_seconds,
            max_buffer_rows=settings.max_buffer_rows,
        )

    # -- the callers' side ---------------------------------------------------------------------------------

    def add(self, records: Iterable[PredictionRecord]) -> None:
        """Queue predictions for writing (never blocks on the database)."""
        self._queue(self._predictions, list(records))

    def add_labels(self, labels: Iterable[LabelRecord]) -> None:
        """Queue labels; they are written after every prediction queued before them."""
        self._queue(self._labels, list(labels))

    @property
    def pending(self) -> int:
        """Rows added and not yet written or spilled."""
        with self._condition:
            return len(self._predictions) + len(self._labels) + (len(self._in_flight[1]) if self._in_flight else 0)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything added so far is written or spilled (True), or `timeout` seconds pass (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            self._flush_due = 0.0
            self._condition.notify_all()
            while self._predictions or self._labels or self._in_flight is not None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if (remaining is not None and remaining <= 0) or not self._thread.is_alive():
                    return False
                self._condition.wait(timeout=remaining if remaining is not None else 0.5)
        return True

    def close(self, timeout: float | None = None) -> LogSummary:
        """Write what is buffered, retrying up to `timeout` (default close_timeout_seconds); spill the rest."""
        wait = self.close_timeout_seconds if timeout is None else timeout
        with self._condition:
            if not self._closing:
                self._closing = True
                self._deadline = time.monotonic() + wait
            self._condition.notify_all()
        # The writer stops retrying at the deadline; a database call it is stuck in gets some more time.
        self._thread.join(timeout=wait + 30.0)
        with self._condition:
            # From here the writer (stuck, or stopped by a bug) must not touch the buffers: what is left is spilled,
            # the batch it holds too (it may yet commit: a replay skips what is already stored).
            self._abandoned = True
            predictions, labels = list(self._predictions), list(self._labels)
            if self._in_flight is not None:
                kind, batch = self._in_flight
                if kind == "predictions":
                    predictions = batch + predictions
                else:
                    labels = batch + labels
            self._predictions.clear()
            self._labels.clear()
            self._in_flight = None
        self.spill.write(predictions, labels)
        return self.summary()

    def summary(self) -> LogSummary:
        return LogSummary(
            predictions_written=self.predictions_written,
            labels_written=self.labels_written,
            predictions_spilled=self.spill.predictions,
            labels_spilled=self.spill.labels,
            spill_file=self.spill.path,
            retries=self.retries,
            last_error=self.last_error,
        )

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _queue(self, buffer: deque[Any], records: list[Any]) -> None:
        if not records:
            return
        with self._condition:
            if self._closing:
                raise StoreError("the prediction log is closed: no more records can be added")
            room = max(0, self.max_buffer_rows - len(self._predictions) - len(self._labels))
            buffer.extend(records[:room])
            overflow = records[room:]
            self._condition.notify_all()
        if overflow:  # the database has been away for long: keep memory bounded, keep the rows
            self.last_error = self.last_error or "buffer full"
            if buffer is self._predictions:
                self.spill.write(predictions=overflow)
            else:
                self.spill.write(labels=overflow)

    # -- the writer thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._write_until_closed()
        except Exception as exc:  # a bug: close() spills what is left, and the summary says why
            self.last_error = f"the writer stopped: {type(exc).__name__}: {exc}"

    def _write_until_closed(self) -> None:
        delay = self.retry_initial_seconds
        while True:
            with self._condition:
                while not self._ready():
                    self._condition.wait(timeout=self._idle_seconds())
                if self._abandoned or not (self._predictions or self._labels):
                    return  # closing, and nothing left
                if self._closing and time.monotonic() >= self._deadline:
                    self._spill_buffers()
                    return
                kind, batch = self._take()
            try:
                unknown = self._write(kind, batch)
            except Exception as exc:  # every failure either retries or spills: none loses rows
                if is_transient(exc):
                    self._give_back(kind, batch, exc)
                    self._pause(delay)
                    delay = min(delay * 2, self.retry_max_seconds)
                    continue
                self._refused(kind, batch, exc)
            else:
                delay = self.retry_initial_seconds
                if unknown:
                    self.spill.write(labels=unknown)
                    self.last_error = f"{len(unknown)} labels name predictions the store does not have"
                self._confirm(kind, len(batch) - len(unknown))

    def _ready(self) -> bool:
        """Whether the writer should act now: closing, a full batch, or the flush interval is over."""
        if self._closing or self._abandoned:
            return True
        pending = len(self._predictions) + len(self._labels)
        return pending >= self.batch_size or (pending > 0 and time.monotonic() >= self._flush_due)

    def _idle_seconds(self) -> float | None:
        """How long the writer may sleep: until the flush interval ends, or until notified when nothing waits."""
        if not (self._predictions or self._labels):
            return None
        return max(0.0, self._flush_due - time.monotonic())

    def _take(self) -> tuple[str, list[Any]]:
        # Labels wait for the predictions queued before them: a label's prediction must be in the store first.
        kind = "predictions" if self._predictions else "labels"
        buffer: deque[Any] = self._predictions if self._predictions else self._labels
        batch = list(itertools.islice(buffer, self.batch_size))
        for _ in batch:
            buffer.popleft()
        self._in_flight = (kind, batch)
        return kind, batch

    def _write(self, kind: str, batch: list[Any]) -> list[LabelRecord]:
        """Write one batch in one transaction; the labels whose prediction the store does not have are returned."""
        with self.engine.begin() as connection:
            if kind == "predictions":
                insert_predictions(connection, [record.row() for record in batch])
                return []
            unknown = set(write_new_labels(connection, batch).unknown_ids)  # as `labels load` does
        return [label for label in batch if label.prediction_id in unknown]

    def _give_back(self, kind: str, batch: list[Any], exc: BaseException) -> None:
        """A transient failure: the batch goes back to the front, in order, for the next attempt."""
        with self._condition:
            self.retries += 1
            self.last_error = first_line(exc)
            if self._abandoned:
                return
            self._in_flight = None
            buffer = self._predictions if kind == "predictions" else self._labels
            buffer.extendleft(reversed(batch))
            self._condition.notify_all()

    def _pause(self, delay: float) -> None:
        with self._condition:
            end = min(time.monotonic() + delay, self._deadline)
            while time.monotonic() < end and not self._abandoned:
                self._condition.wait(timeout=end - time.monotonic())

    def _refused(self, kind: str, batch: list[Any], exc: BaseException) -> None:
        """The database refused the batch for good (bad row, unknown prediction ids): keep it in the spill file."""
        with self._condition:
            if self._abandoned:
                return  # close() spilled this batch already
            self._in_flight = None
            self.last_error = f"{kind} refused: {first_line(exc)}"
            self._condition.notify_all()
        self.spill.write(**{kind: batch})

    def _confirm(self, kind: str, written: int) -> None:
        with self._condition:
            if kind == "predictions":
                self.predictions_written += written
            else:
                self.labels_written += written
            self._in_flight = None
            self._flush_due = time.monotonic() + self.flush_seconds
            self._condition.notify_all()

    def _spill_buffers(self) -> None:
        self.spill.write(self._predictions, self._labels)
        self._predictions.clear()
        self._labels.clear()
        self._condition.notify_all()

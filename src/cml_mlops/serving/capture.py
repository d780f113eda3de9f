"""Server-side capture: every prediction a server answers goes to the prediction log, off the request path.

The local model server and the CML model function call `Capture.observe` with the validated columns and the
predictions of each request. That only appends to a bounded in-memory queue; a converter thread turns the
items into prediction records (features with the `capture.drop_columns` removed and the `capture.hash_columns`
replaced by a salted SHA-256 digest) and hands them to a `CaptureLog`, whose own thread writes them in batches
(see capture_log.py for outages, spills and replay). When the queue is full (the converter fell behind) the
overflow is written to the spill file by the caller: memory stays bounded and no prediction is dropped.
Further sinks (on CML, `cml.metrics_v1.track_metric`) get the same records; a sink that fails is logged, and
never fails a request.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import orjson

from cml_mlops.config import CaptureSection, ProjectConfig
from cml_mlops.monitoring.database import store_engine
from cml_mlops.monitoring.store.records import PredictionRecord, trusted_prediction
from cml_mlops.monitoring.store.writer import LogSummary
from cml_mlops.serving.capture_log import CaptureLog

log = logging.getLogger(__name__)

SQLITE_BUSY_SECONDS = 30
Columns = dict[str, list[Any]]
Sink = Callable[[list[PredictionRecord]], None]
_Item = tuple[float, float, Columns, list[dict[str, Any]]]  # requested_at, latency_ms, columns, predictions


class Privacy:
    """What of a request's record may be logged: dropped columns go, hashed columns become digests."""

    def __init__(self, hash_columns: Sequence[str] = (), drop_columns: Sequence[str] = (), salt: str = "") -> None:
        self.hash_columns = frozenset(hash_columns)
        self.drop_columns = frozenset(drop_columns)
        self._salt = salt.encode()

    @classmethod
    def from_settings(cls, settings: CaptureSection) -> Privacy:
        salt = settings.hash_salt.get_secret_value() if settings.hash_salt is not None else ""
        return cls(settings.hash_columns, settings.drop_columns, salt)

    def digest(self, value: Any) -> str | None:
        if value is None:
            return None
        return hashlib.sha256(self._salt + orjson.dumps(_jsonable(value))).hexdigest()

    def records(self, columns: Columns) -> list[dict[str, Any]]:
        """One JSON-ready feature record per row, after dropping and hashing."""
        if not (self.hash_columns or self.drop_columns):  # the common case, in one pass
            names = list(columns)
            return [
                dict(zip(names, [v if type(v) in _PLAIN else _jsonable(v) for v in row], strict=True))
                for row in zip(*columns.values(), strict=True)
            ]
        kept: list[tuple[str, list[Any]]] = []
        for name, values in columns.items():
            if name in self.drop_columns:
                continue
            if name in self.hash_columns:
                kept.append((name, [self.digest(value) for value in values]))
            else:
                kept.append((name, [_jsonable(value) for value in values]))
        rows = len(kept[0][1]) if kept else len(next(iter(columns.values()), []))
        return [{name: values[row] for name, values in kept} for row in range(rows)]


_PLAIN = frozenset({str, int, bool, type(None)})


def _jsonable(value: Any) -> Any:
    """A feature value as JSON can hold it: numpy scalars unwrapped, NaN and NA as null, times as ISO text."""
    if value is None or type(value) in (str, int, bool):
        return value
    if type(value) is float:
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    item = getattr(value, "item", None)
    if callable(item):  # numpy / pandas scalars
        return _jsonable(item())
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


class Capture:
    """Logs what one served model answers; `observe` is all a request does."""

    def __init__(
        self,
        log_: CaptureLog,
        settings: CaptureSection,
        *,
        model_name: str,
        positive_label: Any,
        arm: str | None = None,
        sinks: Sequence[Sink] = (),
    ) -> None:
        self.log = log_
        self.settings = settings
        self.model_name = model_name
        self.positive_label = positive_label
        self.arm = arm
        self.sinks = list(sinks)
        self.privacy = Privacy.from_settings(settings)
        self.invalid = 0  # records the store would refuse (logged, counted)
        self.overflowed = 0  # rows spilled by callers because the queue was full
        self._queue: deque[_Item] = deque()
        self._queued_rows = 0
        self._closing = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._convert, name="capture-converter", daemon=True)
        self._thread.start()

    @classmethod
    def open(
        cls, config: ProjectConfig, *, model_name: str, positive_label: Any, arm: str | None = None,
        sinks: Sequence[Sink] = (),
    ) -> Capture | None:  # fmt: skip
        """The capture of `config` (None when `capture.enabled` is false). Does not connect to the store yet."""
        if not config.capture.enabled:
            return None
        engine = store_engine(
            config, sqlite_busy_seconds=SQLITE_BUSY_SECONDS, pool_pre_ping=True,
            json_serializer=lambda value: orjson.dumps(value).decode(),
        )  # fmt: skip
        log_ = CaptureLog.from_config(engine, config)
        assert isinstance(log_, CaptureLog)
        return cls(log_, config.capture, model_name=model_name, positive_label=positive_label, arm=arm, sinks=sinks)

    # -- the request's side ------------------------------------------------------------------------------

    def observe(self, columns: Columns, predictions: list[dict[str, Any]], started: float) -> None:
        """Queue one request's predictions (`started`: its time.perf_counter() at arrival). Never raises."""
        item = (time.time(), (time.perf_counter() - started) * 1000, columns, predictions)
        rows = len(predictions)
        with self._condition:
            if not self._closing and self._queued_rows + rows <= self.settings.queue_rows:
                self._queue.append(item)
                self._queued_rows += rows
                self._condition.notify()
                return
        try:  # the converter fell behind (or we are closing): keep the rows in the spill file
            self.log.spill.write(self._records(item))
            self.overflowed += rows
        except Exception:
            log.exception("could not capture %d predictions", rows)

    def health(self) -> dict[str, Any]:
        """`capture`: ok, or degraded with the reason (which names the spill directory when it is the cause)."""
        problem = self.log.degraded
        return {"capture": "degraded" if problem else "ok", **({"capture_problem": problem} if problem else {})}

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until what was observed so far is written (or spilled); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._queue:
                if not self._condition.wait(timeout=max(0.0, deadline - time.monotonic())):
                    break
        with self._condition:
            if self._queue:
                return False
        return self.log.flush(timeout=max(0.0, deadline - time.monotonic()))

    def close(self, timeout: float | None = None) -> LogSummary:
        """Convert what is queued, then close the log: written, or spilled when the store stays away."""
        with self._condition:
            self._closing = True
            self._condition.notify_all()
        self._thread.join(timeout=timeout)
        summary = self.log.close(timeout)
        self.log.engine.dispose()
        return summary

    # -- the converter thread ----------------------------------------------------------------------------

    def _convert(self) -> None:
        while True:
            with self._condition:
                while not self._queue and not self._closing:
                    self._condition.wait()
                if not self._queue:
                    return
                items = list(self._queue)
                self._queue.clear()
                self._queued_rows = 0
                self._condition.notify_all()
            records = [record for item in items for record in self._records(item)]
            try:
                self.log.add(records)
            except Exception:  # a closed log: nothing more can be written
                log.exception("could not capture %d predictions", len(records))
            for sink in self.sinks:
                try:
                    sink(records)
                except Exception as exc:
                    log.warning("capture sink %s failed: %s", getattr(sink, "__name__", sink), exc)

    def _records(self, item: _Item) -> list[PredictionRecord]:
        requested_at, latency_ms, columns, predictions = item
        features = self.privacy.records(columns)
        records = []
        for row, prediction in zip(features, predictions, strict=True):
            probability = prediction["probability"]
            if not (isinstance(probability, float) and 0.0 <= probability <= 1.0):  # the scorer refuses these
                self.invalid += 1
                log.warning("a served prediction cannot be logged: probability %r", probability)
                continue
            record = trusted_prediction(
                prediction_id=prediction["prediction_id"], requested_at=requested_at,
                model_name=self.model_name, model_version=str(prediction["model_version"]),
                features=row, probability=probability,
                prediction=int(prediction["label"] == self.positive_label), latency_ms=latency_ms,
                scenario=self.settings.source, arm=self.arm,
            )  # fmt: skip
            records.append(record)
        return records

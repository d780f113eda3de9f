"""The prediction log of a serving process: never in the way of a request, and whole across store outages.

`CaptureLog` is the store's `PredictionLog` with three changes for a server that runs for weeks:
- the tables are migrated on the first write, not at start: a store that is down when the server starts
  only delays the capture (the server serves, and spills);
- while the store is away, what waits is written to the spill file at once (memory stays small; a crash of
  the server loses nothing already spilled), and the log reports itself `degraded`;
- after the next successful write the spill files are replayed into the store (duplicates skipped) and
  removed, so an outage heals without anyone running `replay` (which still works on a file that is left);
  while no new write comes (traffic ended during the outage), a healer thread tries every retry_max_seconds.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from cml_mlops.monitoring.store.failures import first_line, is_transient
from cml_mlops.monitoring.store.migration import migrate
from cml_mlops.monitoring.store.spill import replay_spill
from cml_mlops.monitoring.store.writer import LogSummary, PredictionLog


def spill_dir_problem(folder: Path) -> str | None:
    """Why `folder` cannot take spill files (named in the message), or None when it can."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as exc:
        return f"the capture spill directory {folder} cannot be written: {exc.strerror or exc}"
    return None


class CaptureLog(PredictionLog):
    """A PredictionLog that migrates lazily, spills during outages and replays its spills once the store is back."""

    def __init__(self, engine: Engine, *, spill_dir: Path, **settings: Any) -> None:
        self._migrated = False
        self.outage = False  # the last write attempt failed: the store is away
        self.spill_problem = spill_dir_problem(spill_dir)
        self.predictions_replayed = 0
        self._unreplayed: list[Path] = []  # spill files whose replay failed: tried again after the next write
        self._replay_lock = threading.Lock()  # the writer (after a write) and the healer (when idle) both replay
        super().__init__(engine, spill_dir=spill_dir, **settings)
        self._healed = threading.Event()  # set by close: the healer stops
        self._healer = threading.Thread(target=self._heal, name="capture-replay", daemon=True)
        self._healer.start()

    def close(self, timeout: float | None = None) -> LogSummary:
        self._healed.set()
        return super().close(timeout)

    def _heal(self) -> None:
        """Replay what waits in spill files when no new write comes to do it (an outage at the end of the traffic)."""
        while not self._healed.wait(self.retry_max_seconds):
            if not (self.outage or self._unreplayed or self.spill.path is not None):
                continue
            try:
                if not self._migrated:
                    migrate(self.engine)
                    self._migrated = True
            except Exception as exc:  # still away (or refusing): the next round tries again
                self.last_error = first_line(exc)
                continue
            if self._replay_spills():
                self.outage = False

    @property
    def degraded(self) -> str | None:
        """Why the capture is not healthy (store away, rows in spill files, spill dir unwritable), or None."""
        if self.spill_problem is not None:
            return self.spill_problem
        if self.outage:
            return f"the prediction store does not answer ({self.last_error}); spilling to {self.spill.folder}"
        waiting = len(self._unreplayed) + (self.spill.path is not None)
        if waiting:
            return f"{waiting} spill file(s) in {self.spill.folder} wait for replay into the prediction store"
        return None

    def _write(self, kind: str, batch: list[Any]) -> list[Any]:
        if not self._migrated:
            migrate(self.engine)  # StoreUnavailable while the store is away: transient, handled by _give_back
            self._migrated = True
        return super()._write(kind, batch)

    def _give_back(self, kind: str, batch: list[Any], exc: BaseException) -> None:
        """The store is away: spill this batch and everything queued, instead of holding them in memory."""
        with self._condition:
            self.retries += 1
            self.last_error = first_line(exc)
            self.outage = True
            if self._abandoned:
                return
            self._in_flight = None
            predictions = (batch if kind == "predictions" else []) + list(self._predictions)
            labels = (batch if kind == "labels" else []) + list(self._labels)
            self._predictions.clear()
            self._labels.clear()
            try:
                self.spill.write(predictions, labels)
                self.spill_problem = None
            except OSError as exc2:  # nowhere to spill: keep them in memory (bounded by max_buffer_rows)
                self.spill_problem = f"the capture spill directory {self.spill.folder} cannot be written: {exc2}"
                self._predictions.extendleft(reversed(predictions))
                self._labels.extendleft(reversed(labels))
            self._condition.notify_all()

    def _confirm(self, kind: str, written: int) -> None:
        super()._confirm(kind, written)
        self.outage = False
        self._replay_spills()

    def _replay_spills(self) -> bool:
        """Re-send the spill files (writer or healer thread); one that fails waits for the next time. True: all sent."""
        with self._replay_lock:
            return self._replay_files()

    def _replay_files(self) -> bool:
        with self.spill._lock:  # rotate: rows spilled from now on go to a new file
            if self.spill.path is not None:
                self._unreplayed.append(self.spill.path)
                self.spill.path = None
        for path in list(self._unreplayed):
            if not path.exists():
                self._unreplayed.remove(path)
                continue
            try:
                result = replay_spill(self.engine, path)
            except Exception as exc:  # store away again, or a row it refuses: keep the file, say why
                self.last_error = f"replay of {path} failed: {first_line(exc)}"
                if is_transient(exc):
                    self.outage = True
                return False
            self._unreplayed.remove(path)
            self.predictions_replayed += result.predictions
        return True

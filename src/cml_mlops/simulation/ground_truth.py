"""What the simulation does with the store: it checks the server's capture, and sends the ground truth.

The server logs every prediction it answers (server-side capture); the simulation only checks that the
store holds exactly the predictions it was answered (by prediction_id), and then moves them to simulated
time (`requested_at`, with the scenario's name) so that a run of seconds can span many monitoring windows.
Its labels are the ground truth a real deployment would get later: `send_labels` is the one place they leave.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine

from cml_mlops.config import ProjectConfig
from cml_mlops.monitoring.store import LabelRecord, LogSummary, PredictionLog
from cml_mlops.monitoring.store.errors import StoreUnavailable
from cml_mlops.monitoring.store.failures import translated
from cml_mlops.monitoring.store.inserts import known_prediction_ids, retime_predictions

POLL_SECONDS = 0.1
RETIME_BATCH = 1000
SHOWN_IDS = 5


@dataclass(frozen=True)
class CaptureCheck:
    """How many answered predictions the server captured; the ids it did not (a few, as examples)."""

    answered: int
    captured: int
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return self.captured == self.answered


def check_capture(
    engine: Engine, times: dict[str, float], scenario: str, *, timeout: float, retime: bool = True
) -> CaptureCheck:
    """Wait up to `timeout` s for the server's capture to hold every id of `times`; then move them to their
    simulated time (prediction_id -> requested_at) and `scenario`. Ids it never captured are reported."""
    started = time.monotonic()
    waiting = set(times)
    while True:
        try:
            with translated(engine, "read the captured predictions"), engine.connect() as connection:
                waiting -= known_prediction_ids(connection, waiting)
        except StoreUnavailable:  # the store is restarting: the server spills and replays, so wait
            if time.monotonic() - started >= timeout:
                raise
        if not waiting or time.monotonic() - started >= timeout:
            break
        time.sleep(POLL_SECONDS)
    captured = [prediction_id for prediction_id in times if prediction_id not in waiting]
    if retime and captured:
        rows = [{"prediction_id": i, "requested_at": times[i], "scenario": scenario} for i in captured]
        with translated(engine, "set the simulated times"), engine.begin() as connection:
            for start in range(0, len(rows), RETIME_BATCH):
                retime_predictions(connection, rows[start : start + RETIME_BATCH])
    return CaptureCheck(
        answered=len(times), captured=len(captured), missing=sorted(waiting)[:SHOWN_IDS],
        seconds=round(time.monotonic() - started, 3),
    )  # fmt: skip


def send_labels(config: ProjectConfig, engine: Engine, labels: Sequence[LabelRecord]) -> LogSummary:
    """Write the ground truth of captured predictions (batched, retried, spilled when the store stays away)."""
    log = PredictionLog.from_config(engine, config)
    try:
        log.add_labels(labels)
    finally:
        summary = log.close()
    return summary

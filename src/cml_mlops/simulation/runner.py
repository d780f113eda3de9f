"""`run_simulation`: send a scenario's rows to the deployed endpoint, check the server captured them, then labels.

The simulation is a client and a source of ground truth: the server logs each prediction it serves, and the
simulation checks that the store holds exactly the predictions it was answered (see ground_truth.py).
Requests leave in row order from `concurrency` threads. Time is simulated so that a run of seconds can span
many monitoring windows: row i is requested at `start + i * interval_seconds` (or, without an interval, at
`start` plus the real time elapsed), which the captured predictions are moved to. Failures are counted per
prediction (a failed request of 5 records is 5 failed predictions) and per request. After the predictions,
a seeded `label_share` of them get their ground truth, labelled `label_delay_seconds` (simulated) after the
request, as CML's `track_delayed_metrics` attaches late labels to logged predictions.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from cml_mlops.config import ProjectConfig
from cml_mlops.monitoring.database import describe_store
from cml_mlops.monitoring.store import LabelRecord, open_store
from cml_mlops.serving.answers import Answer
from cml_mlops.simulation.endpoint import EndpointClient, RequestFailed, resolve_endpoint
from cml_mlops.simulation.errors import SimulationError
from cml_mlops.simulation.ground_truth import CaptureCheck, check_capture, send_labels
from cml_mlops.simulation.scenarios import scenario_rows
from cml_mlops.simulation.served import served_version

FAIL_FAST_ERRORS = 20  # this many failed requests and not one answer: the endpoint refuses us, stop
SHOWN_ERRORS = 5


@dataclass(frozen=True)
class SimulationOptions:
    scenario: str = "holdout"
    target: str = "local"
    rows: int | None = None
    label_share: float = 0.5
    label_delay_seconds: float = 86_400.0
    start: float | None = None  # epoch seconds of the first request (default: now)
    interval_seconds: float | None = None  # simulated seconds between requests (default: the real clock)
    concurrency: int = 8
    records_per_request: int = 1
    seed: int = 7
    drift_share: float = 0.2
    timeout_seconds: float = 30.0
    retries: int = 3
    progress: bool = True

    @classmethod
    def from_config(cls, config: ProjectConfig, **overrides: Any) -> SimulationOptions:
        """The config's `simulation` section (target from `lifecycle.target`), then the given overrides."""
        section = config.simulation
        values: dict[str, Any] = {
            "scenario": section.scenario, "target": config.lifecycle.target, "rows": section.rows,
            "label_share": section.label_share, "label_delay_seconds": section.label_delay_seconds,
            "interval_seconds": section.interval_seconds, "concurrency": section.concurrency,
            "records_per_request": section.records_per_request, "seed": section.seed,
            "drift_share": section.drift_share, "timeout_seconds": section.timeout_seconds,
            "retries": section.retries,
        }  # fmt: skip
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)


@dataclass(frozen=True)
class SimulationSummary:
    """What a run did: the human summary line and `reports/simulation.json` come from this."""

    scenario: str
    source: str
    target: str
    endpoint: str
    model_name: str
    model_version: str
    store: str
    rows: int
    rows_sent: int
    failed_requests: int
    failed_predictions: int
    error_examples: list[str]
    seconds: float
    predictions_per_second: float
    predictions_answered: int
    predictions_logged: int  # captured by the server, as checked in the store
    capture_missing: list[str]  # answered ids the store does not hold (a few)
    capture_note: str | None
    labels_logged: int
    labels_spilled: int
    spill_file: str | None
    store_retries: int
    store_error: str | None
    first_requested_at: float | None
    last_requested_at: float | None
    records_per_request: int
    concurrency: int

    def line(self) -> str:
        return (
            f"simulate {self.scenario} -> {self.target} ({self.model_name} version {self.model_version}): "
            f"{self.rows_sent} rows sent, {self.failed_predictions} failed predictions ({self.failed_requests} "
            f"requests), {self.predictions_per_second:.1f} predictions/s; {self.predictions_logged} of "
            f"{self.predictions_answered} predictions captured by the server and {self.labels_logged} labels "
            f"logged to {self.store}"
        )


@dataclass
class _Progress:
    """Shared by the sending threads: ids and times per row, the error count, the progress bar."""

    rows: int
    bar: Any
    ids: list[str | None] = field(init=False)
    times: list[float] = field(init=False)
    unversioned: int = 0  # answers without a probability: a registry build, which captures nothing
    answered: int = 0
    errors: list[str] = field(default_factory=list)
    failed_rows: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.ids = [None] * self.rows
        self.times = [0.0] * self.rows


def run_simulation(config: ProjectConfig, options: SimulationOptions) -> SimulationSummary:
    """Run one simulation; raises before any request when the store, the endpoint or the rows are not usable."""
    _check(options)
    engine = open_store(config)  # first: a store that does not answer stops the run before any request
    try:
        endpoint = resolve_endpoint(config, options.target)
        served = served_version(config, endpoint.version)
        rows = scenario_rows(config, options.scenario, served, rows=options.rows, drift_share=options.drift_share)
        records = json_records(rows.frame[served.features])
        truths = (rows.frame[served.target].astype(str) == served.positive_label).to_numpy(dtype=int)
        client = EndpointClient(endpoint, timeout=options.timeout_seconds, retries=options.retries)
        started_at = options.start if options.start is not None else time.time()
        bar = tqdm(total=len(records), desc=f"simulate {options.scenario}", unit="pred", file=sys.stderr,
                   disable=not options.progress, dynamic_ncols=True)  # fmt: skip
        progress = _Progress(len(records), bar)
        clock = time.perf_counter()

        def requested_at(index: int) -> float:
            if options.interval_seconds is not None:
                return started_at + index * options.interval_seconds
            return started_at + (time.perf_counter() - clock)

        try:
            _send_all(records, client, progress, options, requested_at)
        finally:
            bar.close()
            client.close()
        seconds = time.perf_counter() - clock
        answered = {i: t for i, t in zip(progress.ids, progress.times, strict=True) if i is not None}
        if progress.unversioned:  # a registry build: it captures nothing, there is nothing to wait for
            capture = CaptureCheck(answered=len(answered), captured=0)
        else:
            capture = check_capture(engine, answered, options.scenario,
                                    timeout=config.prediction_log.close_timeout_seconds)  # fmt: skip
        note = _capture_note(progress)
        labels = delayed_labels(
            [i if i in answered else None for i in progress.ids], progress.times, truths, options.label_share,
            options.label_delay_seconds, options.seed,
        )  # fmt: skip
        if progress.unversioned:  # nothing was captured: no prediction for a label to belong to
            labels = []
        written = send_labels(config, engine, labels)
        if written.spill_file is not None:
            print(spill_message(0, written.labels_spilled, written.spill_file, describe_store(config),
                                written.last_error), file=sys.stderr)  # fmt: skip
    finally:
        engine.dispose()
    sent_times = [t for t, i in zip(progress.times, progress.ids, strict=True) if i is not None]
    return SimulationSummary(
        scenario=options.scenario,
        source=rows.source,
        target=options.target,
        endpoint=endpoint.url,
        model_name=endpoint.model_name or served.model_name,
        model_version=endpoint.version,
        store=describe_store(config),
        rows=len(records),
        rows_sent=progress.answered + progress.failed_rows,
        failed_requests=len(progress.errors),
        failed_predictions=progress.failed_rows,
        error_examples=progress.errors[:SHOWN_ERRORS],
        seconds=round(seconds, 3),
        predictions_per_second=round(progress.answered / seconds, 1) if seconds > 0 else 0.0,
        predictions_answered=progress.answered,
        predictions_logged=capture.captured,
        capture_missing=capture.missing,
        capture_note=note,
        labels_logged=written.labels_written,
        labels_spilled=written.labels_spilled,
        spill_file=str(written.spill_file) if written.spill_file else None,
        store_retries=written.retries,
        store_error=written.last_error,
        first_requested_at=min(sent_times) if sent_times else None,
        last_requested_at=max(sent_times) if sent_times else None,
        records_per_request=options.records_per_request,
        concurrency=options.concurrency,
    )


def _send_all(
    records: list[dict[str, Any]],
    client: EndpointClient,
    progress: _Progress,
    options: SimulationOptions,
    requested_at: Callable[[int], float],
) -> None:
    """Send every record from `options.concurrency` threads, chunks taken in row order; note each answer."""
    size = options.records_per_request
    chunks = iter(range(0, len(records), size))
    take = threading.Lock()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            with take:
                first = next(chunks, None)
            if first is None:
                return
            indexes = range(first, min(first + size, len(records)))
            sent_at = requested_at(first)
            try:
                answers = client.predict([records[index] for index in indexes])
            except RequestFailed as exc:
                with progress.lock:
                    progress.errors.append(f"rows {indexes.start + 1}-{indexes.stop}: {exc}")
                    progress.failed_rows += len(indexes)
                    if len(progress.errors) >= FAIL_FAST_ERRORS and progress.answered == 0:
                        stop.set()
                progress.bar.update(len(indexes))
                continue
            times = [sent_at if options.interval_seconds is None else requested_at(index) for index in indexes]
            _note(progress, indexes, answers, times)
            progress.bar.update(len(indexes))

    threads = [threading.Thread(target=worker, name=f"simulate-{n}", daemon=True) for n in range(options.concurrency)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.2)  # short joins: Ctrl-C reaches the main thread
    except BaseException:
        stop.set()
        for thread in threads:
            thread.join(timeout=options.timeout_seconds + 5)
        raise
    if stop.is_set():
        raise SimulationError(
            f"the first {len(progress.errors)} requests to {client.endpoint.url} all failed, so the simulation "
            f"stopped: {progress.errors[0]}"
        )


def _note(progress: _Progress, indexes: range, answers: list[Answer], times: list[float]) -> None:
    with progress.lock:
        for index, answer, at in zip(indexes, answers, times, strict=True):
            progress.ids[index] = answer.prediction_id
            progress.times[index] = at
            progress.unversioned += answer.probability is None
        progress.answered += len(indexes)


def _capture_note(progress: _Progress) -> str | None:
    """Why the capture check could not be complete, when that is expected (a deployment that logs nothing)."""
    if progress.unversioned:
        return (
            f"{progress.unversioned} answers had no probability: a deployment built from the registry answers "
            "labels only and captures nothing; deploy the script-built model (cml.build_from: script)"
        )
    unidentified = sum(1 for i in progress.ids if i is None) - progress.failed_rows
    if unidentified > 0:
        return f"{unidentified} answers carried no prediction_id, so their capture could not be checked"
    return None


def delayed_labels(
    ids: list[str | None], times: list[float], truths: np.ndarray, share: float, delay: float, seed: int
) -> list[LabelRecord]:
    """Ground truth for a seeded `share` of the answered rows, `delay` seconds after each request, in row order."""
    answered = [index for index, prediction_id in enumerate(ids) if prediction_id is not None]
    count = round(share * len(answered))
    chosen = np.sort(np.random.default_rng(seed).choice(len(answered), size=count, replace=False))
    return [LabelRecord(str(ids[answered[k]]), int(truths[answered[k]]), times[answered[k]] + delay) for k in chosen]


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as JSON-ready records: Python scalars, missing values as None, times as ISO text."""
    converted = frame.copy()
    for column in converted.columns:
        if pd.api.types.is_datetime64_any_dtype(converted[column]):
            converted[column] = converted[column].map(lambda value: None if pd.isna(value) else value.isoformat())
    plain = converted.astype(object).where(converted.notna(), None)  # type: ignore[call-overload]  # None: JSON null
    return [{str(key): value for key, value in record.items()} for record in plain.to_dict(orient="records")]


def _check(options: SimulationOptions) -> None:
    problems = []
    if options.rows is not None and options.rows < 1:
        problems.append(f"--rows must be at least 1, got {options.rows}")
    if not 0.0 <= options.label_share <= 1.0:
        problems.append(f"--label-share must be in [0, 1], got {options.label_share}")
    if options.label_delay_seconds < 0:
        problems.append(f"--label-delay-seconds must not be negative, got {options.label_delay_seconds}")
    if options.interval_seconds is not None and options.interval_seconds <= 0:
        problems.append(f"--interval-seconds must be positive, got {options.interval_seconds}")
    if options.concurrency < 1 or options.records_per_request < 1:
        problems.append("--concurrency and --records-per-request must be at least 1")
    if problems:
        raise SimulationError("; ".join(problems))


def spill_message(predictions: int, labels: int, path: Path | str, store: str, error: str | None) -> str:
    """What to tell the user about rows that went to a spill file instead of the store."""
    return (
        f"{predictions} predictions and {labels} labels could not be written to {store} "
        f"({error or 'unknown error'}); they are saved in {path}: once the store is back, re-send them with "
        f"`cml-mlops simulate --replay-spill {path}`"
    )


def report_path(config: ProjectConfig) -> Path:
    """Where the last run's summary is written as JSON."""
    return config.path(config.reports.dir) / "simulation.json"

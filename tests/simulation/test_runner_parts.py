"""The pieces of a run that need no server: delayed labels, JSON records, option checks, command errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cml_mlops.simulation.errors import SimulationError
from cml_mlops.simulation.runner import SimulationOptions, delayed_labels, json_records, run_simulation
from tests.serving.helpers import run_cli
from tests.steps.conftest import project_config
from tests.support.net import free_port


@given(
    answered=st.lists(st.booleans(), min_size=0, max_size=60),
    share=st.floats(0.0, 1.0),
    delay=st.floats(0.0, 1e6),
    seed=st.integers(0, 2**32 - 1),
)
def test_delayed_labels_cover_the_share_of_answered_rows(answered: list[bool], share: float, delay: float,
                                                          seed: int) -> None:  # fmt: skip
    ids = [f"id-{n}" if ok else None for n, ok in enumerate(answered)]
    times = [1000.0 + 10 * n for n in range(len(ids))]
    truths = np.array([n % 3 == 0 for n in range(len(ids))], dtype=int)
    labels = delayed_labels(ids, times, truths, share, delay, seed)
    assert len(labels) == round(share * sum(answered))
    rows = [int(label.prediction_id.removeprefix("id-")) for label in labels]
    assert rows == sorted(set(rows)) and all(answered[row] for row in rows)
    for row, label in zip(rows, labels, strict=True):
        assert label.label == truths[row] and label.labelled_at == times[row] + delay
    assert delayed_labels(ids, times, truths, share, delay, seed) == labels  # the seed decides


def test_json_records_are_plain_json_with_nulls_for_missing_values() -> None:
    frame = pd.DataFrame(
        {
            "age": np.array([41, 52], dtype=np.int64),
            "balance": [1.5, np.nan],
            "campaign": pd.array([2, None], dtype="Int64"),
            "job": ["technician", None],
            "called": pd.to_datetime(["2008-05-05T10:00:00", None]),
        }
    )
    records = json_records(frame)
    assert records == [
        {"age": 41, "balance": 1.5, "campaign": 2, "job": "technician", "called": "2008-05-05T10:00:00"},
        {"age": 52, "balance": None, "campaign": None, "job": None, "called": None},
    ]
    assert all(type(record["age"]) is int for record in records)
    assert orjson.loads(orjson.dumps(records)) == records


@pytest.mark.parametrize(
    "options, message",
    [
        ({"label_share": 1.5}, "--label-share must be in"),
        ({"interval_seconds": 0.0}, "--interval-seconds must be positive"),
        ({"concurrency": 0}, "must be at least 1"),
        ({"label_delay_seconds": -1.0}, "must not be negative"),
    ],
)
def test_options_out_of_range_are_refused_before_anything_runs(project_dir: Path, options: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(SimulationError, match=message):
        run_simulation(project_config(project_dir), SimulationOptions(**options))
    assert not (project_dir / "monitoring").exists()  # not even the store was opened


def test_a_store_that_does_not_answer_stops_the_run_first(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("CML_MLOPS_MONITORING_DSN", f"postgresql://monitor:Sekr3t-pw@127.0.0.1:{port}/metrics")
    result = run_cli(project_dir, "simulate", "--no-progress")
    assert result.exit_code == 1
    assert f"the monitoring store postgresql+psycopg2://monitor:***@127.0.0.1:{port}/metrics does not answer" in (
        result.output
    )
    assert "Sekr3t-pw" not in result.output
    assert "nothing is deployed" not in result.output  # the store is checked before the endpoint


def test_nothing_deployed_is_a_clear_error(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CML_MLOPS_MONITORING_DSN", raising=False)
    result = run_cli(project_dir, "simulate", "--no-progress")
    assert result.exit_code == 1
    assert "nothing is deployed to local: run `cml-mlops deploy --target local` first" in result.output


def test_a_start_that_is_not_a_time_is_a_usage_error(project_dir: Path) -> None:
    result = run_cli(project_dir, "simulate", "--start", "yesterday-ish")
    assert result.exit_code == 2 and "is not an ISO 8601 time" in result.output

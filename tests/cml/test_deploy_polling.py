"""Polling builds and deployments: backoff, reset on progress, an overall deadline, transient read failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cml_mlops.cml.errors import CmlApiError
from cml_mlops.cml.polling import PollSettings, PollTimeout, poll
from tests.support.clock import FakeTime


def reader(statuses: list[Any]) -> Callable[[], dict[str, Any]]:
    """Answers the given statuses in order (an exception instance is raised), then repeats the last one."""
    answers = list(statuses)

    def read() -> dict[str, Any]:
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return {"id": "x", "status": answer}

    return read


def test_backoff_doubles_while_unchanged_and_resets_on_progress() -> None:
    time = FakeTime(100.0)
    statuses = ["queued", "queued", "queued", "queued", "pending", "pending", "built"]
    final = poll(
        reader(statuses), what="build", final={"built"}, settings=PollSettings(1, 4, 600),
        clock=time.clock, sleep=time.sleep,
    )  # fmt: skip
    assert final["status"] == "built"
    assert time.sleeps == [1, 2, 4, 4, 1, 2]


def test_the_deadline_ends_the_wait_with_the_last_status() -> None:
    time = FakeTime(100.0)
    with pytest.raises(PollTimeout) as err:
        poll(
            reader(["deploying"]), what="deployment d1", final={"deployed", "failed"},
            settings=PollSettings(1, 8, 20), clock=time.clock, sleep=time.sleep,
        )  # fmt: skip
    assert "deployment d1: status still 'deploying' after 20 s" in str(err.value)
    assert err.value.last == {"id": "x", "status": "deploying"}
    assert sum(time.sleeps) == pytest.approx(20) and time.sleeps[-1] == pytest.approx(5)  # cut to the deadline


def test_transient_read_failures_do_not_end_the_wait() -> None:
    time = FakeTime(100.0)
    dropped = CmlApiError(0, "no response after 4 attempts (ConnectionError)", operation="get_model_build")
    final = poll(
        reader(["pending", dropped, CmlApiError(503, "busy"), "built"]), what="build", final={"built"},
        settings=PollSettings(1, 1, 60), clock=time.clock, sleep=time.sleep,
    )  # fmt: skip
    assert final["status"] == "built" and time.sleeps == [1, 1, 1]


def test_a_timeout_after_failed_reads_says_so() -> None:
    time = FakeTime(100.0)
    with pytest.raises(PollTimeout, match=r"no status read after 3 s; last read failed: .*connection refused"):
        poll(
            reader([CmlApiError(0, "connection refused")]), what="build", final={"built"},
            settings=PollSettings(1, 1, 3), clock=time.clock, sleep=time.sleep,
        )  # fmt: skip


def test_a_permanent_error_is_raised_at_once() -> None:
    time = FakeTime(100.0)
    with pytest.raises(CmlApiError) as err:
        poll(
            reader(["pending", CmlApiError(404, "model build not found")]), what="build", final={"built"},
            settings=PollSettings(1, 1, 60), clock=time.clock, sleep=time.sleep,
        )  # fmt: skip
    assert err.value.status == 404 and time.sleeps == [1]


def test_zero_interval_never_sleeps() -> None:
    time = FakeTime(100.0)
    poll(
        reader(["a", "b", "c", "built"]), what="build", final={"built"}, settings=PollSettings(0, 0, 1),
        clock=time.clock, sleep=time.sleep,
    )  # fmt: skip
    assert time.sleeps == []


@pytest.mark.parametrize("settings", [(-1, 1, 1), (2, 1, 10), (1, 1, 0)])
def test_bad_settings_are_refused(settings: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError, match="invalid poll settings"):
        PollSettings(*settings)


@given(
    statuses=st.lists(st.sampled_from(["queued", "pending", "pushing"]), max_size=30),
    interval=st.floats(0.01, 5),
    growth=st.floats(1, 10),
    timeout=st.floats(0.1, 100),
    finishes=st.booleans(),
)
def test_waits_are_bounded(statuses: list[str], interval: float, growth: float, timeout: float, finishes: bool) -> None:
    """Never a sleep beyond max_interval, never waiting past the deadline; done as soon as the status is final."""
    time = FakeTime(100.0)
    settings = PollSettings(interval, interval * growth, timeout)
    sequence = [*statuses, "built" if finishes else "pushing"]
    try:
        poll(reader(sequence), what="b", final={"built"}, settings=settings, clock=time.clock, sleep=time.sleep)
    except PollTimeout:
        assert not finishes or sum(time.sleeps) >= timeout * (1 - 1e-9)
    assert all(0 < s <= settings.max_interval * (1 + 1e-9) for s in time.sleeps)
    assert sum(time.sleeps) <= timeout * (1 + 1e-9)
    if finishes:
        assert len(time.sleeps) <= len(statuses)

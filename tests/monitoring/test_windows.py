"""Windows: durations and times parsed strictly, and every row of the range in exactly one window, in SQL too."""

from __future__ import annotations

import itertools
import math
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete

from cml_mlops.errors import ConfigError
from cml_mlops.monitoring import queries
from cml_mlops.monitoring.dialect import StoreDialect
from cml_mlops.monitoring.schema import labels, predictions
from cml_mlops.monitoring.windows import (
    MAX_WINDOWS,
    NICE_LENGTHS,
    TARGET_WINDOWS,
    WindowPlan,
    choose_windows,
    iso,
    parse_duration,
    parse_time,
)
from tests.monitoring.helpers import START, write_rows


@pytest.mark.parametrize(
    "text, seconds", [("90s", 90), ("30m", 1800), ("6h", 21_600), ("1d", 86_400), ("2w", 1_209_600), ("1.5h", 5400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1", "h", "-1h", "0m", "1 hour", "1y", "1h30m"])
def test_bad_durations_are_refused_with_an_example(text: str) -> None:
    with pytest.raises(ConfigError, match="1h"):
        parse_duration(text)


def test_times_are_iso_utc_or_epoch_seconds() -> None:
    assert parse_time("2025-10-09T08:53:20") == START
    assert parse_time("2025-10-09T10:53:20+02:00") == START
    assert parse_time("2025-10-09T08:53:20Z") == START
    assert parse_time(str(START)) == START
    assert iso(START) == "2025-10-09T08:53:20Z"
    with pytest.raises(ConfigError, match="ISO 8601"):
        parse_time("yesterday")


def test_a_plan_ends_at_until_and_since_sets_the_count() -> None:
    plan = WindowPlan.ending_at(START, 3600, 24)
    assert plan.since == START - 24 * 3600
    windows = plan.windows()
    assert windows[-1].end == START and windows[0].start == plan.since
    assert all(later.start == earlier.end for earlier, later in itertools.pairwise(windows))
    cut = WindowPlan.ending_at(START, 3600, since=START - 5.5 * 3600)
    assert cut.count == 6 and cut.windows()[0].start == START - 5.5 * 3600
    with pytest.raises(ConfigError, match="before"):
        WindowPlan.ending_at(START, 3600, since=START + 1)
    with pytest.raises(ConfigError, match="at most"):
        WindowPlan.ending_at(START, 1, 10_000)


@given(st.floats(-1e7, 1e7), st.floats(1, 1e5), st.integers(1, 50))
def test_index_of_puts_a_time_in_the_window_that_contains_it(offset: float, length: float, count: int) -> None:
    plan = WindowPlan.ending_at(START, length, count)
    moment = START + offset
    index = plan.index_of(moment)
    if index is None:
        assert not plan.since < moment <= plan.until
    else:
        window = plan.window(index)
        # Up to float rounding at the boundaries: the window's bounds are computed, not stored.
        assert window.start - 1e-6 <= moment <= window.end + 1e-6


@pytest.fixture
def dialect(monitor_engine: Engine) -> StoreDialect:
    return StoreDialect(monitor_engine.dialect.name)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    offsets=st.lists(st.floats(0, 10 * 3600, allow_nan=False), min_size=0, max_size=60),
    length=st.sampled_from([60.0, 600.0, 3600.0, 1234.5]),
    count=st.integers(1, 12),
)
def test_windowing_loses_and_duplicates_no_row(
    monitor_engine: Engine, dialect: StoreDialect, offsets: list[float], length: float, count: int
) -> None:
    with monitor_engine.begin() as connection:
        connection.execute(delete(labels))
        connection.execute(delete(predictions))
    until = START + 10 * 3600
    # Boundaries exactly: the range's end, a window edge, and the range's start (excluded).
    times = [START + offset for offset in offsets] + [until, until - length, until - count * length]
    rows = [
        {
            "prediction_id": uuid.uuid4().hex,
            "requested_at": moment,
            "model_name": "m",
            "model_version": "1",
            "features": {},
            "probability": 0.5,
            "prediction": 1,
            "latency_ms": None,
        }
        for moment in times
    ]
    write_rows(monitor_engine, rows)
    plan = WindowPlan.ending_at(until, length, count)
    with monitor_engine.connect() as connection:
        groups = queries.traffic(connection, dialect, plan)
    per_window = [0] * count
    for group in groups:
        per_window[group.window] += group.rows
    expected = [0] * count
    for moment in times:
        index = plan.index_of(moment)
        if index is not None:
            expected[index] += 1
    assert sum(per_window) == sum(plan.since < moment <= plan.until for moment in times)
    assert per_window == expected
    assert math.isclose(plan.window(count - 1).end, until)


@given(
    span=st.floats(min_value=0, max_value=20 * 365 * 86_400.0, allow_nan=False),
    rows=st.none() | st.integers(0, 10**7),
    min_rows=st.integers(1, 1000),
)
def test_chosen_windows_cover_the_span_in_few_readable_windows(span: float, rows: int | None, min_rows: int) -> None:
    length, count = choose_windows(span, rows=rows, min_rows=min_rows)
    target = TARGET_WINDOWS if rows is None else max(1, min(TARGET_WINDOWS, rows // min_rows))
    assert length in NICE_LENGTHS and 1 <= count <= MAX_WINDOWS
    # Right-closed windows: they reach past the span's start, so its first row is in them.
    assert count * length > span
    if length != NICE_LENGTHS[-1]:
        assert count <= target  # few enough to read, and (with rows) enough rows per window on average
    # The shortest length that does so: a shorter one would need more windows than the target.
    shorter = [size for size in NICE_LENGTHS if size < length]
    if shorter:
        assert span >= shorter[-1] * target
    # And the plan of that many windows, ending at the newest row, holds the oldest one.
    plan = WindowPlan.ending_at(1_760_000_000.0, length, count)
    assert plan.index_of(1_760_000_000.0 - span) is not None


def test_a_day_of_traffic_is_not_put_into_one_of_thirty_daily_windows() -> None:
    assert choose_windows(86_400.0 - 1) == (1800.0, 48)
    assert choose_windows(86_400.0) == (3600.0, 25)
    assert choose_windows(7 * 86_400.0)[0] == 6 * 3600.0
    assert choose_windows(0.0) == (NICE_LENGTHS[0], 1)
    # 1200 rows over four days, 100 needed per window: 8 windows of 12 hours rather than 32 thin ones of 3.
    assert choose_windows(4 * 86_400.0 - 1, rows=1200, min_rows=100) == (43_200.0, 8)
    with pytest.raises(ConfigError, match="non-negative"):
        choose_windows(-1.0)

"""Time windows of the prediction log: `count` windows of `length` seconds ending at `until` (newest last).

Windows are right-closed, `(start, end]`, so that the default end, the latest prediction's time, falls in the
newest window. A row at time t belongs to the window `count - 1 - floor((until - t) / length)`: plain arithmetic
that SQL computes in the same way (see `cml_mlops.monitoring.dialect.window_index`), with rows in
`since < t <= until` only. With an explicit `since` later than `until - count * length`, the oldest window is cut
short at `since`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from cml_mlops.errors import ConfigError

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
MAX_WINDOWS = 1000


def parse_duration(text: str) -> float:
    """Seconds in `30m`, `6h`, `1d`, `2w`...; ConfigError for anything else or a zero length."""
    found = DURATION.match(str(text).lower())
    if not found:
        raise ConfigError(f"window length {text!r} is not a duration: use a number and s, m, h, d or w (e.g. 1h, 1d)")
    seconds = float(found.group(1)) * UNIT_SECONDS[found.group(2)]
    if seconds <= 0:
        raise ConfigError(f"window length {text!r} must be longer than zero (e.g. 1h, 1d)")
    return seconds


def duration_text(seconds: float) -> str:
    """A window length as people write it: 1h, 30m, 1d, 90s."""
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_time(text: str) -> float:
    """Epoch seconds from ISO 8601 (`2026-11-20`, `2026-11-20T06:00`, UTC unless it says otherwise) or a number."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{text!r} is not a time: use ISO 8601 (2026-11-20T06:00) or epoch seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def iso(seconds: float) -> str:
    """Epoch seconds as an ISO 8601 UTC time, to the second."""
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Window:
    """One window: its position (0 = oldest) and bounds `(start, end]` in epoch seconds."""

    index: int
    start: float
    end: float

    def to_dict(self) -> dict[str, object]:
        return {"index": self.index, "start": iso(self.start), "end": iso(self.end)}


@dataclass(frozen=True)
class WindowPlan:
    """Which rows are monitored, and how they fall into windows."""

    until: float
    length: float
    count: int
    since: float

    @classmethod
    def ending_at(cls, until: float, length: float, count: int | None = None, since: float | None = None) -> WindowPlan:
        """`count` windows ending at `until`; with `since`, as many windows as reach back to it."""
        if length <= 0 or not math.isfinite(length):
            raise ConfigError(f"window length must be a positive number of seconds, got {length}")
        if since is not None:
            if since >= until:
                raise ConfigError(f"--since ({iso(since)}) must be before --until ({iso(until)})")
            count = math.ceil((until - since) / length)
        if count is None or count < 1:
            raise ConfigError("at least one window is needed")
        if count > MAX_WINDOWS:
            raise ConfigError(f"{count} windows asked for; at most {MAX_WINDOWS}: use a longer window")
        start = until - count * length
        return cls(until=until, length=length, count=count, since=start if since is None else max(since, start))

    def windows(self) -> list[Window]:
        """Every window, oldest first."""
        return [self.window(index) for index in range(self.count)]

    def window(self, index: int) -> Window:
        end = self.until - (self.count - 1 - index) * self.length
        return Window(index, max(end - self.length, self.since), end)

    def index_of(self, seconds: float) -> int | None:
        """The window of a time, None outside `(since, until]`: what the SQL computes, for checks in Python."""
        if not self.since < seconds <= self.until:
            return None
        return self.clamp(self.count - 1 - math.floor((self.until - seconds) / self.length))

    def clamp(self, index: int) -> int:
        """An index from SQL, kept inside the plan: float rounding at the oldest boundary may give -1."""
        return min(max(int(index), 0), self.count - 1)


AUTO = "auto"  # a window length chosen from the data's span (`choose_windows`)
# Window lengths people read easily, shortest first; `choose_windows` takes the shortest that fits.
NICE_LENGTHS = (300.0, 900.0, 1800.0, 3600.0, 3 * 3600.0, 6 * 3600.0, 12 * 3600.0, 86_400.0, 604_800.0, 2_419_200.0)
TARGET_WINDOWS = 48  # enough points for a trend, few enough to read their labels


def choose_windows(
    span_seconds: float, target: int = TARGET_WINDOWS, *, rows: int | None = None, min_rows: int = 1
) -> tuple[float, int]:
    """The window length and count for data spanning `span_seconds`: the shortest nice length (5m ... 4w) that
    covers the span in at most `target` windows (the longest when none does), and the windows that takes. The
    windows reach past the span's start (they are right-closed, `(start, end]`), so the first row is in them.
    With `rows`, the target is at most `rows // min_rows`, so that a window holds about `min_rows` rows on average
    (what the checks need to judge it).

    A day of traffic gets 30-minute or hourly windows, a week 6-hour ones, a quarter weekly ones: never a day in
    1 of 30 daily windows.
    """
    if not math.isfinite(span_seconds) or span_seconds < 0:
        raise ConfigError(f"the data's span must be a non-negative number of seconds, got {span_seconds}")
    if target < 1:
        raise ConfigError(f"at least one window is needed, got {target}")
    if rows is not None:
        target = max(1, min(target, rows // max(min_rows, 1)))
    length = next((size for size in NICE_LENGTHS if span_seconds < size * target), NICE_LENGTHS[-1])
    return length, min(math.floor(span_seconds / length) + 1, MAX_WINDOWS)

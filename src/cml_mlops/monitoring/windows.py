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

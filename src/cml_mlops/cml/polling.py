"""Wait for a CML object (build, deployment) to reach a final status: backoff between reads, an overall deadline.

Hand-written rather than tenacity: the clock and the sleep must be injectable (tests and the benchmark run
without waiting), and a read that fails transiently (connection dropped, 429, 5xx after the client's own
retries) must not end the wait while time remains.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from cml_mlops.cml.errors import CmlApiError
from cml_mlops.errors import CmlMlopsError
from cml_mlops.json_types import JsonDict

log = logging.getLogger(__name__)


class PollTimeout(CmlMlopsError):
    """The object did not reach a final status in time; `last` is what the last successful read said."""

    def __init__(self, message: str, last: JsonDict | None) -> None:
        super().__init__(message)
        self.last = last


@dataclass(frozen=True)
class PollSettings:
    """First delay between reads, the largest delay (doubling in between), and the overall deadline (seconds)."""

    interval: float
    max_interval: float
    timeout: float

    def __post_init__(self) -> None:
        if self.interval < 0 or self.max_interval < self.interval or self.timeout <= 0:
            raise ValueError(f"invalid poll settings: {self}")


def transient(error: CmlApiError) -> bool:
    """Worth reading again: no response at all, rate limited, or a server-side error."""
    return error.status == 0 or error.status == 429 or error.status >= 500


def poll(
    read: Callable[[], JsonDict],
    *,
    what: str,
    final: Collection[str],
    settings: PollSettings,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> JsonDict:
    """Read until `status` is one of `final` and return that object; PollTimeout when the deadline passes.

    The delay doubles while nothing changes and falls back to `interval` when the status moves, so a slow
    build is read rarely and a quick one is not kept waiting. The last delay is cut to end at the deadline.
    """
    deadline = clock() + settings.timeout
    delay = settings.interval
    last: JsonDict | None = None
    last_error: CmlApiError | None = None
    while True:
        try:
            current = read()
        except CmlApiError as exc:
            if not transient(exc):
                raise
            last_error = exc
            log.warning("%s: reading the status failed (%s); still waiting", what, exc)
        else:
            last_error = None
            status = str(current.get("status", ""))
            if last is None or status != last.get("status"):
                log.info("%s: %s", what, status or "(no status)")
                delay = settings.interval
            last = current
            if status in final:
                return current
        remaining = deadline - clock()
        if remaining <= 0:
            seen = f"status still {last.get('status')!r}" if last is not None else "no status read"
            why = f"; last read failed: {last_error}" if last_error is not None else ""
            raise PollTimeout(f"{what}: {seen} after {settings.timeout:g} s{why}", last)
        if delay > 0:
            sleep(min(delay, remaining))
        delay = min(settings.max_interval, delay * 2)

"""The exit codes of `cml-mlops monitor` (and the CML monitor job), in one place, so that schedulers can tell
an alert from a monitor that could not do its job.

- 0 `OK`: every check was judged, none alerts.
- 1 `ALERT`: a check alerts (breached in M of the last N windows and in the latest one).
- 3 `MISCONFIGURED`: monitoring cannot judge what it should: a served model version has no reference profile
  (its drift would go unchecked; `monitor --backfill-profiles` makes one), or the config, the options or the
  store (unreachable, tables of another shape) are wrong. An alert takes precedence over a missing profile.
- 4 `NO_DATA`: nothing to monitor yet: no prediction log, or no prediction in the range.
(2 is click's own code for a command line it cannot parse.)
"""

from __future__ import annotations

from enum import IntEnum


class MonitorExit(IntEnum):
    OK = 0
    ALERT = 1
    MISCONFIGURED = 3
    NO_DATA = 4

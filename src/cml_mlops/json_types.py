"""JSON shapes shared across the library: one alias, used by every module that passes decoded JSON around."""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]  # a decoded JSON object (an API response, a report, a state file)

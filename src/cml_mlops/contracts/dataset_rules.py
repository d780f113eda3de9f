"""The rules of a whole data set (size, class balance, duplicates): one definition, used by the template's
contracts, by `contract draft` when it writes a contract, and when it picks the limits from a sample.
"""

from __future__ import annotations

import math

import pandas as pd


def enough_rows(frame: pd.DataFrame, min_rows: int) -> bool:
    """At least `min_rows` rows (a header-only file fails here)."""
    return len(frame) >= min_rows


def positive_rate_in_band(frame: pd.DataFrame, target: str, positive_label: str, band: tuple[float, float]) -> bool:
    """The share of positives lies in `band` (an empty frame is enough_rows' failure, not this one)."""
    if frame.empty:
        return True
    rate = float((frame[target] == positive_label).mean())
    return band[0] <= rate <= band[1]


def few_duplicates(frame: pd.DataFrame, max_share: float) -> bool:
    """At most `max_share` of the rows repeat an earlier row."""
    return float(frame.duplicated().mean()) <= max_share if len(frame) else True


# Limits drafted from a sample: wide enough for a full extract and for the next batches of the same source.


def min_rows_for(rows: int) -> int:
    """A tenth of the sample, rounded down to two significant digits: a full extract is usually larger."""
    tenth = rows // 10
    if tenth < 1:
        return 1
    step = 10 ** max(0, len(str(tenth)) - 2)
    return tenth // step * step


def positive_rate_band_for(rate: float) -> tuple[float, float]:
    """Half to twice the sample's positive rate, rounded outwards to two significant digits."""
    if rate <= 0:
        return 0.0, 1.0
    return _round_significant(rate / 2, 2, up=False), min(1.0, _round_significant(rate * 2, 2, up=True))


def max_duplicate_share_for(share: float) -> float:
    """One and a half times the sample's duplicate share, at least 1%."""
    return min(1.0, max(0.01, math.ceil(share * 150) / 100))


def _round_significant(value: float, digits: int, *, up: bool) -> float:
    exponent = math.floor(math.log10(value)) - digits + 1
    step = 10.0**exponent
    rounded = (math.ceil(value / step) if up else math.floor(value / step)) * step
    return round(rounded, max(0, -exponent))

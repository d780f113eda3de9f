"""What values of a column look like: sentinel codes (999, -1) and calendar sets (months, weekdays).

One place for both, so that `contract draft` and the EDA report flag and order the same things.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

# Codes that data sets use for "missing" or "not applicable" in a numeric column.
SENTINEL_CODES = (-1, -9, -99, -999, -9999, 99, 999, 9999, 99_999, 999_999)
MIN_SENTINEL_SHARE = 0.005  # rarer than this, it is an outlier or a typo, not a code

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CALENDARS = {"months": (MONTHS, MONTH_NAMES), "weekdays": (WEEKDAYS, WEEKDAY_NAMES)}
MIN_CALENDAR_MEMBERS = 3  # two values ("may", "sun") say too little to call a column a calendar


@dataclass(frozen=True)
class Sentinel:
    """A code standing in for "missing" or "not applicable": its value and share of the non-missing rows."""

    value: float
    share: float

    def describe(self) -> str:
        number = int(self.value) if float(self.value).is_integer() else self.value
        return f"{number} in {self.share:.1%} of rows"


def sentinels(values: pd.Series) -> list[Sentinel]:
    """Sentinel codes among numeric `values`: a known code, not rare, and apart from the other values.

    Apart means a negative code in otherwise non-negative data (pdays = -1), or a positive code above the
    others by more than their whole range (pdays = 999 when contacts were 0..27 days ago).
    """
    numbers = pd.to_numeric(pd.Series(values).dropna(), errors="coerce").dropna()
    if numbers.empty:
        return []
    found = []
    for code in SENTINEL_CODES:
        hits = numbers == code
        share = float(hits.mean())
        others = numbers[~hits]
        if share < MIN_SENTINEL_SHARE or others.empty:
            continue
        low, high = float(others.min()), float(others.max())
        if (code < 0 <= low) or (code > high and code - high > high - low):
            found.append(Sentinel(float(code), share))
    return found


def without_sentinels(values: pd.Series, found: Iterable[Sentinel]) -> pd.Series:
    """The values other than the sentinel codes (what a range, a histogram or a mean should describe)."""
    codes = [sentinel.value for sentinel in found]
    numbers = pd.to_numeric(pd.Series(values), errors="coerce")
    return numbers[~numbers.isin(codes)] if codes else numbers


@dataclass(frozen=True)
class Calendar:
    """A category column whose values are months or weekdays: all members in calendar order, in the data's case."""

    kind: str  # "months" or "weekdays"
    members: tuple[str, ...]
    missing: tuple[str, ...]

    def describe(self) -> str:
        if not self.missing:
            return f"calendar {self.kind}, in calendar order"
        return f"calendar {self.kind}: the sample lacks {', '.join(self.missing)}; all {len(self.members)} are allowed"


def calendar(values: Iterable[str]) -> Calendar | None:
    """The calendar set `values` belong to (months or weekdays, short or full names), or None."""
    distinct = {str(value) for value in values}
    lowered = {value.lower() for value in distinct}
    if len(distinct) < MIN_CALENDAR_MEMBERS or len(lowered) != len(distinct):
        return None
    for kind, vocabularies in CALENDARS.items():
        for vocabulary in vocabularies:
            if lowered <= set(vocabulary):
                members = tuple(_in_case_of(distinct, name) for name in vocabulary)
                missing = tuple(member for member in members if member not in distinct)
                return Calendar(kind, members, missing)
    return None


def calendar_order(values: Iterable[str]) -> list[str]:
    """`values` sorted in calendar order when they are a calendar set, else alphabetically."""
    distinct = sorted({str(value) for value in values})
    found = calendar(distinct)
    if found is None:
        return distinct
    return [member for member in found.members if member in distinct]


def _in_case_of(sample: set[str], name: str) -> str:
    """`name` written like the sample's values: lower, UPPER or Title case."""
    if all(value.isupper() for value in sample):
        return name.upper()
    if all(value[:1].isupper() for value in sample):
        return name.title()
    return name

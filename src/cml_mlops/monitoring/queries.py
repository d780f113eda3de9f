"""The SQL aggregations of monitoring: the database reduces the log to counts per window; Python never sees rows.

- `traffic`: one pass over the window range (predictions LEFT JOIN labels) grouped by window, model version,
  label and probability bin (PROBABILITY_BINS equal bins of [0, 1]; unlabelled rows fall in one bin). Counts
  and sums per group are additive, so every per-window figure, the confusion matrix, Brier score, ROC AUC
  and calibration come from it (see `performance`).
- `latency_percentiles`: PostgreSQL's `percentile_cont` per window. SQLite has no percentile aggregate: there
  the latencies of the range are read (ordered, one column) and numpy's linear interpolation, the same
  definition as percentile_cont, is applied. The embedded SQLite store is the small, local case.
- `feature_histograms`: rows per window and reference bin of every feature and of the probability, for one
  model version, with that version's bin edges. A GROUP BY per feature would read the log once per feature;
  features are packed instead into groups whose joint bins stay few (PACK_LIMIT), one GROUP BY per pack, and
  each feature's histogram is summed out of its pack's counts.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import (
    Connection,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION, array
from sqlalchemy.exc import DataError
from sqlalchemy.sql.elements import ColumnElement

from cml_mlops.monitoring.dialect import StoreDialect
from cml_mlops.monitoring.profile import CategoricalReference, FeatureReference, NumericReference, ReferenceProfile
from cml_mlops.monitoring.schema import labels, predictions
from cml_mlops.monitoring.windows import WindowPlan

PROBABILITY_BINS = 1000
UNLABELLED_BIN = -1
QUANTILES = (0.5, 0.9, 0.95, 0.99)
PACK_LIMIT = 1024  # joint bins of one pack, per window: more packs cost GROUP BYs, bigger ones rows to fetch
MAX_PACK = 4
T = TypeVar("T")
Aside = Callable[[Callable[[Connection], T]], Future[T]]


@dataclass(frozen=True)
class TrafficGroup:
    """Counts and sums of the rows of one window, model version, label (None: not labelled) and probability bin."""

    window: int
    model_name: str
    model_version: str
    label: int | None
    probability_bin: int
    rows: int
    predicted_positive: int
    probability_sum: float
    probability_squares: float
    latency_rows: int
    latency_sum: float
    latency_max: float | None
    first_at: float
    last_at: float


def latest_prediction_time(connection: Connection) -> float | None:
    """Time of the newest logged prediction (index-only on `requested_at`); None for an empty log."""
    value = connection.execute(select(func.max(predictions.c.requested_at))).scalar()
    return None if value is None else float(value)


def prediction_span(connection: Connection, since: float | None, until: float) -> tuple[float | None, int]:
    """The oldest prediction time and the number of predictions at or before `until` (and after `since`)."""
    requested_at = predictions.c.requested_at
    query = select(func.min(requested_at), func.count()).where(requested_at <= until)
    if since is not None:
        query = query.where(requested_at > since)
    first, rows = connection.execute(query).one()
    return (None if first is None else float(first)), int(rows)


def traffic(connection: Connection, dialect: StoreDialect, plan: WindowPlan) -> list[TrafficGroup]:
    """Per window, version, label and probability bin: rows, positive predictions, probability sums, latency."""
    probability = predictions.c.probability
    probability_bin = dialect.clamp(dialect.floor_int(probability * PROBABILITY_BINS), 0, PROBABILITY_BINS - 1)
    rows = (
        select(
            dialect.window_index(plan).label("w"),
            predictions.c.model_name,
            predictions.c.model_version,
            labels.c.label,
            case((labels.c.label.is_(None), UNLABELLED_BIN), else_=probability_bin).label("pbin"),
            predictions.c.prediction,
            probability,
            predictions.c.latency_ms,
            predictions.c.requested_at,
        )
        .select_from(predictions.outerjoin(labels, labels.c.prediction_id == predictions.c.prediction_id))
        .where(dialect.in_range(plan))
        .subquery()
    )
    keys = (rows.c.w, rows.c.model_name, rows.c.model_version, rows.c.label, rows.c.pbin)
    statement = select(
        *keys,
        func.count(),
        func.sum(rows.c.prediction),
        func.sum(rows.c.probability),
        func.sum(rows.c.probability * rows.c.probability),
        func.count(rows.c.latency_ms),
        func.sum(rows.c.latency_ms),
        func.max(rows.c.latency_ms),
        func.min(rows.c.requested_at),
        func.max(rows.c.requested_at),
    ).group_by(*keys)
    return [
        TrafficGroup(
            window=plan.clamp(row[0]),
            model_name=str(row[1]),
            model_version=str(row[2]),
            label=None if row[3] is None else int(row[3]),
            probability_bin=int(row[4]),
            rows=int(row[5]),
            predicted_positive=int(row[6] or 0),
            probability_sum=float(row[7] or 0.0),
            probability_squares=float(row[8] or 0.0),
            latency_rows=int(row[9]),
            latency_sum=float(row[10] or 0.0),
            latency_max=None if row[11] is None else float(row[11]),
            first_at=float(row[12]),
            last_at=float(row[13]),
        )
        for row in connection.execute(statement)
    ]


def latency_percentiles(
    connection: Connection, dialect: StoreDialect, plan: WindowPlan, quantiles: Sequence[float] = QUANTILES
) -> dict[int, list[float]]:
    """Per window with latencies: the `quantiles` of latency_ms (linear interpolation, as percentile_cont)."""
    rows = (
        select(dialect.window_index(plan).label("w"), predictions.c.latency_ms.label("latency"))
        .where(dialect.in_range(plan), predictions.c.latency_ms.is_not(None))
        .subquery()
    )
    if dialect.postgresql:
        levels = array([literal(float(q), DOUBLE_PRECISION) for q in quantiles], type_=DOUBLE_PRECISION)
        within = func.percentile_cont(levels, type_=ARRAY(DOUBLE_PRECISION)).within_group(rows.c.latency)
        result: dict[int, list[float]] = {}
        for window, values in connection.execute(select(rows.c.w, within).group_by(rows.c.w)):
            result[plan.clamp(window)] = [float(value) for value in values]
        return result
    grouped: dict[int, list[float]] = {}
    for window, latency in connection.execute(select(rows.c.w, rows.c.latency).order_by(rows.c.w)):
        grouped.setdefault(plan.clamp(window), []).append(float(latency))
    return {
        window: [float(value) for value in np.quantile(np.asarray(values), quantiles, method="linear")]
        for window, values in grouped.items()
    }


def orphan_labels(connection: Connection) -> int:
    """Labels whose prediction id is not in the log: every query joins through predictions, so they are ignored."""
    known = exists().where(predictions.c.prediction_id == labels.c.prediction_id)
    return int(connection.execute(select(func.count()).select_from(labels).where(~known)).scalar() or 0)


@dataclass
class FeatureHistogram:
    """Rows per window of one feature: per reference bin (numeric) or per value (categorical), and missing."""

    reference: FeatureReference
    windows: int
    missing: np.ndarray = field(init=False)
    bins: np.ndarray = field(init=False)  # numeric: windows x (len(edges) + 1)
    values: list[Counter[str]] = field(init=False)  # categorical: per window

    def __post_init__(self) -> None:
        self.missing = np.zeros(self.windows, dtype=np.int64)
        width = len(self.reference.edges) + 1 if isinstance(self.reference, NumericReference) else 0
        self.bins = np.zeros((self.windows, width), dtype=np.int64)
        self.values = [Counter() for _ in range(self.windows)]

    def add_many(self, windows: np.ndarray, keys: Sequence[object], rows: np.ndarray) -> None:
        """Add `rows[i]` rows of value (or bin) `keys[i]` in window `windows[i]`; a None key is a missing value."""
        present = np.array([key is not None for key in keys], dtype=bool)
        np.add.at(self.missing, windows[~present], rows[~present])
        if isinstance(self.reference, NumericReference):
            bins = np.array([int(str(key)) for key in keys if key is not None], dtype=np.int64)  # bin numbers from SQL
            np.add.at(self.bins, (windows[present], bins), rows[present])
            return
        for window, key, count in zip(windows[present], (k for k in keys if k is not None), rows[present], strict=True):
            self.values[int(window)][str(key)] += int(count)


@dataclass(frozen=True)
class _Item:
    """One histogram to compute: a feature of the JSON document, or the probability column."""

    reference: FeatureReference
    from_column: bool = False

    @property
    def cardinality(self) -> int:
        if isinstance(self.reference, NumericReference):
            return len(self.reference.edges) + 2  # bins and missing
        assert isinstance(self.reference, CategoricalReference)
        return len(self.reference.categories) + 2  # and a little room for unseen values

    def raw(self, dialect: StoreDialect, *, guarded: bool) -> ColumnElement[Any]:
        if self.from_column:
            return predictions.c.probability
        if isinstance(self.reference, NumericReference):
            return dialect.json_number(self.reference.name, guarded=guarded)
        return dialect.json_text(self.reference.name)

    def key(self, dialect: StoreDialect, raw: ColumnElement[Any]) -> ColumnElement[Any]:
        if isinstance(self.reference, NumericReference):
            return dialect.bucket(raw, self.reference.edges)
        return raw


def packs(items: Sequence[_Item], limit: int = PACK_LIMIT, size: int = MAX_PACK) -> list[list[_Item]]:
    """Items grouped so that each group's product of cardinalities stays within `limit` (largest first)."""
    grouped: list[list[_Item]] = []
    for item in sorted(items, key=lambda candidate: candidate.cardinality, reverse=True):
        for group in grouped:
            if len(group) < size and math.prod(member.cardinality for member in group) * item.cardinality <= limit:
                group.append(item)
                break
        else:
            grouped.append([item])
    return grouped


def feature_histograms(
    connection: Connection,
    dialect: StoreDialect,
    plan: WindowPlan,
    model_name: str,
    model_version: str,
    profile: ReferenceProfile,
    aside: Aside | None = None,
) -> tuple[dict[str, FeatureHistogram], list[str]]:
    """Histograms of every profiled feature and of the probability for one version's rows; and warnings.

    One statement reads the rows once, bins every feature, and groups each pack. With `aside` (a second
    connection, see `source.StoreSession`) the packs are split in two statements that run at the same time.
    """
    items = [_Item(reference) for reference in profile.features] + [_Item(profile.prediction, from_column=True)]
    histograms = {item.reference.name: FeatureHistogram(item.reference, plan.count) for item in items}
    version_rows = and_(predictions.c.model_name == model_name, predictions.c.model_version == model_version)
    grouped = packs(items)
    shares = [grouped[0::2], grouped[1::2]] if aside is not None and len(grouped) > 1 else [grouped]
    jobs = [partial(_share_rows, dialect=dialect, plan=plan, rows=version_rows, share=share) for share in shares]
    elsewhere = [aside(job) for job in jobs[1:]] if aside is not None else []
    results = [(shares[0], jobs[0](connection))] + [
        (share, future.result()) for share, future in zip(shares[1:], elsewhere, strict=True)
    ]
    warnings: list[str] = []
    for share, (found, guarded) in results:
        if guarded:
            names = ", ".join(item.reference.name for pack in share for item in pack)
            warnings.append(
                f"model {model_name} version {model_version}: a numeric feature among {names} has values that are "
                "not numbers in the log; they count as missing"
            )
        for number, pack in enumerate(share):
            chosen = [row for row in found if row[0] == number]
            if not chosen:
                continue
            # Float rounding at the oldest boundary may give -1: such a row belongs to the oldest window.
            windows = np.clip(np.array([row[1] for row in chosen], dtype=np.int64), 0, plan.count - 1)
            counts = np.array([row[-1] for row in chosen], dtype=np.int64)
            for position, item in enumerate(pack, start=2):
                histograms[item.reference.name].add_many(windows, [row[position] for row in chosen], counts)
    return histograms, warnings


def _share_rows(
    connection: Connection,
    *,
    dialect: StoreDialect,
    plan: WindowPlan,
    rows: ColumnElement[bool],
    share: list[list[_Item]],
) -> tuple[list[Any], bool]:
    """The rows of one statement's GROUP BYs, and whether the guarded (slower) statement was needed."""
    try:
        # Unguarded number casts are the quick path; a SAVEPOINT keeps the transaction usable if one fails.
        with connection.begin_nested():
            return list(connection.execute(_share_query(dialect, plan, rows, share, guarded=False)).all()), False
    except DataError:
        return list(connection.execute(_share_query(dialect, plan, rows, share, guarded=True)).all()), True


def _share_query(
    dialect: StoreDialect,
    plan: WindowPlan,
    version_rows: ColumnElement[bool],
    share: Sequence[Sequence[_Item]],
    *,
    guarded: bool,
) -> Any:
    """(pack number, window, its items' keys as text, rows): the log read once, one GROUP BY per pack.

    The binned rows are a CTE referenced by every pack: PostgreSQL materializes such a CTE once.
    """
    items = [item for pack in share for item in pack]
    raw = select(
        dialect.window_index(plan).label("w"),
        *(item.raw(dialect, guarded=guarded).label(f"v{index}") for index, item in enumerate(items)),
    ).where(dialect.in_range(plan), version_rows)
    if not dialect.postgresql:
        # OFFSET keeps SQLite from inlining the JSON extraction into every branch of the CASE chains below.
        raw = raw.offset(0)
    values = raw.subquery()
    binned = select(
        values.c.w, *(item.key(dialect, values.c[f"v{index}"]).label(f"k{index}") for index, item in enumerate(items))
    ).cte("binned")
    width = max(len(pack) for pack in share)
    branches: list[Select[Any]] = []
    first = 0
    for number, pack in enumerate(share):
        keys = [binned.c[f"k{first + offset}"] for offset in range(len(pack))]
        first += len(pack)
        texts = [cast(key, String) for key in keys] + [cast(null(), String)] * (width - len(pack))
        branch = select(literal(number, Integer), binned.c.w, *texts, func.count()).group_by(binned.c.w, *keys)
        branches.append(branch)
    return union_all(*branches) if len(branches) > 1 else branches[0]


def served_versions(connection: Connection, model_name: str) -> list[str]:
    """Every version of `model_name` that has logged predictions, oldest first."""
    statement = select(predictions.c.model_version).where(predictions.c.model_name == model_name).distinct()
    found = [str(row[0]) for row in connection.execute(statement)]
    return sorted(found, key=lambda version: (len(version), version))

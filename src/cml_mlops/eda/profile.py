"""EDA computations (no plotting): what the report shows, as numbers that also go to JSON.

Everything is computed once from the frame; the plots and the HTML only read the resulting `EdaProfile`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cml_mlops.contracts.value_patterns import Sentinel, calendar, calendar_order, sentinels
from cml_mlops.errors import ContractViolation
from cml_mlops.features import FeatureSpec
from cml_mlops.leakage import direction_free_auc

MISSING_LABEL = "(missing)"
OTHER_LABEL = "(other)"
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
DECLARED_REASON = "declared: known only after the outcome"
MISSING_SHARE_WARNING = 0.20
IMBALANCE_RATE = 0.20


@dataclass(frozen=True)
class ClassBalance:
    """How many rows carry each target value, and the share of the positive label."""

    counts: dict[str, int]
    positives: int
    negatives: int
    positive_rate: float


@dataclass(frozen=True)
class RateBin:
    """Rows of one bin (a value range, or one value when `lower == upper`) and their target rate."""

    label: str
    lower: float | None
    upper: float | None
    count: int
    positives: int
    target_rate: float | None


@dataclass(frozen=True)
class NumericProfile:
    """Summary, histogram and target rate by quantile bin of one numeric feature."""

    name: str
    count: int
    missing: int
    missing_share: float
    distinct: int
    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    quantiles: dict[str, float | None]
    histogram_counts: tuple[int, ...]
    histogram_edges: tuple[float, ...]
    target_rate_bins: tuple[RateBin, ...]
    roc_auc: float | None
    sentinels: tuple[Sentinel, ...] = ()  # codes such as -1 or 999: kept out of the histogram, own rate bins

    @property
    def constant(self) -> bool:
        return self.distinct <= 1


@dataclass(frozen=True)
class CategoryRate:
    """Rows of one category and their target rate."""

    value: str
    count: int
    positives: int
    target_rate: float | None


@dataclass(frozen=True)
class CategoricalProfile:
    """Counts and target rate per category of one categorical feature, and its share of missing values."""

    name: str
    distinct: int
    categories: tuple[CategoryRate, ...]
    missing: int
    missing_share: float
    roc_auc: float | None

    @property
    def constant(self) -> bool:
        return self.distinct <= 1


FeatureProfile = NumericProfile | CategoricalProfile


@dataclass(frozen=True)
class Correlation:
    """Pearson correlations of the numeric features and the target (as 0/1); None where undefined."""

    columns: tuple[str, ...]
    matrix: tuple[tuple[float | None, ...], ...]


@dataclass(frozen=True)
class LeakageCandidate:
    """A feature that may carry the answer: declared so, or predicting the target too well on its own."""

    column: str
    reasons: tuple[str, ...]
    roc_auc: float | None
    declared: bool


@dataclass(frozen=True)
class EdaProfile:
    """The whole EDA result."""

    rows: int
    target: str
    positive_label: str
    class_balance: ClassBalance
    numeric: tuple[NumericProfile, ...]
    categorical: tuple[CategoricalProfile, ...]
    correlation: Correlation
    leakage: tuple[LeakageCandidate, ...]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    settings: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: plain types only, NaN as None."""
        from cml_mlops.reports.files import to_jsonable

        payload: dict[str, Any] = to_jsonable(dataclasses.asdict(self))
        return payload

    def features(self) -> tuple[FeatureProfile, ...]:
        """Numeric then categorical feature profiles."""
        return (*self.numeric, *self.categorical)

    def feature(self, name: str) -> FeatureProfile:
        """The profile of one feature (KeyError if it was not profiled)."""
        for profile in self.features():
            if profile.name == name:
                return profile
        raise KeyError(name)


def profile_frame(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    *,
    bins: int = 10,
    missing_tokens: Sequence[str] = ("unknown",),
    leakage_auc: float = 0.75,
    histogram_bins: int = 30,
    max_categories: int = 30,
) -> EdaProfile:
    """Profile the features of `spec` in `frame` against its target.

    Raises ContractViolation when the frame has no rows, lacks a column of `spec`, or holds non-numbers in a
    numeric feature.
    """
    if bins < 1 or histogram_bins < 1 or max_categories < 2:
        raise ValueError("bins and histogram_bins must be >= 1, max_categories >= 2")
    if not 0.5 <= leakage_auc <= 1.0:
        raise ValueError(f"leakage_auc must be within [0.5, 1], got {leakage_auc}")
    _check_columns(frame, spec)
    y = _positives(frame[spec.target], spec.positive_label)
    balance = _class_balance(frame[spec.target], y)
    one_class = balance.positives == 0 or balance.negatives == 0

    numeric = tuple(
        _numeric_profile(name, _as_numbers(frame[name], name), y, bins, histogram_bins, one_class)
        for name in spec.numeric
    )
    categorical = tuple(
        _categorical_profile(name, frame[name], y, tuple(missing_tokens), max_categories, one_class)
        for name in spec.categorical
    )
    correlation = _correlation(frame, spec, y)
    leakage = _leakage(spec, (*numeric, *categorical), leakage_auc)

    notes: list[str] = []
    if one_class:
        notes.append(
            f"the target has only one class ({balance.positives} of {len(frame)} rows are "
            f"{spec.positive_label!r}): target rates are constant, ROC AUC is undefined and leakage "
            "was checked only against the declared columns"
        )
    return EdaProfile(
        rows=len(frame),
        target=spec.target,
        positive_label=spec.positive_label,
        class_balance=balance,
        numeric=numeric,
        categorical=categorical,
        correlation=correlation,
        leakage=leakage,
        warnings=tuple(_warnings(balance, numeric, categorical, leakage, tuple(missing_tokens))),
        notes=tuple(notes),
        settings={
            "bins": bins,
            "histogram_bins": histogram_bins,
            "missing_tokens": list(missing_tokens),
            "leakage_auc": leakage_auc,
            "max_categories": max_categories,
        },
    )


def _check_columns(frame: pd.DataFrame, spec: FeatureSpec) -> None:
    missing = [name for name in (spec.target, *spec.numeric, *spec.categorical) if name not in frame.columns]
    if missing:
        raise ContractViolation(
            f"cannot profile: the data lacks columns of the feature spec: {', '.join(missing)} "
            f"(it has {', '.join(map(str, frame.columns)) or 'no columns'})"
        )
    if frame.empty:
        raise ContractViolation("cannot profile: the data has no rows")


def _positives(target: pd.Series, positive_label: str) -> np.ndarray:
    """The target as booleans; compared as text so that 1 and "1" both match a positive label "1"."""
    return target.astype("string").eq(str(positive_label)).fillna(False).to_numpy(dtype=bool)


def _class_balance(target: pd.Series, y: np.ndarray) -> ClassBalance:
    counts = target.astype("string").fillna(MISSING_LABEL).value_counts(sort=True)
    positives = int(y.sum())
    return ClassBalance(
        counts={str(label): int(count) for label, count in counts.items()},
        positives=positives,
        negatives=len(y) - positives,
        positive_rate=positives / len(y),
    )


def _as_numbers(column: pd.Series, name: str) -> pd.Series:
    """The column as floats; infinities count as missing. Text that is not a number is a contract breach."""
    if pd.api.types.is_bool_dtype(column.dtype):
        column = column.astype("Int64")
    if not pd.api.types.is_numeric_dtype(column.dtype):
        converted = pd.to_numeric(column, errors="coerce")
        bad = column[converted.isna() & column.notna()]
        if len(bad):
            raise ContractViolation(
                f"cannot profile: numeric feature {name!r} holds {len(bad)} non-numbers, "
                f"e.g. {bad.iloc[0]!r}; fix the data or declare the column categorical in the contract"
            )
        column = converted
    values = column.astype("Float64").astype(float)
    return values.where(np.isfinite(values))


def _rate(positives: float, count: int) -> float | None:
    return float(positives) / count if count else None


def _roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """Univariate ROC AUC, direction-free: the leakage screen's own measure (train and the gate refuse with it)."""
    return direction_free_auc(y, score)


def _number(value: Any) -> float | None:
    """A float, or None for NaN and infinities (not JSON, and meaningless in a report)."""
    return float(value) if pd.notna(value) and np.isfinite(value) else None


def _numeric_profile(
    name: str, values: pd.Series, y: np.ndarray, bins: int, histogram_bins: int, one_class: bool
) -> NumericProfile:
    present = values.notna().to_numpy()
    finite = values.to_numpy()[present]
    with np.errstate(all="ignore"):  # huge magnitudes overflow to inf in mean/std: reported as None
        mean = _number(finite.mean()) if len(finite) else None
        std = _number(values.std()) if len(finite) > 1 else None
    found = tuple(sentinels(pd.Series(finite)))
    codes = [sentinel.value for sentinel in found]
    counts, edges = _histogram(finite[~np.isin(finite, codes)] if codes else finite, histogram_bins)
    quantiles = np.quantile(finite, QUANTILES, method="lower") if len(finite) else np.full(len(QUANTILES), np.nan)
    return NumericProfile(
        name=name,
        count=len(finite),
        missing=int((~present).sum()),
        missing_share=float((~present).mean()),
        distinct=int(values.nunique(dropna=False)),
        min=_number(finite.min()) if len(finite) else None,
        max=_number(finite.max()) if len(finite) else None,
        mean=mean,
        std=std,
        quantiles={f"p{round(q * 100):02d}": _number(v) for q, v in zip(QUANTILES, quantiles, strict=True)},
        histogram_counts=tuple(int(c) for c in counts),
        histogram_edges=tuple(float(e) for e in edges),
        target_rate_bins=_rate_bins(finite, y[present], y[~present], bins),
        roc_auc=None if one_class else _roc_auc(y[present], finite),
        sentinels=found,
    )


def _histogram(values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    if len(values) == 0:
        return np.array([], dtype=int), np.array([], dtype=float)
    try:
        with np.errstate(all="ignore"):
            counts, edges = np.histogram(values, bins=bins)
        if np.isfinite(edges).all():
            return counts, edges
    except ValueError:
        pass
    # Extreme magnitudes (max - min overflows): one bin still shows where the values are.
    return np.array([len(values)]), np.array([values.min(), values.max()])


def _rate_bins(values: np.ndarray, y: np.ndarray, y_missing: np.ndarray, bins: int) -> tuple[RateBin, ...]:
    """Target rate per bin of one numeric feature; the bins' counts add up to the rows.

    Few distinct values: one bin per value. Otherwise a value held by at least 1/`bins` of the rows (e.g.
    pdays = -1, "never contacted") gets a bin of its own, and the other values are cut at their quantiles.
    Missing values come last.
    """
    result: list[RateBin] = []
    if len(values):
        distinct, counts = np.unique(values, return_counts=True)
        if len(distinct) <= bins:
            points, rest = distinct, values[:0]
        else:
            points = distinct[counts * bins >= len(values)]
            rest = values[~np.isin(values, points)]
        groups: list[tuple[float, float, str, np.ndarray]] = [
            (float(point), float(point), compact_number(point), values == point) for point in points
        ]
        if len(rest):
            groups += _quantile_groups(values, rest, points, max(bins - len(points), 1))
        for low, high, label, mask in sorted(groups, key=lambda group: (group[0], group[0] != group[1])):
            count, hits = int(mask.sum()), int(y[mask].sum())
            result.append(RateBin(label, low, high, count, hits, _rate(hits, count)))
    if len(y_missing):
        hits = int(y_missing.sum())
        result.append(RateBin(MISSING_LABEL, None, None, len(y_missing), hits, _rate(hits, len(y_missing))))
    return tuple(result)


def _quantile_groups(
    values: np.ndarray, rest: np.ndarray, points: np.ndarray, bins: int
) -> list[tuple[float, float, str, np.ndarray]]:
    """Quantile bins of `rest` (the values not in `points`) as (lower, upper, label, mask over `values`)."""
    # "lower" picks data values as edges: no interpolation, so no overflow and no spurious ties.
    edges = np.unique(np.quantile(rest, np.linspace(0, 1, bins + 1), method="lower"))
    if len(edges) < 2:
        edges = np.array([rest.min(), rest.max()])
    index = np.searchsorted(edges[1:-1], values, side="right")
    eligible = ~np.isin(values, points)
    groups = []
    for i in range(len(edges) - 1):
        low, high = float(edges[i]), float(edges[i + 1])
        closing = "]" if i == len(edges) - 2 else ")"
        label = f"[{compact_number(low)}, {compact_number(high)}{closing}"
        groups.append((low, high, label, eligible & (index == i)))
    return groups


def compact_number(value: float) -> str:
    """A bin edge people read at a glance: 19, 0.25, 3.9k, 71k, 1.2M (never 7.119e+04)."""
    number = float(value)
    size = abs(number)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e4, "k")):
        if size >= limit:
            return f"{number / limit:.3g}{suffix}" if limit != 1e4 else f"{number / 1e3:.3g}k"
    if number.is_integer():
        return str(int(number))
    return f"{number:.3g}"


def _categorical_profile(
    name: str,
    column: pd.Series,
    y: np.ndarray,
    missing_tokens: tuple[str, ...],
    max_categories: int,
    one_class: bool,
) -> CategoricalProfile:
    text = column.astype("string")
    missing = (text.isna() | text.isin(missing_tokens)).to_numpy(dtype=bool)
    labels = text.fillna(MISSING_LABEL)
    table = (
        pd.DataFrame({"value": labels.to_numpy(dtype=object), "y": y})
        .groupby("value", sort=False)["y"]
        .agg(count="size", positives="sum")
        .reset_index()
        .sort_values(["count", "value"], ascending=[False, True], kind="stable")
    )
    encoded = labels.map(dict(zip(table["value"], table["positives"] / table["count"], strict=True)))
    if len(table) > max_categories:
        # Keep the JSON and the plots readable: the rarest categories are pooled, the counts still add up.
        kept, rest = table.iloc[: max_categories - 1], table.iloc[max_categories - 1 :]
        pooled = {"value": OTHER_LABEL, "count": rest["count"].sum(), "positives": rest["positives"].sum()}
        table = pd.concat([kept, pd.DataFrame([pooled])], ignore_index=True)
    categories = tuple(
        CategoryRate(str(value), int(count), int(hits), _rate(hits, int(count)))
        for value, count, hits in table[["value", "count", "positives"]].itertuples(index=False, name=None)
    )
    order = calendar_order(category.value for category in categories)
    if calendar(order) is not None:  # months and weekdays read in calendar order, not by count
        categories = tuple(sorted(categories, key=lambda category: order.index(category.value)))
    return CategoricalProfile(
        name=name,
        distinct=int(column.nunique(dropna=False)),
        categories=categories,
        missing=int(missing.sum()),
        missing_share=float(missing.mean()),
        # Rate encoding fitted on the same rows: optimistic for many small categories, which is what a
        # leakage screen should flag anyway (an id-like column predicts its own rows).
        roc_auc=None if one_class else _roc_auc(y, encoded.to_numpy(dtype=float)),
    )


def _correlation(frame: pd.DataFrame, spec: FeatureSpec, y: np.ndarray) -> Correlation:
    if not spec.numeric:
        return Correlation((), ())
    data = pd.DataFrame({name: _as_numbers(frame[name], name) for name in spec.numeric})
    data[spec.target] = y.astype(float)
    with np.errstate(all="ignore"):
        matrix = data.corr(method="pearson").clip(-1.0, 1.0)
    columns = tuple(str(name) for name in matrix.columns)
    return Correlation(columns, tuple(tuple(_number(v) for v in row) for row in matrix.to_numpy()))


def _leakage(spec: FeatureSpec, profiles: Sequence[FeatureProfile], threshold: float) -> tuple[LeakageCandidate, ...]:
    by_name = {profile.name: profile for profile in profiles}
    candidates: list[LeakageCandidate] = []
    for name in dict.fromkeys((*spec.leakage, *by_name)):
        auc = by_name[name].roc_auc if name in by_name else None
        reasons: list[str] = []
        if name in spec.leakage:
            reasons.append(DECLARED_REASON)
        if auc is not None and auc > threshold:
            reasons.append(f"univariate ROC AUC {auc:.3f} > {threshold:.2f}")
        if reasons:
            candidates.append(LeakageCandidate(name, tuple(reasons), auc, name in spec.leakage))
    return tuple(candidates)


def _warnings(
    balance: ClassBalance,
    numeric: Sequence[NumericProfile],
    categorical: Sequence[CategoricalProfile],
    leakage: Sequence[LeakageCandidate],
    missing_tokens: tuple[str, ...],
) -> list[str]:
    warnings: list[str] = []
    if balance.positives == 0 or balance.negatives == 0:
        warnings.append(
            f"the target has a single class ({balance.positives} positives, {balance.negatives} negatives): "
            "no classifier can be trained or evaluated on this data"
        )
    elif balance.positive_rate < IMBALANCE_RATE:
        warnings.append(
            f"class imbalance: positive rate {balance.positive_rate:.1%} < {IMBALANCE_RATE:.0%}; "
            "accuracy is misleading; use ROC/PR AUC"
        )
    for candidate in leakage:
        action = (
            "excluded from models unless features.use_leakage_columns is set"
            if candidate.declared
            else "not declared in LEAKAGE: check that it is known before the outcome (train refuses it above "
            "features.leakage_ceiling)"
        )
        warnings.append(f"leakage candidate {candidate.column!r} ({'; '.join(candidate.reasons)}): {action}")
    tokens = ", ".join(repr(token) for token in missing_tokens)
    kinds: list[tuple[FeatureProfile, str]] = [(profile, "empty or not finite") for profile in numeric]
    kinds += [(profile, f"empty or {tokens}" if tokens else "empty") for profile in categorical]
    for profile, kind in kinds:
        if profile.missing_share > MISSING_SHARE_WARNING:
            warnings.append(
                f"{profile.name!r}: {profile.missing_share:.1%} of values are missing ({kind}), "
                f"more than {MISSING_SHARE_WARNING:.0%}"
            )
    for profile in numeric:
        for sentinel in profile.sentinels:
            warnings.append(
                f"{profile.name!r}: {sentinel.describe()} looks like a code for missing / not applicable "
                "(shown apart from the distribution): check the data's documentation"
            )
    constant: tuple[FeatureProfile, ...] = (*numeric, *categorical)
    for profile in constant:
        if profile.constant:
            warnings.append(f"{profile.name!r} is constant: it carries no information; drop it from the features")
    return warnings

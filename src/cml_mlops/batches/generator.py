"""A synthetic batch from a table: bootstrap rows, add noise, then put in the drift asked for.

Pure and seeded: the same source rows, seed and options give the same batch. Each stage draws from its own
random stream (spawned from the seed), so adding a drift option changes only what that option touches: the
bootstrap and the noise stay the same.

Noise keeps the batch like the table: numeric values get Gaussian jitter of `noise` times the column's standard
deviation (rounded for integer columns), and categorical values are replaced, with probability `noise`, by a draw
from the column's own values. Values that make up at least SPIKE_SHARE of a numeric column (a sentinel such as
pdays=-1, a natural zero) keep their value: smearing them would itself look like drift. Every generated or
shifted number is clipped to the contract's range, so noise and shifts never make a row invalid; a category the
contract does not know is left for the contract to refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cml_mlops.batches.bounds import Bounds
from cml_mlops.batches.drift import BatchError, Drift

SPIKE_SHARE = 0.10
_STREAMS = ("bootstrap", "noise", "category_mix", "flip_labels")


@dataclass(frozen=True)
class BatchSpec:
    """What to generate: size, seed, noise level and drift, plus the target and the contract's numeric ranges."""

    rows: int
    seed: int
    noise: float
    drift: Drift
    target: str
    positive_label: str
    bounds: Mapping[str, Bounds] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.rows, int) or self.rows < 1:
            raise BatchError(f"rows must be a positive whole number, got {self.rows!r}")
        if not 0.0 <= self.noise <= 1.0:
            raise BatchError(f"noise must be between 0 and 1 (a share of each column's std), got {self.noise}")


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [
        str(name)
        for name, dtype in frame.dtypes.items()
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    ]


def categorical_columns(frame: pd.DataFrame) -> list[str]:
    """Text, category and boolean columns (dates and other types are copied as they are)."""
    return [
        str(name)
        for name, dtype in frame.dtypes.items()
        if pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    ]


def check_drift(source: pd.DataFrame, spec: BatchSpec) -> None:
    """BatchError naming the option and the columns that would work, for drift the source cannot take."""
    numeric = [c for c in numeric_columns(source) if c != spec.target]
    categorical = [c for c in categorical_columns(source) if c != spec.target]
    for column in spec.drift.shift:
        if column not in numeric:
            what = "the target" if column == spec.target else "not a numeric column"
            raise BatchError(f"cannot shift {column!r}: {what}; numeric columns: {', '.join(numeric)}")
    for column in spec.drift.category_mix:
        if column == spec.target:
            raise BatchError(f"cannot change the mix of the target {column!r}: flip labels instead (--flip-labels)")
        if column not in categorical or pd.api.types.is_bool_dtype(source[column].dtype):
            raise BatchError(
                f"cannot change the category mix of {column!r}: not a text or category column; "
                f"categorical columns: {', '.join(categorical)}"
            )
    if spec.drift.flip_labels and spec.target not in source.columns:
        raise BatchError(f"cannot flip labels: the table has no target column {spec.target!r}")


def generate_batch(source: pd.DataFrame, spec: BatchSpec) -> pd.DataFrame:
    """`spec.rows` new rows with the columns and dtypes of `source`, index 0..rows-1."""
    if source.empty:
        raise BatchError("the table is empty: there are no rows to draw a batch from")
    check_drift(source, spec)
    rng = _streams(spec.seed)
    picks = _picks(rng["bootstrap"], len(source), spec.rows)
    batch = source.iloc[picks].reset_index(drop=True)
    numeric = [c for c in numeric_columns(source) if c != spec.target]
    categorical = [c for c in categorical_columns(source) if c != spec.target]
    for column in source.columns:  # table order: the noise stream is consumed the same way every time
        name = str(column)
        if name in numeric:
            batch[name] = _jitter(source[name], batch[name], spec, rng["noise"])
        elif name in categorical:
            batch[name] = _resample(source[name], batch[name], spec.noise, rng["noise"])
    for name, delta in spec.drift.shift.items():
        batch[name] = _shift(source[name], batch[name], delta, spec.bounds.get(name))
    for name, shares in spec.drift.category_mix.items():
        batch[name] = _mix(source[name], batch[name], shares, rng["category_mix"])
    if spec.drift.flip_labels:
        batch[spec.target] = _flip(source[spec.target], batch[spec.target], spec, rng["flip_labels"])
    return batch


def source_positions(source: pd.DataFrame, spec: BatchSpec) -> np.ndarray:
    """The position in `source` of the row each batch row was drawn from (what generate_batch draws)."""
    return _picks(_streams(spec.seed)["bootstrap"], len(source), spec.rows)


def _streams(seed: int) -> dict[str, np.random.Generator]:
    sequences = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    return {name: np.random.default_rng(sequence) for name, sequence in zip(_STREAMS, sequences, strict=True)}


def _picks(rng: np.random.Generator, source_rows: int, rows: int) -> np.ndarray:
    return rng.integers(0, source_rows, size=rows)


def _jitter(source: pd.Series, values: pd.Series, spec: BatchSpec, rng: np.random.Generator) -> pd.Series:
    std = _std(source)
    noise = rng.normal(0.0, 1.0, size=len(values)) * spec.noise * std  # drawn always: a stable stream
    if std == 0 or spec.noise == 0:
        return values
    shares = source.value_counts(normalize=True, dropna=True)
    spikes = shares.index[shares >= SPIKE_SHARE]
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    moved = np.where(values.isin(spikes).to_numpy(), numbers, numbers + noise)
    return _as_column(moved, values, spec.bounds.get(str(values.name)))


def _shift(source: pd.Series, values: pd.Series, delta: float, bounds: Bounds | None) -> pd.Series:
    numbers = values.to_numpy(dtype=float, na_value=np.nan) + delta * _std(source)
    return _as_column(numbers, values, bounds)


def _as_column(numbers: np.ndarray, like: pd.Series, bounds: Bounds | None) -> pd.Series:
    """Numbers back in the column's dtype: rounded for integers, inside the contract's range."""
    series = pd.Series(numbers, index=like.index)
    if bounds is not None:
        series = bounds.clip(series)
    if pd.api.types.is_integer_dtype(like.dtype):
        series = series.round()
    return series.astype(like.dtype)


def _std(source: pd.Series) -> float:
    std = float(source.astype(float).std(ddof=0, skipna=True))
    return std if np.isfinite(std) else 0.0


def _resample(source: pd.Series, values: pd.Series, probability: float, rng: np.random.Generator) -> pd.Series:
    """With `probability`, a row's value is replaced by a random value of the same column of the source."""
    replace = rng.random(len(values)) < probability
    draws = rng.integers(0, len(source), size=len(values))
    if not replace.any():
        return values
    result = values.copy()
    result[replace] = source.to_numpy()[draws[replace]]
    return result


def _mix(source: pd.Series, values: pd.Series, shares: Mapping[str, float], rng: np.random.Generator) -> pd.Series:
    """Exactly round(share * rows) rows hold each named value; the other rows hold the other values.

    Rows are reassigned at random. Rows that must give up a named value get a draw from the source's other values
    (or, if it has none, keep a named value: the shares then cannot be met and the caller sees it in the report).
    """
    rows = len(values)
    counts = {value: round(share * rows) for value, share in shares.items()}
    while sum(counts.values()) > rows:  # rounding up of several shares may overshoot by a row or two
        largest = max(counts, key=lambda value: counts[value])
        counts[largest] -= 1
    order = rng.permutation(rows)
    result = values.copy().astype(object)
    start = 0
    for value, count in counts.items():
        result.iloc[order[start : start + count]] = value
        start += count
    rest = order[start:]
    others = source[~source.astype(str).isin(list(shares))].to_numpy()
    taken = result.iloc[rest].astype(str).isin(list(shares)).to_numpy()
    if len(others) and taken.any():
        result.iloc[rest[taken]] = others[rng.integers(0, len(others), size=int(taken.sum()))]
    return result.astype(values.dtype)


def _flip(source: pd.Series, values: pd.Series, spec: BatchSpec, rng: np.random.Generator) -> pd.Series:
    # Imported here: the trainer module loads MLflow and scikit-learn, which a batch without flips never needs.
    from cml_mlops.training.trainer import negative_label

    negative = negative_label(source, spec.positive_label)
    count = round(spec.drift.flip_labels * len(values))
    chosen = rng.choice(len(values), size=count, replace=False)
    result = values.copy()
    positive = result.iloc[chosen].astype(str) == spec.positive_label
    result.iloc[chosen] = np.where(positive.to_numpy(), negative, spec.positive_label)
    return result


def batch_effects(source: pd.DataFrame, batch: pd.DataFrame, spec: BatchSpec) -> dict[str, Any]:
    """What the drift did, measured on the batch: means in std units, category shares, the positive rate."""
    effects: dict[str, Any] = {}
    for name in spec.drift.shift:
        std = _std(source[name])
        change = float(batch[name].astype(float).mean() - source[name].astype(float).mean())
        effects[f"shift.{name}"] = {
            "asked_std": spec.drift.shift[name],
            "mean_change": change,
            "mean_change_std": change / std if std else None,
        }
    for name, shares in spec.drift.category_mix.items():
        observed = batch[name].astype(str).value_counts(normalize=True)
        table = source[name].astype(str).value_counts(normalize=True)
        effects[f"category_mix.{name}"] = {
            value: {"asked": share, "batch": float(observed.get(value, 0.0)), "table": float(table.get(value, 0.0))}
            for value, share in shares.items()
        }
    if spec.target in batch.columns:
        effects["positive_rate"] = {
            "batch": float((batch[spec.target].astype(str) == spec.positive_label).mean()),
            "table": float((source[spec.target].astype(str) == spec.positive_label).mean()),
        }
    return effects

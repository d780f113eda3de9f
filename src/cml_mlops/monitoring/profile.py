"""The reference profile of a model version: what its training data and predictions looked like, in bins.

Computed once at training time and saved with the version (see `profile_store`), so monitoring compares live
traffic with it and never re-reads the training data. Per feature:

- numeric: `edges`, the distinct 1st..99th percentiles of the training values (values of the data, so a discrete
  feature gets one bin per value), and the training rows per bin `[edges[i-1], edges[i])` (open at both ends).
  These fine bins give the CDF for the KS statistic; the deciles (`psi_edges`, a subset of `edges`) are the
  conventional ten PSI bins, so both come from one histogram.
- categorical: the most frequent values (at most MAX_CATEGORIES) with their rows, the rest as `other`.
- both: rows and missing values (null, or not a number for a numeric feature).

The predictions are profiled as a numeric feature (`prediction`: positive-class probability on the held-out
validation and test rows), with the expected positive rate at the version's threshold and the label rate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cml_mlops.errors import CmlMlopsError

FORMAT = 1
FINE_LEVELS = np.arange(1, 100) / 100  # percentiles: the KS grid
PSI_LEVELS = FINE_LEVELS[9::10]  # deciles, taken from the same levels so that they are a subset of the edges
MAX_CATEGORIES = 50
PREDICTION = "prediction"


class ProfileError(CmlMlopsError):
    """A reference profile cannot be made, read or found."""


@dataclass(frozen=True)
class NumericReference:
    name: str
    edges: list[float]
    counts: list[int]  # len(edges) + 1 fine bins
    psi_edges: list[float]
    missing: int = 0

    kind = "numeric"

    @property
    def rows(self) -> int:
        return int(sum(self.counts)) + self.missing

    def bin_of(self, values: np.ndarray) -> np.ndarray:
        """The fine bin of each (non-missing) value: the number of edges at or below it, as SQL's width_bucket."""
        return np.searchsorted(np.asarray(self.edges, dtype=float), values, side="right")

    def psi_groups(self) -> np.ndarray:
        """For each fine bin, its PSI (decile) bin: the fine bins nest inside the deciles."""
        lower = np.concatenate([[-np.inf], np.asarray(self.edges, dtype=float)])
        return np.searchsorted(np.asarray(self.psi_edges, dtype=float), lower, side="right")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "edges": self.edges,
            "counts": self.counts,
            "psi_edges": self.psi_edges,
            "missing": self.missing,
        }


@dataclass(frozen=True)
class CategoricalReference:
    name: str
    categories: list[str]
    counts: list[int]  # per category
    other: int = 0  # rows of values not in `categories`
    missing: int = 0

    kind = "categorical"

    @property
    def rows(self) -> int:
        return int(sum(self.counts)) + self.other + self.missing

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "categories": self.categories,
            "counts": self.counts,
            "other": self.other,
            "missing": self.missing,
        }


FeatureReference = NumericReference | CategoricalReference


@dataclass(frozen=True)
class ReferenceProfile:
    """Everything monitoring needs to know about a version's training distribution (JSON round trip)."""

    features: list[FeatureReference]
    prediction: NumericReference
    rows: int
    label_rate: float
    threshold: float
    expected_positive_rate: float
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    source: str = "training"  # or "backfill" (ensure_profile)

    def feature(self, name: str) -> FeatureReference:
        return next(item for item in self.features if item.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "created_at": self.created_at,
            "source": self.source,
            "rows": self.rows,
            "label_rate": self.label_rate,
            "threshold": self.threshold,
            "expected_positive_rate": self.expected_positive_rate,
            "features": [item.to_dict() for item in self.features],
            "prediction": self.prediction.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceProfile:
        if data.get("format") != FORMAT:
            raise ProfileError(
                f"reference profile format {data.get('format')!r} is not {FORMAT}: not from this cml-mlops"
            )
        try:
            return cls(
                features=[_reference(item) for item in data["features"]],
                prediction=_numeric(data["prediction"]),
                rows=int(data["rows"]),
                label_rate=float(data["label_rate"]),
                threshold=float(data["threshold"]),
                expected_positive_rate=float(data["expected_positive_rate"]),
                created_at=str(data["created_at"]),
                source=str(data.get("source", "training")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProfileError(f"reference profile is malformed: {type(exc).__name__}: {exc}") from None


def _numeric(item: Mapping[str, Any]) -> NumericReference:
    return NumericReference(
        name=str(item["name"]),
        edges=[float(value) for value in item["edges"]],
        counts=[int(value) for value in item["counts"]],
        psi_edges=[float(value) for value in item["psi_edges"]],
        missing=int(item.get("missing", 0)),
    )


def _reference(item: Mapping[str, Any]) -> FeatureReference:
    if item["kind"] == "numeric":
        return _numeric(item)
    if item["kind"] == "categorical":
        return CategoricalReference(
            name=str(item["name"]),
            categories=[str(value) for value in item["categories"]],
            counts=[int(value) for value in item["counts"]],
            other=int(item.get("other", 0)),
            missing=int(item.get("missing", 0)),
        )
    raise ValueError(f"unknown feature kind {item['kind']!r}")


def numeric_reference(name: str, values: Sequence[float] | np.ndarray | pd.Series) -> NumericReference:
    """Percentile edges and fine-bin rows of a numeric column; missing = null or not a number."""
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").astype(float)
    present = numbers[np.isfinite(numbers)].to_numpy()
    missing = int(len(numbers) - len(present))
    if len(present) == 0:
        return NumericReference(name, [], [0], [], missing)
    # inverted_cdf returns values of the data: a discrete feature's edges are its own values.
    edges = np.unique(np.quantile(present, FINE_LEVELS, method="inverted_cdf"))
    psi_edges = np.unique(np.quantile(present, PSI_LEVELS, method="inverted_cdf"))
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1)
    return NumericReference(name, edges.tolist(), counts.astype(int).tolist(), psi_edges.tolist(), missing)


def categorical_reference(name: str, values: Sequence[Any] | pd.Series) -> CategoricalReference:
    """Rows per value (as text, the way the JSON of a request carries it); rare values beyond the top as `other`."""
    series = pd.Series(values)
    missing = int(series.isna().sum())
    counts = series.dropna().map(json_text).value_counts(sort=True)
    kept = counts.iloc[:MAX_CATEGORIES]
    other = int(counts.iloc[MAX_CATEGORIES:].sum())
    return CategoricalReference(name, [str(v) for v in kept.index], [int(c) for c in kept.to_numpy()], other, missing)


def json_text(value: Any) -> str:
    """A value as monitoring reads it back from the log's JSON: text, booleans spelled `true`/`false`."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    return str(value)


def is_numeric_column(series: pd.Series) -> bool:
    """Numeric as the feature spec sees it: a number dtype that is not boolean."""
    return bool(pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype))


def build_profile(
    training: pd.DataFrame,
    features: Sequence[str],
    *,
    probabilities: np.ndarray,
    threshold: float,
    label_rate: float,
    source: str = "training",
) -> ReferenceProfile:
    """The profile of a version: `training` holds the model's input columns as trained on (typed as the lake
    holds them), `probabilities` its predictions on held-out rows (validation and test)."""
    missing = [name for name in features if name not in training.columns]
    if missing:
        raise ProfileError(f"cannot profile: the training rows have no column {', '.join(missing)}")
    probabilities = np.asarray(probabilities, dtype=float)
    if len(probabilities) == 0:
        raise ProfileError("cannot profile: no held-out predictions to take the prediction distribution from")
    references: list[FeatureReference] = [
        numeric_reference(name, training[name])
        if is_numeric_column(training[name])
        else categorical_reference(name, training[name])
        for name in features
    ]
    return ReferenceProfile(
        features=references,
        prediction=numeric_reference(PREDICTION, probabilities),
        rows=len(training),
        label_rate=float(label_rate),
        threshold=float(threshold),
        expected_positive_rate=float(np.mean(probabilities >= threshold)),
        source=source,
    )

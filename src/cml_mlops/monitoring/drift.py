"""Drift of one feature in one window against its reference profile: PSI, KS (numeric), chi-square (categorical).

Everything here works on counts per bin (the SQL aggregations' output), never on rows.

- PSI: sum over bins of (current share - reference share) * ln(current share / reference share), shares of at
  least EPSILON so that an empty bin counts as rare rather than infinitely surprising (the usual convention).
  Numeric features use the ten decile bins plus a missing-value bin; categorical ones each reference category,
  `other` (values outside the reference top categories, or unseen) and missing.
- KS: the largest distance between the two CDFs at the reference's percentile edges. It is a lower bound of the
  exact statistic, lower by at most the largest share of one fine bin (about 1% for a continuous feature; exact
  for a discrete one, whose edges are its values). p-value: the asymptotic two-sample distribution, with the
  reference's row count, as `scipy.stats.ks_2samp(method="asymp")` computes it.
- chi-square: the two-sample test of homogeneity on the category counts (reference rows vs window rows).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from scipy import special, stats

from cml_mlops.config import MonitoringDriftSection
from cml_mlops.monitoring.profile import CategoricalReference, NumericReference

EPSILON = 1e-4
OTHER = "(other)"
MISSING = "(missing)"


def population_stability_index(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI of two histograms over the same bins (counts or shares); NaN when either is empty."""
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    if reference.shape != current.shape:
        raise ValueError(f"histograms of different bins: {reference.shape} vs {current.shape}")
    if reference.sum() <= 0 or current.sum() <= 0:
        return math.nan
    expected = np.maximum(reference / reference.sum(), EPSILON)
    actual = np.maximum(current / current.sum(), EPSILON)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks_statistic(reference: np.ndarray, current: np.ndarray) -> float:
    """Largest CDF distance at the bin edges of two histograms over the same ordered bins; NaN when one is empty."""
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    if reference.sum() <= 0 or current.sum() <= 0:
        return math.nan
    distance = np.abs(np.cumsum(reference) / reference.sum() - np.cumsum(current) / current.sum())
    return float(distance.max())


def ks_p_value(statistic: float, reference_rows: int, current_rows: int) -> float:
    """Asymptotic two-sample KS p-value (scipy's `ks_2samp` "asymp" method)."""
    if math.isnan(statistic) or reference_rows == 0 or current_rows == 0:
        return math.nan
    effective = round(reference_rows * current_rows / (reference_rows + current_rows))
    return float(stats.kstwo.sf(statistic, max(effective, 1)))


def chi_square(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Statistic and p-value of the chi-square test that both count vectors come from one distribution."""
    table = np.vstack([np.asarray(reference, dtype=float), np.asarray(current, dtype=float)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return (0.0, 1.0) if table.shape[1] == 1 else (math.nan, math.nan)
    # scipy.stats.chi2_contingency(table, correction=False), written out: it is called per feature and window.
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return statistic, float(special.chdtrc(table.shape[1] - 1, statistic))


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one feature (or of the predictions) in one window, for one model version."""

    name: str
    kind: str  # numeric | categorical
    rows: int
    missing: int
    psi: float
    test: str  # ks | chi2
    statistic: float
    p_value: float
    status: str  # ok | watch | alert (by PSI) | insufficient
    drifted: bool
    # The PSI's bins, and the reference's and the window's share of rows in each: what a plot compares.
    bins: tuple[str, ...] = ()
    reference_shares: tuple[float, ...] = ()
    current_shares: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "rows": self.rows,
            "missing": self.missing,
            "psi": self.psi,
            "test": self.test,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "status": self.status,
            "drifted": self.drifted,
            "distribution": {
                "bins": list(self.bins),
                "reference": list(self.reference_shares),
                "current": list(self.current_shares),
            },
        }


def numeric_drift(
    reference: NumericReference, fine: np.ndarray, missing: int, settings: MonitoringDriftSection
) -> FeatureDrift:
    """Drift from a window's rows per fine bin (`len(edges) + 1` counts) and its missing values."""
    fine = np.asarray(fine, dtype=float)
    groups = reference.psi_groups()
    bins = len(reference.psi_edges) + 1
    reference_fine = np.asarray(reference.counts, dtype=float)
    expected = np.append(np.bincount(groups, weights=reference_fine, minlength=bins), reference.missing)
    current = np.append(np.bincount(groups, weights=fine, minlength=bins), missing)
    psi = population_stability_index(expected, current)
    statistic = ks_statistic(reference_fine, fine)
    p_value = ks_p_value(statistic, int(reference_fine.sum()), int(fine.sum()))
    judged = _judged(
        reference.name, "numeric", int(fine.sum()) + missing, missing, psi, "ks", statistic, p_value, settings
    )
    return _with_distribution(judged, [*numeric_bin_labels(reference.psi_edges), MISSING], expected, current)


def categorical_drift(
    reference: CategoricalReference, counts: Mapping[str, int], missing: int, settings: MonitoringDriftSection
) -> FeatureDrift:
    """Drift from a window's rows per value (as text) and its missing values."""
    known = {category: index for index, category in enumerate(reference.categories)}
    current = np.zeros(len(known) + 2)  # categories, other, missing
    for value, count in counts.items():
        current[known.get(value, len(known))] += count
    current[-1] = missing
    expected = np.array([*reference.counts, reference.other, reference.missing], dtype=float)
    psi = population_stability_index(expected, current)
    statistic, p_value = chi_square(expected, current)
    rows = int(current.sum())
    judged = _judged(reference.name, "categorical", rows, missing, psi, "chi2", statistic, p_value, settings)
    return _with_distribution(judged, [*reference.categories, OTHER, MISSING], expected, current)


def numeric_bin_labels(edges: list[float]) -> list[str]:
    """The PSI bins of a numeric feature as text: `< e0`, `[e0, e1)`, ..., `>= e_last`."""
    if not edges:
        return ["all"]
    inner = [f"[{low:.4g}, {high:.4g})" for low, high in itertools.pairwise(edges)]
    return [f"< {edges[0]:.4g}", *inner, f">= {edges[-1]:.4g}"]


def _with_distribution(
    drift: FeatureDrift, bins: list[str], reference: np.ndarray, current: np.ndarray
) -> FeatureDrift:
    return replace(drift, bins=tuple(bins), reference_shares=_shares(reference), current_shares=_shares(current))


def _shares(counts: np.ndarray) -> tuple[float, ...]:
    total = float(np.sum(counts))
    return tuple(float(count) / total if total > 0 else 0.0 for count in counts)


def _judged(
    name: str,
    kind: str,
    rows: int,
    missing: int,
    psi: float,
    test: str,
    statistic: float,
    p_value: float,
    settings: MonitoringDriftSection,
) -> FeatureDrift:
    if rows < settings.min_rows or math.isnan(psi):
        return FeatureDrift(name, kind, rows, missing, psi, test, statistic, p_value, "insufficient", False)
    status = "alert" if psi >= settings.psi_alert else "watch" if psi >= settings.psi_watch else "ok"
    large = psi >= settings.psi_alert
    significant = not math.isnan(p_value) and p_value < settings.p_value
    drifted = {"psi": large, "test": significant, "psi_and_test": large and significant}[settings.rule]
    return FeatureDrift(name, kind, rows, missing, psi, test, statistic, p_value, status, drifted)

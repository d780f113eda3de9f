"""Per-window figures from the traffic aggregation: volume, positive rate, latency and the label metrics.

Accuracy, precision, recall and F1 come from the confusion counts of the logged predictions (the decision
the served model made at its threshold) and are exact; so is the Brier score (from sums of p and p^2).
ROC AUC is computed from the probability histogram of labelled rows (PROBABILITY_BINS equal bins): pairs of a
positive and a negative in different bins are ordered exactly, pairs within one bin count one half, as tied
scores do. The result therefore differs from the exact AUC by at most half the share of such within-bin pairs,
which is computed too (`roc_auc_error_bound`): with 1000 bins it is ~1e-3 or less on real traffic.
Calibration: expected calibration error (ECE) over ten equal-width bins, each bin's mean predicted probability
against its observed positive rate, weighted by its rows.
Confidence bands (95 %, `<metric>_low` and `<metric>_high`): Wilson score intervals for the rates (accuracy,
precision, recall), whose counts are known exactly; Hanley and McNeil's (1982) standard error for ROC AUC, from
the AUC and the numbers of labelled positives and negatives. They say how far a window's value may move by
chance alone: a window with few labels has a wide band.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from cml_mlops.monitoring.metric_names import CEILING_METRICS, FLOOR_METRICS
from cml_mlops.monitoring.queries import PROBABILITY_BINS, QUANTILES, UNLABELLED_BIN, TrafficGroup

CALIBRATION_BINS = 10
CONFIDENCE = 0.95
BANDED_METRICS = ("accuracy", "precision", "recall", "roc_auc")
BAND_NAMES = tuple(f"{name}_{side}" for name in BANDED_METRICS for side in ("low", "high"))


@dataclass
class WindowTraffic:
    """Everything the traffic aggregation says about one window (all model versions together)."""

    requests: int = 0
    predicted_positive: int = 0
    probability_sum: float = 0.0
    latency_rows: int = 0
    latency_sum: float = 0.0
    latency_max: float | None = None
    first_at: float | None = None
    last_at: float | None = None
    versions: dict[str, int] = field(default_factory=dict)  # "name:version" -> requests
    labelled: int = 0
    squared_error_sum: float = 0.0
    # [label, bin]: labelled rows and their probability sums per probability bin
    counts: np.ndarray = field(default_factory=lambda: np.zeros((2, PROBABILITY_BINS), dtype=np.int64))
    sums: np.ndarray = field(default_factory=lambda: np.zeros((2, PROBABILITY_BINS)))
    positives_predicted: np.ndarray = field(default_factory=lambda: np.zeros(2, dtype=np.int64))  # by label
    latency_quantiles: list[float] | None = None

    def add(self, group: TrafficGroup) -> None:
        self.requests += group.rows
        self.predicted_positive += group.predicted_positive
        self.probability_sum += group.probability_sum
        self.latency_rows += group.latency_rows
        self.latency_sum += group.latency_sum
        if group.latency_max is not None:
            self.latency_max = max(group.latency_max, self.latency_max or group.latency_max)
        self.first_at = min(group.first_at, self.first_at if self.first_at is not None else group.first_at)
        self.last_at = max(group.last_at, self.last_at if self.last_at is not None else group.last_at)
        key = f"{group.model_name}:{group.model_version}"
        self.versions[key] = self.versions.get(key, 0) + group.rows
        if group.label is None or group.probability_bin == UNLABELLED_BIN:
            return
        label = 1 if group.label else 0
        self.labelled += group.rows
        self.counts[label, group.probability_bin] += group.rows
        self.sums[label, group.probability_bin] += group.probability_sum
        self.positives_predicted[label] += group.predicted_positive
        # sum over rows of (p - y)^2 = sum p^2 - 2 y sum p + y n
        self.squared_error_sum += group.probability_squares - 2 * label * group.probability_sum + label * group.rows

    def confusion(self) -> dict[str, int]:
        positives, negatives = int(self.counts[1].sum()), int(self.counts[0].sum())
        tp, fp = int(self.positives_predicted[1]), int(self.positives_predicted[0])
        return {"tp": tp, "fp": fp, "fn": positives - tp, "tn": negatives - fp}

    def figures(self, min_labelled: int) -> dict[str, float | None]:
        """The window's values by name; label metrics are None below `min_labelled` labelled rows."""
        figures: dict[str, float | None] = {
            "requests": float(self.requests),
            "positive_rate": _ratio(self.predicted_positive, self.requests),
            "mean_probability": _ratio(self.probability_sum, self.requests),
            "latency_mean_ms": _ratio(self.latency_sum, self.latency_rows),
            "latency_max_ms": self.latency_max,
            "labelled": float(self.labelled),
        }
        quantiles: list[float | None] = [*self.latency_quantiles] if self.latency_quantiles else [None] * len(QUANTILES)
        for level, value in zip(QUANTILES, quantiles, strict=True):
            figures[f"latency_p{round(level * 100)}_ms"] = value
        labelled = self.labelled >= min_labelled
        metrics = label_metrics(self) if labelled else {}
        for name in (*FLOOR_METRICS, *CEILING_METRICS, "label_rate", "roc_auc_error_bound", *BAND_NAMES):
            figures[name] = metrics.get(name)
        return figures


def window_traffic(groups: Iterable[TrafficGroup], windows: int) -> list[WindowTraffic]:
    """The traffic groups summed per window (index 0 = oldest)."""
    summed = [WindowTraffic() for _ in range(windows)]
    for group in groups:
        summed[group.window].add(group)
    return summed


def label_metrics(traffic: WindowTraffic) -> dict[str, float | None]:
    """Accuracy, precision, recall, F1, ROC AUC (+ its error bound), Brier, ECE and the observed label rate."""
    confusion = traffic.confusion()
    tp, fp, fn, tn = confusion["tp"], confusion["fp"], confusion["fn"], confusion["tn"]
    total = tp + fp + fn + tn
    precision = _ratio(tp, tp + fp) or 0.0  # zero_division=0, as cml_mlops.metrics
    recall = _ratio(tp, tp + fn) or 0.0
    auc, bound = binned_roc_auc(traffic.counts[1], traffic.counts[0])
    bands = {
        "accuracy": wilson_interval(tp + tn, total),
        "precision": wilson_interval(tp, tp + fp),
        "recall": wilson_interval(tp, tp + fn),
        "roc_auc": hanley_mcneil_interval(auc, tp + fn, fp + tn),
    }
    return {
        **{f"{name}_{side}": band[index] for name, band in bands.items() for index, side in enumerate(("low", "high"))},
        "accuracy": _ratio(tp + tn, total),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0,
        "roc_auc": auc,
        "roc_auc_error_bound": bound,
        "brier": _ratio(traffic.squared_error_sum, total),
        "ece": expected_calibration_error(traffic.counts, traffic.sums),
        "label_rate": _ratio(tp + fn, total),
    }


def binned_roc_auc(
    positives: Sequence[int] | np.ndarray, negatives: Sequence[int] | np.ndarray
) -> tuple[float | None, float | None]:
    """ROC AUC of scores known by bin (ascending), ties within a bin counted half; and the largest possible
    difference from the exact AUC of the unbinned scores. None when a class is absent."""
    positive = np.asarray(positives, dtype=float)
    negative = np.asarray(negatives, dtype=float)
    pairs = positive.sum() * negative.sum()
    if pairs == 0:
        return None, None
    negatives_below = np.cumsum(negative) - negative
    same_bin = float(np.sum(positive * negative))
    auc = (float(np.sum(positive * negatives_below)) + 0.5 * same_bin) / pairs
    return auc, 0.5 * same_bin / pairs


def wilson_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float | None, float | None]:
    """The Wilson score interval of a proportion (scipy's), (None, None) without trials."""
    if trials <= 0:
        return None, None
    interval = stats.binomtest(int(successes), int(trials)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def hanley_mcneil_interval(
    auc: float | None, positives: int, negatives: int, confidence: float = CONFIDENCE
) -> tuple[float | None, float | None]:
    """A normal interval around ROC AUC with Hanley and McNeil's standard error, clipped to [0, 1]."""
    if auc is None or positives <= 0 or negatives <= 0:
        return None, None
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) / (
        positives * negatives
    )
    half = float(stats.norm.ppf(0.5 + confidence / 2)) * float(np.sqrt(max(variance, 0.0)))
    return max(0.0, auc - half), min(1.0, auc + half)


def calibration_curve(counts: np.ndarray, sums: np.ndarray, bins: int = CALIBRATION_BINS) -> list[dict[str, float]]:
    """Per equal-width bin with rows: rows, mean predicted probability, observed positive rate."""
    per_bin = PROBABILITY_BINS // bins
    rows = counts.reshape(2, bins, per_bin).sum(axis=2)
    predicted = sums.reshape(2, bins, per_bin).sum(axis=2).sum(axis=0)
    total = rows.sum(axis=0)
    return [
        {
            "bin": index,
            "rows": int(total[index]),
            "predicted": float(predicted[index] / total[index]),
            "observed": float(rows[1, index] / total[index]),
        }
        for index in range(bins)
        if total[index] > 0
    ]


def expected_calibration_error(counts: np.ndarray, sums: np.ndarray) -> float | None:
    curve = calibration_curve(counts, sums)
    rows = sum(point["rows"] for point in curve)
    if rows == 0:
        return None
    return sum(point["rows"] * abs(point["predicted"] - point["observed"]) for point in curve) / rows


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else float(numerator) / float(denominator)

"""Binary-classification metrics used by training, gates and monitoring: one definition each, by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy and scikit-learn are imported by the functions: the config validates names from here
    import numpy as np


def lift_top_decile(y_true: np.ndarray, probability: np.ndarray) -> float:
    """Positive rate among the 10% highest-scored rows, divided by the overall positive rate."""
    import numpy as np

    y_true = np.asarray(y_true, dtype=float)
    base_rate = y_true.mean()
    if len(y_true) == 0 or base_rate == 0:
        return float("nan")
    top = max(1, int(np.ceil(0.1 * len(y_true))))
    order = np.argsort(-np.asarray(probability), kind="stable")[:top]
    return float(y_true[order].mean() / base_rate)


@dataclass(frozen=True)
class Metric:
    """How to compute a metric and which direction is better (gates turn floors into ceilings for losses)."""

    name: str
    needs_labels: bool  # True: computed on predicted labels at the threshold; False: on probabilities
    higher_is_better: bool
    compute: Callable[[np.ndarray, np.ndarray], float]


def _sklearn(name: str, **options: object) -> Callable[[np.ndarray, np.ndarray], float]:
    """sklearn.metrics.<name> as a float metric. scikit-learn is imported at the first call, not here: the config
    validates metric names against METRICS, and commands that load the config must not pay for scikit-learn."""

    def compute(y: np.ndarray, values: np.ndarray) -> float:
        from sklearn import metrics as skm

        return float(getattr(skm, name)(y, values, **options))

    return compute


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("roc_auc", False, True, _sklearn("roc_auc_score")),
        Metric("pr_auc", False, True, _sklearn("average_precision_score")),
        Metric("log_loss", False, False, _sklearn("log_loss", labels=[0, 1])),
        Metric("brier", False, False, _sklearn("brier_score_loss")),
        Metric("lift_top_decile", False, True, lift_top_decile),
        Metric("accuracy", True, True, _sklearn("accuracy_score")),
        Metric("precision", True, True, _sklearn("precision_score", zero_division=0)),
        Metric("recall", True, True, _sklearn("recall_score", zero_division=0)),
        Metric("f1", True, True, _sklearn("f1_score", zero_division=0)),
    )
}
# The values each metric can take: a floor or ceiling outside them is a typo (0.75 meant, 75 written).
METRIC_RANGES: dict[str, tuple[float, float]] = {
    "roc_auc": (0.0, 1.0),
    "pr_auc": (0.0, 1.0),
    "log_loss": (0.0, float("inf")),
    "brier": (0.0, 1.0),
    "lift_top_decile": (0.0, float("inf")),
    "accuracy": (0.0, 1.0),
    "precision": (0.0, 1.0),
    "recall": (0.0, 1.0),
    "f1": (0.0, 1.0),
    "ece": (0.0, 1.0),  # expected calibration error (monitoring)
}


def out_of_range(limits: Mapping[str, float], *, margins: bool = False) -> list[str]:
    """The `metric: value` limits outside the values the metric can take (margins: at most the range's width)."""
    problems = []
    for name, value in limits.items():
        low, high = METRIC_RANGES.get(name, (float("-inf"), float("inf")))
        if margins:
            low, high = 0.0, high - low
        if not low <= value <= high:
            problems.append(f"{name} {value} is outside [{low:g}, {high:g}]")
    return problems


# Selection and gate metrics must rank models: accuracy does not on imbalanced data (all "no" scores ~88%).
RANKING_METRICS = tuple(name for name in METRICS if name != "accuracy")


def compute_metrics(y_true: np.ndarray, probability: np.ndarray, threshold: float) -> dict[str, float]:
    """Every metric for 0/1 targets and positive-class probabilities, labels taken at `threshold`."""
    import numpy as np

    y_true = np.asarray(y_true).astype(int)
    probability = np.asarray(probability, dtype=float)
    labels = (probability >= threshold).astype(int)
    both_classes = 0 < y_true.sum() < len(y_true)
    results = {}
    for name, metric in METRICS.items():
        if not metric.needs_labels and name in ("roc_auc", "pr_auc") and not both_classes:
            results[name] = float("nan")  # undefined with one class present
            continue
        results[name] = metric.compute(y_true, labels if metric.needs_labels else probability)
    return results


def best_threshold(
    y_true: np.ndarray, probability: np.ndarray, *, objective: str, contact_budget: float = 0.1
) -> float:
    """The decision threshold that maximises `objective` on these rows (the validation split).

    `f1`: the F1-maximising cut. `precision_at_budget`: contact the top `contact_budget` share of rows, i.e. the
    threshold is that quantile of the scores (precision is then what the budget buys).
    """
    import numpy as np

    y_true = np.asarray(y_true).astype(int)
    probability = np.asarray(probability, dtype=float)
    if objective == "precision_at_budget":
        if not 0 < contact_budget < 1:
            raise ValueError(f"contact_budget must be in (0, 1), got {contact_budget}")
        return float(np.quantile(probability, 1 - contact_budget))
    if objective != "f1":
        raise ValueError(f"unknown threshold objective {objective!r}: use 'f1' or 'precision_at_budget'")
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y_true, probability)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    if len(thresholds) == 0:
        return 0.5
    return float(thresholds[int(np.argmax(f1[:-1]))])

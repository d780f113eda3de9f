"""Non-inferiority per data source, and the check that the champion never trained on a test row.

Pooled over sources with different base rates (history, a drifted batch, a synthetic batch), a ranking metric such
as ROC AUC rewards a model for telling the sources apart rather than the classes within each: issue 16 saw a
champion score 0.826 and 0.745 on two sources and 0.846 on both together. So the gate compares the two models
within each source and combines the paired differences with fixed weights (each source's share of the test rows):

    D = sum_s w_s * (challenger_s - champion_s)

Its bound comes from a stratified paired bootstrap: each replicate redraws rows within every source and class
separately (positives from positives, negatives from negatives), so every source keeps its size and base rate and
its metric stays defined; the one-sided bound at `confidence` is the percentile of D over the replicates. A source
whose metric is undefined on its observed rows (one class only) gets no weight and is reported as such.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cml_mlops.config import NonInferioritySection
from cml_mlops.gates.bootstrap import MAX_CELLS, resample_counts, weighted_metric
from cml_mlops.gates.checks import DATA, NON_INFERIORITY, CheckResult, compare, known_metric
from cml_mlops.metrics import METRICS


@dataclass(frozen=True)
class SourceScore:
    """Both models on the test rows of one data source."""

    source: str
    rows: int
    positives: int
    challenger: float
    champion: float
    weight: float  # share of the combined difference; 0 when the metric is undefined here

    @property
    def difference(self) -> float:
        return self.challenger - self.champion


@dataclass(frozen=True)
class SourceComparison:
    """The weighted per-source difference challenger - champion and its one-sided bootstrap bounds."""

    metric: str
    sources: list[SourceScore]
    difference: float
    lower: float
    upper: float
    confidence: float
    samples: int


def compare_by_source(
    y_true: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray,
    sources: np.ndarray,
    *,
    metric: str,
    thresholds: tuple[float, float] = (0.5, 0.5),
    samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> SourceComparison:
    """Per-source paired differences, weighted by test rows, bounded by a bootstrap stratified by source and class."""
    y = np.asarray(y_true).astype(int)
    labels = np.asarray(sources).astype(str)
    if len(y) == 0:
        raise ValueError("no rows to compare")
    if not 0.5 < confidence < 1:
        raise ValueError(f"confidence must be in (0.5, 1), got {confidence}")
    scores = (np.asarray(challenger, dtype=float), np.asarray(champion, dtype=float))
    rng = np.random.default_rng(seed)
    rows: list[SourceScore] = []
    replicates: list[np.ndarray] = []
    for name in sorted(set(labels)):
        mask = labels == name
        challenger_score, champion_score = (
            _metric(metric, y[mask], s[mask], t) for s, t in zip(scores, thresholds, strict=True)
        )
        defined = not (np.isnan(challenger_score) or np.isnan(champion_score))
        size = int(mask.sum())
        rows.append(
            SourceScore(name, size, int(y[mask].sum()), challenger_score, champion_score, float(size) * defined)
        )
        if defined:
            replicates.append(_replicates(metric, y[mask], [s[mask] for s in scores], thresholds, samples, rng))
    total = sum(row.weight for row in rows)
    if total == 0:
        raise ValueError(f"{metric} is undefined on every data source of the test rows (one class only?)")
    rows = [dataclasses.replace(row, weight=row.weight / total) for row in rows]
    weights = np.array([row.weight for row in rows if row.weight > 0])
    combined = np.stack(replicates, axis=1) @ weights
    return SourceComparison(
        metric=metric,
        sources=rows,
        difference=float(sum(row.weight * row.difference for row in rows if row.weight > 0)),
        lower=float(np.quantile(combined, 1 - confidence)),
        upper=float(np.quantile(combined, confidence)),
        confidence=confidence,
        samples=samples,
    )


def _metric(metric: str, y: np.ndarray, scores: np.ndarray, threshold: float) -> float:
    return float(weighted_metric(metric, y, scores, threshold, np.ones((1, len(y))))[0])


def _replicates(
    metric: str,
    y: np.ndarray,
    scores: list[np.ndarray],
    thresholds: tuple[float, float],
    samples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """`samples` bootstrap differences on one source, redrawing positives and negatives separately."""
    cells = [cell for cell in (np.flatnonzero(y == 1), np.flatnonzero(y == 0)) if len(cell)]
    block = max(1, min(samples, MAX_CELLS // max(len(y), 1)))
    out: list[np.ndarray] = []
    done = 0
    while done < samples:
        size = min(block, samples - done)
        counts = np.zeros((size, len(y)))
        for cell in cells:  # one block of `size` samples per class (size x cell rows fit in MAX_CELLS)
            counts[:, cell] = next(resample_counts(len(cell), size, rng))
        values = [weighted_metric(metric, y, s, t, counts) for s, t in zip(scores, thresholds, strict=True)]
        out.append(values[0] - values[1])
        done += size
    return np.concatenate(out)


def non_inferiority_check(
    y_true: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray,
    *,
    sources: np.ndarray | None = None,
    thresholds: tuple[float, float],
    settings: NonInferioritySection,
    seed: int,
    champion_version: str,
) -> CheckResult:
    """Pass when the bound of the weighted per-source difference challenger - champion stays within the margin.

    For gains the lower bound must be >= -margin; for losses (mirrored) the upper bound must be <= +margin.
    `sources`: each test row's data source (None: all rows one source). A failure names the sources that lost.
    """
    name = known_metric(settings.metric)
    better_high = METRICS[name].higher_is_better
    labels = np.full(len(y_true), "all") if sources is None else np.asarray(sources)
    result = compare_by_source(
        y_true,
        challenger,
        champion,
        labels,
        metric=name,
        thresholds=thresholds,
        samples=settings.bootstrap_samples,
        confidence=settings.confidence,
        seed=seed,
    )
    bound = result.lower if better_high else result.upper
    limit = -settings.margin if better_high else settings.margin
    passed = compare(bound, limit, better_high)
    side = "lower" if better_high else "upper"
    worse = [s for s in result.sources if s.weight > 0 and (s.difference < 0 if better_high else s.difference > 0)]
    losers = "; worse on " + ", ".join(f"{s.source} ({s.difference:+.4f})" for s in worse) if worse else ""
    return CheckResult(
        NON_INFERIORITY,
        f"vs champion v{champion_version}",
        "passed" if passed else "failed",
        metric=name,
        value=bound,
        operator=">=" if better_high else "<=",
        threshold=limit,
        detail=(
            f"per-source difference {result.difference:+.4f} over {len(result.sources)} source(s); "
            f"{settings.confidence:.0%} {side} bound {bound:+.4f}; margin {settings.margin:g}; "
            f"{result.samples} resamples stratified by source and class" + ("" if passed else losers)
        ),
        data={
            "champion_version": champion_version,
            "method": "per-source paired differences, weighted by test rows; stratified bootstrap",
            "difference": result.difference,
            "lower": result.lower,
            "upper": result.upper,
            "confidence": result.confidence,
            "margin": settings.margin,
            "samples": result.samples,
            "sources": [
                {
                    "source": s.source,
                    "rows": s.rows,
                    "positives": s.positives,
                    "challenger": s.challenger,
                    "champion": s.champion,
                    "difference": s.difference,
                    "weight": s.weight,
                }
                for s in result.sources
            ],
        },
    )


def overlap_check(test_keys: pd.Series, champion_record: pd.DataFrame | None, champion_version: str) -> CheckResult:
    """Fail (closed) when a test row is among the champion's training or validation rows, or when unknown."""
    name = f"test rows unseen by champion v{champion_version}"
    if champion_record is None:
        return CheckResult(
            DATA,
            name,
            "failed",
            detail=(
                f"champion v{champion_version} has no record of its rows' parts and none can be rebuilt (no logged "
                "splits or training snapshot), so its score on these rows may be inflated: the gate fails closed"
            ),
        )
    seen = champion_record[champion_record["part"].isin(["train", "validation"])]
    parts = test_keys.map(dict(zip(seen["row_key"], seen["part"], strict=True)))
    counts = {part: int((parts == part).sum()) for part in ("train", "validation")}
    leaked = sum(counts.values())
    detail = (
        f"{leaked} of {len(test_keys)} test rows were in champion v{champion_version}'s training "
        f"({counts['train']}) or validation ({counts['validation']}) rows: its score on them is inflated, the gate "
        "fails closed"
        if leaked
        else f"none of {len(test_keys)} test rows was in champion v{champion_version}'s training or validation rows"
    )
    return CheckResult(
        DATA,
        name,
        "failed" if leaked else "passed",
        value=float(leaked),
        operator="<=",
        threshold=0.0,
        detail=detail,
        data=counts,
    )

"""Per-segment floors: one segment per value of each categorical column, and bands [low, high) of numeric columns.

A segment with fewer than `min_rows` rows, or with one class only, is reported as skipped: its metrics would be
noise (or undefined), and gating on noise blocks good models at random.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np
import pandas as pd

from cml_mlops.config import SegmentsSection
from cml_mlops.gates.checks import SEGMENT, CheckResult, error_result, floor_checks, skipped
from cml_mlops.metrics import compute_metrics


@dataclass(frozen=True)
class Segment:
    name: str  # e.g. "job=retired", "age in [30, 40)"
    mask: np.ndarray


def segments(frame: pd.DataFrame, settings: SegmentsSection) -> Iterator[Segment]:
    """The configured segments of `frame`; a missing column or bad edges raise ValueError naming them."""
    for column in settings.columns:
        values = _column(frame, column)
        for value in sorted(values.dropna().unique(), key=str):
            yield Segment(f"{column}={value}", (values == value).to_numpy())
    for column, edges in settings.bands.items():
        if len(edges) < 2 or any(high <= low for low, high in pairwise(edges)):
            raise ValueError(f"gates.segments.bands.{column}: edges must be at least two increasing numbers: {edges}")
        values = pd.to_numeric(_column(frame, column), errors="raise")
        for low, high in pairwise(edges):
            yield Segment(f"{column} in [{low:g}, {high:g})", ((values >= low) & (values < high)).to_numpy())


def segment_checks(
    frame: pd.DataFrame, y_true: np.ndarray, probability: np.ndarray, threshold: float, settings: SegmentsSection
) -> list[CheckResult]:
    """Floors on each large-enough segment; small or one-class segments are skipped, with the reason."""
    y = np.asarray(y_true).astype(int)
    p = np.asarray(probability, dtype=float)
    results: list[CheckResult] = []
    try:
        for segment in segments(frame, settings):
            rows = int(segment.mask.sum())
            positives = int(y[segment.mask].sum())
            if rows < settings.min_rows:
                results.append(skipped(SEGMENT, segment.name, f"{rows} rows < min_rows {settings.min_rows}", rows=rows))
            elif positives in (0, rows):
                results.append(skipped(SEGMENT, segment.name, f"one class only ({rows} rows)", rows=rows))
            else:
                metrics = compute_metrics(y[segment.mask], p[segment.mask], threshold)
                for check in floor_checks(metrics, settings.floors, kind=SEGMENT, prefix=f"{segment.name}: "):
                    results.append(_with_rows(check, rows, positives))
    except Exception as exc:  # a bad segment setting fails the gate; segments done so far still show
        results.append(error_result(SEGMENT, "segments", exc))
    return results


def _column(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        raise ValueError(f"segment column {column!r} is not in the test split (columns: {', '.join(map(str, frame))})")
    return frame[column]


def _with_rows(check: CheckResult, rows: int, positives: int) -> CheckResult:
    detail = f"{rows} rows, {positives} positive" + (f"; {check.detail}" if check.detail else "")
    return replace(check, detail=detail, data={"rows": rows, "positives": positives})

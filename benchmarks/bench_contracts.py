"""Contract validation throughput on 1M rows: pandera (the project's RawDataset) vs hand-written pandas checks.

Target (issue 2): pandera within 2x of the hand-written vectorized checks of the same rules; peak memory reported.
"""

from __future__ import annotations

from types import ModuleType

import pandas as pd

from benchmarks.harness import BenchResult, best_seconds, peak_memory_mb
from benchmarks.project import contracts, resampled
from cml_mlops.contracts import validate_frame

ROWS = 1_000_000
INT_RANGES = {
    "age": (18, 100), "balance": (-1_000_000, 10_000_000), "day": (1, 31), "duration": (0, 100_000),
    "campaign": (1, 1_000), "pdays": (-1, 10_000), "previous": (0, 1_000),
}  # fmt: skip


def hand_written_checks(frame: pd.DataFrame, c: ModuleType) -> list[str]:
    """The same rules as the bank contract, written directly in vectorized pandas; returns failed rule names."""
    failed = []
    expected = list(c.RawRecord.to_schema().columns)
    if set(frame.columns) != set(expected):
        failed.append("columns")
    typed = frame.copy()
    for column, (low, high) in INT_RANGES.items():
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.isna().any():
            failed.append(f"{column}:dtype")
        typed[column] = values.astype("int64")
        if not values.between(low, high).all():
            failed.append(f"{column}:range")
    categories = {
        "job": c.JOBS, "marital": c.MARITAL, "education": c.EDUCATION, "default": c.YES_NO, "housing": c.YES_NO,
        "loan": c.YES_NO, "contact": c.CONTACT, "month": c.MONTHS, "poutcome": c.POUTCOME, "y": c.LABELS,
    }  # fmt: skip
    for column, allowed in categories.items():
        if frame[column].isna().any():
            failed.append(f"{column}:null")
        if not frame[column].isin(allowed).all():
            failed.append(f"{column}:isin")
    if len(typed) < c.MIN_ROWS:
        failed.append("enough_rows")
    rate = (typed["y"] == c.POSITIVE_LABEL).mean()
    if not c.POSITIVE_RATE_BAND[0] <= rate <= c.POSITIVE_RATE_BAND[1]:
        failed.append("positive_rate_in_band")
    if typed.duplicated().mean() > c.MAX_DUPLICATE_SHARE:
        failed.append("few_duplicates")
    return failed


def run() -> list[BenchResult]:
    c = contracts()
    frame = resampled(ROWS)
    report = validate_frame(frame, c.RawDataset)
    assert report.passed, report.to_markdown()
    assert hand_written_checks(frame, c) == [], "the hand-written checks must agree with the contract"
    pandera_seconds = best_seconds(lambda: validate_frame(frame, c.RawDataset), repeat=3)
    hand_seconds = best_seconds(lambda: hand_written_checks(frame, c), repeat=3)
    pandera_peak = peak_memory_mb(lambda: validate_frame(frame, c.RawDataset))
    hand_peak = peak_memory_mb(lambda: hand_written_checks(frame, c))
    input_mb = frame.memory_usage(deep=True).sum() / 2**20
    details = {
        "rows": ROWS,
        "pandera_seconds": round(pandera_seconds, 3),
        "hand_written_seconds": round(hand_seconds, 3),
        "pandera_rows_per_second": round(ROWS / pandera_seconds),
        "pandera_peak_memory_mb": round(pandera_peak, 1),
        "hand_written_peak_memory_mb": round(hand_peak, 1),
        "input_frame_mb": round(input_mb, 1),
    }
    return [
        BenchResult(
            name="contract_validation_1m_rows",
            value=pandera_seconds,
            unit="s",
            baseline_name="hand-written vectorized pandas checks",
            baseline_value=hand_seconds,
            target="ratio <= 2.0",
            passed=pandera_seconds <= 2.0 * hand_seconds,
            details=details,
        ),
        BenchResult(
            name="contract_validation_peak_memory",
            value=pandera_peak,
            unit="MB",
            baseline_name="hand-written vectorized pandas checks",
            baseline_value=hand_peak,
            target="reported (no target)",
            passed=True,
            details=details,
        ),
    ]

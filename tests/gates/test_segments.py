"""Segment floors on bank.csv: one segment per job, bands of age; small and one-class segments are skipped."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cml_mlops.config import SegmentsSection
from cml_mlops.gates.segments import segment_checks, segments


def outcomes(frame: pd.DataFrame) -> np.ndarray:
    return (frame["y"] == "yes").to_numpy().astype(int)


def informative_scores(y: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(0.3 * y + 0.7 * rng.random(len(y)), 0, 1)


def test_each_value_and_band_is_a_segment(bank_frame: pd.DataFrame) -> None:
    settings = SegmentsSection(columns=["marital"], bands={"age": [18, 40, 101]})
    found = {segment.name: int(segment.mask.sum()) for segment in segments(bank_frame, settings)}
    assert found == {
        "marital=divorced": int((bank_frame["marital"] == "divorced").sum()),
        "marital=married": int((bank_frame["marital"] == "married").sum()),
        "marital=single": int((bank_frame["marital"] == "single").sum()),
        "age in [18, 40)": int((bank_frame["age"] < 40).sum()),
        "age in [40, 101)": int((bank_frame["age"] >= 40).sum()),
    }


def test_segments_below_min_rows_are_skipped_not_gated(bank_frame: pd.DataFrame) -> None:
    y = outcomes(bank_frame)
    settings = SegmentsSection(columns=["job"], min_rows=400, floors={"roc_auc": 0.99})
    results = {r.name.split(":")[0]: r for r in segment_checks(bank_frame, y, informative_scores(y), 0.5, settings)}
    sizes = bank_frame["job"].value_counts()
    for job, rows in sizes.items():
        result = results[f"job={job}"]
        if rows < 400:
            assert result.status == "skipped" and f"{rows} rows < min_rows 400" in result.detail
        else:
            assert result.status == "failed" and result.data["rows"] == rows  # gated: 0.99 is out of reach
    assert any(r.status == "skipped" for r in results.values()) and any(r.failed for r in results.values())


def test_a_one_class_segment_is_skipped(bank_frame: pd.DataFrame) -> None:
    frame = bank_frame.assign(y=np.where(bank_frame["contact"] == "telephone", "no", bank_frame["y"]))
    y = outcomes(frame)
    settings = SegmentsSection(columns=["contact"], min_rows=50, floors={"roc_auc": 0.5})
    results = {r.name.split(":")[0]: r for r in segment_checks(frame, y, informative_scores(y), 0.5, settings)}
    assert results["contact=telephone"].status == "skipped" and "one class" in results["contact=telephone"].detail
    assert results["contact=cellular"].status == "passed"


def test_a_missing_column_or_bad_edges_fail_the_segments_check(bank_frame: pd.DataFrame) -> None:
    y = outcomes(bank_frame)
    p = informative_scores(y)
    [missing] = segment_checks(bank_frame, y, p, 0.5, SegmentsSection(columns=["region"]))
    assert missing.failed and "segment column 'region' is not in the test split" in missing.detail
    [bad] = segment_checks(bank_frame, y, p, 0.5, SegmentsSection(bands={"age": [60, 30]}))
    assert bad.failed and "increasing" in bad.detail

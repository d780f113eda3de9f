"""training.max_rows: a table larger than it trains on a stratified, reproducible, recorded sample."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cml_mlops.config import load_config
from cml_mlops.training.data import load_training_data
from cml_mlops.training.sampling import stratified_sample
from tests.steps.conftest import loaded_project

__all__ = ["loaded_project"]


@settings(max_examples=40, deadline=None)
@given(
    labels=st.lists(st.sampled_from(["yes", "no", "maybe"]), min_size=1, max_size=300),
    max_rows=st.integers(min_value=1, max_value=300),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_a_stratified_sample_keeps_each_class_share_and_the_row_order(
    labels: list[str], max_rows: int, seed: int
) -> None:
    frame = pd.DataFrame({"y": labels, "position": range(len(labels))})

    sample = stratified_sample(frame, "y", max_rows, seed)

    if len(frame) <= max_rows:
        assert sample is frame
        return
    counts = frame["y"].value_counts()
    assert len(sample) <= max_rows + len(counts)  # at least one row of a class, even a rare one
    assert sample["position"].is_monotonic_increasing and sample["position"].is_unique
    for label, count in counts.items():
        kept = int((sample["y"] == label).sum())
        assert abs(kept - count * max_rows / len(frame)) <= 1 or kept == 1
    pd.testing.assert_frame_equal(sample, stratified_sample(frame, "y", max_rows, seed))


def _limit_rows(project: Path, max_rows: int) -> None:
    path = project / "cml-mlops.yaml"
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    content.setdefault("training", {})["max_rows"] = max_rows
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")


@pytest.mark.spark
@pytest.mark.parametrize("engine", ["pyiceberg", "spark"])
def test_training_reads_a_recorded_stratified_sample_on_both_engines(
    spark: object, loaded_project: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    monkeypatch.setenv("CML_MLOPS_LAKE_ENGINE", engine)
    _limit_rows(loaded_project, 2_000)
    config = load_config(loaded_project)

    data = load_training_data(config)

    assert data.sample is not None
    assert (data.sample.source_rows, data.sample.rows, data.sample.stratified_by) == (4_521, len(data.frame), "y")
    assert 1_990 <= len(data.frame) <= 2_000
    positives = float((data.frame["y"] == "yes").mean())
    assert abs(positives - 521 / 4_521) < 0.005  # bank.csv: 521 positives
    assert data.sample.tags()["cml_mlops.sample.source_rows"] == "4521"

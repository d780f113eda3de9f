"""Prediction records refuse what the store would misread; spill files round-trip and name a broken line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cml_mlops.monitoring.store import InvalidRecord, LabelRecord, PredictionRecord, StoreError, read_spill
from cml_mlops.monitoring.store.spill import SpillFile
from tests.monitoring.store.helpers import prediction

feature_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)  # fmt: skip
records = st.builds(
    PredictionRecord,
    prediction_id=st.text(st.characters(codec="utf-8"), min_size=1, max_size=64),
    requested_at=st.floats(0, 4e9),
    model_name=st.text(max_size=20),
    model_version=st.text(max_size=8),
    features=st.dictionaries(st.text(max_size=10), feature_values, max_size=6),
    probability=st.floats(0.0, 1.0),
    prediction=st.sampled_from([0, 1]),
    latency_ms=st.none() | st.floats(0, 1e5),
    scenario=st.sampled_from(["", "holdout", "drift-replay"]),
)
labels = st.builds(
    LabelRecord, prediction_id=st.text(min_size=1, max_size=64), label=st.sampled_from([0, 1]),
    labelled_at=st.floats(0, 4e9),
)  # fmt: skip


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spilled=st.lists(records, max_size=5), spilled_labels=st.lists(labels, max_size=5))
def test_spilled_records_read_back_equal(tmp_path: Path, spilled: list, spilled_labels: list) -> None:  # type: ignore[type-arg]
    spill = SpillFile(tmp_path / f"spill-{id(spilled)}")
    spill.write(spilled, spilled_labels)
    if not spilled and not spilled_labels:
        assert spill.path is None
        return
    assert spill.path is not None
    assert read_spill(spill.path) == (spilled, spilled_labels)
    spill.path.unlink()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"probability": 1.5}, "probability 1.5 is not in"),
        ({"probability": float("nan")}, "is not in"),
        ({"prediction": 2}, "prediction must be 0 or 1"),
        ({"requested_at": float("inf")}, "requested_at must be epoch seconds"),
        ({"features": {"balance": float("nan")}}, "feature balance is nan; send null instead"),
        ({"features": ["not", "a", "mapping"]}, "features must be a mapping"),
        ({"features": {"called": {1, 2}}}, "feature called is a set, which JSON cannot hold"),
        ({"features": {"nested": [1.0, float("inf")]}}, "feature nested is a list, which JSON cannot hold"),
    ],
)
def test_records_the_store_would_misread_are_refused(changes: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidRecord, match=message):
        prediction(**changes)


def test_a_broken_spill_line_is_named(tmp_path: Path) -> None:
    spill = SpillFile(tmp_path)
    spill.write([prediction(1)])
    assert spill.path is not None
    with spill.path.open("a", encoding="utf-8") as handle:
        handle.write('{"kind": "prediction", "prediction_id": "x"}\n')
    with pytest.raises(StoreError, match=r"line 2 is not a spilled prediction or label"):
        read_spill(spill.path)
    with pytest.raises(StoreError, match="no spill file"):
        read_spill(tmp_path / "missing.jsonl")

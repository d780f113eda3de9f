"""The SQL aggregations against the same computation in numpy: histograms, latency percentiles, bad values."""

from __future__ import annotations

import uuid
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from cml_mlops.monitoring import queries
from cml_mlops.monitoring.dialect import StoreDialect
from cml_mlops.monitoring.profile import build_profile
from cml_mlops.monitoring.queries import _Item, packs
from cml_mlops.monitoring.windows import WindowPlan
from tests.monitoring.helpers import START, write_rows

LENGTH = 3600.0
WINDOWS = 4


def _frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 95, rows),
            "balance": np.round(rng.normal(1000, 3000, rows), 2),
            "job": rng.choice(["admin.", "technician", "student", "retired"], rows, p=[0.4, 0.3, 0.2, 0.1]),
            "flag": rng.choice([True, False], rows),
        }
    )


def _documents(frame: pd.DataFrame, rng: np.random.Generator) -> list[dict[str, object]]:
    """Feature documents as a client sends them: some keys absent, some null, some unseen categories."""
    documents = frame.to_dict(orient="records")
    for document in documents:
        draw = rng.random()
        if draw < 0.05:
            del document["age"]
        elif draw < 0.10:
            document["balance"] = None
        elif draw < 0.15:
            document["job"] = "astronaut"
        document["flag"] = bool(document["flag"])
    return documents


@pytest.fixture
def logged(monitor_engine: Engine) -> tuple[pd.DataFrame, list[dict[str, object]], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    frame = _frame(1500, seed=2)
    documents = _documents(frame, rng)
    times = START - rng.uniform(0, WINDOWS * LENGTH, len(frame))
    probability = rng.beta(2, 5, len(frame))
    latency = rng.gamma(2.0, 10.0, len(frame))
    rows = [
        {
            "prediction_id": uuid.uuid4().hex,
            "requested_at": float(moment),
            "model_name": "bank",
            "model_version": "3",
            "features": document,
            "probability": float(p),
            "prediction": int(p >= 0.3),
            "latency_ms": None if index % 10 == 0 else float(delay),
        }
        for index, (document, moment, p, delay) in enumerate(zip(documents, times, probability, latency, strict=True))
    ]
    write_rows(monitor_engine, rows)
    latencies = np.array([np.nan if row["latency_ms"] is None else row["latency_ms"] for row in rows])
    return frame, documents, times, np.column_stack([probability, latencies])


def test_feature_histograms_match_numpy(monitor_engine: Engine, logged) -> None:  # type: ignore[no-untyped-def]
    _, documents, times, extra = logged
    probability = extra[:, 0]
    reference_frame = _frame(3000, seed=5)
    profile = build_profile(
        reference_frame,
        ["age", "balance", "job", "flag"],
        probabilities=np.random.default_rng(0).random(500),
        threshold=0.3,
        label_rate=0.1,
    )
    plan = WindowPlan.ending_at(START, LENGTH, WINDOWS)
    dialect = StoreDialect(monitor_engine.dialect.name)
    with monitor_engine.connect() as connection:
        histograms, warnings = queries.feature_histograms(connection, dialect, plan, "bank", "3", profile)
    assert warnings == []
    windows = np.array([plan.index_of(moment) for moment in times])
    for name in ("age", "balance"):
        reference = profile.feature(name)
        values = np.array([np.nan if document.get(name) is None else document[name] for document in documents], float)
        for window in range(WINDOWS):
            chosen = values[windows == window]
            present = chosen[~np.isnan(chosen)]
            expected = np.bincount(reference.bin_of(present), minlength=len(reference.edges) + 1)  # type: ignore[union-attr]
            assert histograms[name].bins[window].tolist() == expected.tolist()
            assert histograms[name].missing[window] == np.isnan(chosen).sum()
    for name in ("job", "flag"):
        for window in range(WINDOWS):
            chosen = [documents[i][name] for i in np.flatnonzero(windows == window)]
            expected_counts = Counter(
                ("true" if value else "false") if isinstance(value, bool) else str(value) for value in chosen
            )
            assert dict(histograms[name].values[window]) == dict(expected_counts)
    prediction = profile.prediction
    for window in range(WINDOWS):
        expected = np.bincount(prediction.bin_of(probability[windows == window]), minlength=len(prediction.edges) + 1)
        assert histograms["prediction"].bins[window].tolist() == expected.tolist()


def test_booleans_are_profiled_as_the_json_spells_them() -> None:
    profile = build_profile(_frame(100), ["flag"], probabilities=np.array([0.5]), threshold=0.5, label_rate=0.1)
    assert set(profile.feature("flag").categories) == {"true", "false"}  # type: ignore[union-attr]


def test_latency_percentiles_match_numpys_linear_interpolation(monitor_engine: Engine, logged) -> None:  # type: ignore[no-untyped-def]
    _, _, times, extra = logged
    latency = extra[:, 1]
    plan = WindowPlan.ending_at(START, LENGTH, WINDOWS)
    with monitor_engine.connect() as connection:
        found = queries.latency_percentiles(connection, StoreDialect(monitor_engine.dialect.name), plan)
    windows = np.array([plan.index_of(moment) for moment in times])
    for window in range(WINDOWS):
        chosen = latency[(windows == window) & ~np.isnan(latency)]
        assert found[window] == pytest.approx(np.quantile(chosen, queries.QUANTILES), rel=1e-12)


def test_values_that_are_not_numbers_count_as_missing(monitor_engine: Engine) -> None:
    documents = [{"age": 30}, {"age": "thirty"}, {"age": 41.5}, {"age": True}, {"age": None}, {}]
    rows = [
        {
            "prediction_id": uuid.uuid4().hex,
            "requested_at": START - index,
            "model_name": "bank",
            "model_version": "3",
            "features": document,
            "probability": 0.5,
            "prediction": 1,
            "latency_ms": 1.0,
        }
        for index, document in enumerate(documents)
    ]
    write_rows(monitor_engine, rows)
    profile = build_profile(
        pd.DataFrame({"age": [20, 30, 40, 50]}), ["age"], probabilities=np.array([0.5]), threshold=0.5, label_rate=0.1
    )
    plan = WindowPlan.ending_at(START, LENGTH, 1)
    with monitor_engine.connect() as connection:
        histograms, warnings = queries.feature_histograms(
            connection, StoreDialect(monitor_engine.dialect.name), plan, "bank", "3", profile
        )
        # The transaction is still usable after the quick path failed (PostgreSQL).
        assert connection.execute(text("select 1")).scalar() == 1
    assert histograms["age"].bins[0].sum() == 2 and histograms["age"].missing[0] == 4
    if monitor_engine.dialect.name == "postgresql":
        assert len(warnings) == 1 and "not numbers" in warnings[0]


def test_labels_of_unknown_predictions_are_counted_and_ignored(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # SQLite enforces no foreign key unless asked: such labels can exist there (PostgreSQL refuses them).
    from sqlalchemy import create_engine

    from cml_mlops.monitoring.store import migrate

    engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    row = {
        "prediction_id": "known",
        "requested_at": START,
        "model_name": "m",
        "model_version": "1",
        "features": {},
        "probability": 0.9,
        "prediction": 1,
        "latency_ms": 2.0,
    }
    orphan = {"prediction_id": "unknown", "label": 1, "labelled_at": START}
    write_rows(engine, [row], [{"prediction_id": "known", "label": 1, "labelled_at": START}, orphan])
    plan = WindowPlan.ending_at(START, LENGTH, 1)
    with engine.connect() as connection:
        assert queries.orphan_labels(connection) == 1
        groups = queries.traffic(connection, StoreDialect("sqlite"), plan)
    assert sum(group.rows for group in groups) == 1
    assert [group.label for group in groups] == [1]


cardinalities = st.lists(st.integers(2, 120), min_size=1, max_size=20)


@given(cardinalities)
def test_packs_keep_every_item_once_and_their_joint_bins_small(sizes: list[int]) -> None:
    from cml_mlops.monitoring.profile import CategoricalReference

    items = [
        _Item(CategoricalReference(f"f{i}", [str(v) for v in range(size - 2)], [1] * (size - 2)))
        for i, size in enumerate(sizes)
    ]
    grouped = packs(items)
    assert sorted(item.reference.name for group in grouped for item in group) == sorted(i.reference.name for i in items)
    for group in grouped:
        product = int(np.prod([item.cardinality for item in group]))
        assert len(group) == 1 or (product <= queries.PACK_LIMIT and len(group) <= queries.MAX_PACK)

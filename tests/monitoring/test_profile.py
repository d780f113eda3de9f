"""Reference profiles: bins that reproduce the training data, a JSON round trip, logged by training, backfilled."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cml_mlops.lake import open_lake
from cml_mlops.monitoring.profile import (
    MAX_CATEGORIES,
    CategoricalReference,
    NumericReference,
    ProfileError,
    ReferenceProfile,
    build_profile,
    categorical_reference,
    numeric_reference,
)
from cml_mlops.monitoring.profile_store import PROFILE_ARTIFACT, ProfileMissing, ensure_profile, load_profile
from cml_mlops.project import load_feature_spec
from cml_mlops.tracking import configure_mlflow
from tests.steps.conftest import project_config
from tests.support.models import register_test_model
from tests.training.conftest import ONE_CANDIDATE, configure, run_training
from tests.training.conftest import loaded_project as loaded_project

values = st.lists(
    st.one_of(st.floats(-1e9, 1e9, allow_nan=False), st.integers(-1000, 1000), st.none(), st.just(float("nan"))),
    max_size=300,
)


@given(values)
def test_numeric_bins_hold_every_value_once(sample: list[float | None]) -> None:
    reference = numeric_reference("x", sample)
    present = [value for value in sample if value is not None and not np.isnan(value)]
    assert sum(reference.counts) == len(present)
    assert reference.missing == len(sample) - len(present)
    assert reference.edges == sorted(set(reference.edges))
    assert set(reference.psi_edges) <= set(reference.edges)
    assert len(reference.counts) == len(reference.edges) + 1
    expected = np.bincount(reference.bin_of(np.array(present, dtype=float)), minlength=len(reference.edges) + 1)
    assert reference.counts == expected.tolist()
    # Each fine bin nests in one decile bin, in order.
    assert list(reference.psi_groups()) == sorted(reference.psi_groups())


def test_a_discrete_feature_gets_a_bin_per_value() -> None:
    reference = numeric_reference("day", list(range(1, 32)) * 10)
    assert reference.edges == [float(day) for day in range(1, 32)]
    assert reference.counts == [0] + [10] * 31


def test_rare_categories_are_grouped_as_other() -> None:
    names = [f"c{index:03d}" for index in range(MAX_CATEGORIES + 10)]
    sample = [name for index, name in enumerate(names) for _ in range(len(names) - index)] + [None] * 3
    reference = categorical_reference("c", sample)
    assert reference.categories == names[:MAX_CATEGORIES]
    assert reference.other == sum(range(1, 11)) and reference.missing == 3
    assert reference.rows == len(sample)


def test_profiles_round_trip_through_json() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(18, 90, 500), "job": rng.choice(["a", "b", "c"], 500)})
    probabilities = rng.random(200)
    profile = build_profile(frame, ["age", "job"], probabilities=probabilities, threshold=0.4, label_rate=0.12)
    again = ReferenceProfile.from_dict(json.loads(json.dumps(profile.to_dict())))
    assert again == profile
    assert isinstance(again.feature("age"), NumericReference) and isinstance(again.feature("job"), CategoricalReference)
    assert profile.expected_positive_rate == pytest.approx(np.mean(probabilities >= 0.4))
    assert profile.prediction.rows == 200 and profile.rows == 500


def test_a_profile_of_another_format_or_shape_is_refused() -> None:
    with pytest.raises(ProfileError, match="format"):
        ReferenceProfile.from_dict({"format": 99})
    with pytest.raises(ProfileError, match="malformed"):
        ReferenceProfile.from_dict({"format": 1, "features": [{"kind": "numeric"}]})


def test_profiling_names_missing_columns_and_needs_predictions() -> None:
    frame = pd.DataFrame({"age": [30, 40]})
    with pytest.raises(ProfileError, match="no column job"):
        build_profile(frame, ["age", "job"], probabilities=np.array([0.1]), threshold=0.5, label_rate=0.1)
    with pytest.raises(ProfileError, match="held-out predictions"):
        build_profile(frame, ["age"], probabilities=np.array([]), threshold=0.5, label_rate=0.1)


@pytest.mark.slow
def test_training_logs_the_profile_with_the_registered_version(loaded_project: Path) -> None:
    result = run_training(configure(loaded_project, candidates=ONE_CANDIDATE))
    config = project_config(loaded_project)
    profile = load_profile(config, result.model_name, result.model_version)
    assert profile.source == "training"
    assert [item.name for item in profile.features] == result.features
    assert profile.threshold == pytest.approx(result.threshold)
    assert profile.rows == result.split["train_rows"]
    age = profile.feature("age")
    assert isinstance(age, NumericReference) and age.rows == profile.rows
    held_out = result.split["validation_rows"] + result.split["test_rows"]
    assert profile.prediction.rows == held_out
    assert profile.label_rate == pytest.approx(result.split["train_positive_rate"], abs=1e-6)
    # The artifact sits on the selected run, next to the model.
    client = configure_mlflow(config)
    artifacts = [item.path for item in client.list_artifacts(result.selected_run_id, "monitoring")]
    assert artifacts == [PROFILE_ARTIFACT]


@pytest.mark.slow
def test_a_version_without_profile_gets_one_from_its_snapshot(loaded_project: Path) -> None:
    config = project_config(loaded_project)
    with open_lake(config) as lake:
        frame = lake.read(config.lake.table)
        snapshot = lake.current_snapshot(config.lake.table)
    assert snapshot is not None
    version = register_test_model(config, frame, load_feature_spec(config), snapshot_id=snapshot.snapshot_id)
    with pytest.raises(ProfileMissing, match="backfill-profiles"):
        load_profile(config, version.name, version.version)
    made = ensure_profile(config, version.version)
    assert made.source == "backfill"
    assert load_profile(config, version.name, version.version) == made
    assert ensure_profile(config, version.version) == made  # not made twice
    with pytest.raises(ProfileMissing, match="not in the registry"):
        load_profile(config, version.name, "99")

"""The registry: idempotent registration of training runs, aliases, and the gate's record on versions."""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from cml_mlops.config import ProjectConfig
from cml_mlops.features import FeatureSpec
from cml_mlops.registry import (
    alias_version,
    gate_passed,
    get_version,
    register_run,
    remove_alias,
    set_alias,
    set_gate_record,
)
from cml_mlops.tracking import (
    CHALLENGER,
    CHAMPION,
    GATE_REPORT,
    VALIDATION_STATUS,
    Tag,
    TrackingError,
    load_model_version,
)
from tests.registry.conftest import log_run


def versions(config: ProjectConfig) -> list[str]:
    client = MlflowClient(config.tracking_uri(), config.tracking_uri())
    found = client.search_model_versions(f"name = '{config.tracking.model_name}'")
    return sorted(str(version.version) for version in found)


def test_registering_a_run_twice_gives_one_version(
    config: ProjectConfig, bank_frame: pd.DataFrame, bank_spec: FeatureSpec
) -> None:
    run_id = log_run(config, bank_frame, bank_spec)
    first = register_run(config, run_id)
    again = register_run(config, run_id)
    assert str(again.version) == str(first.version) == "1"
    assert versions(config) == ["1"]
    other = register_run(config, log_run(config, bank_frame, bank_spec))
    assert versions(config) == ["1", "2"] and str(other.version) == "2"


def test_a_version_carries_the_run_its_data_snapshot_threshold_and_contract(
    config: ProjectConfig, bank_frame: pd.DataFrame, bank_spec: FeatureSpec
) -> None:
    run_id = log_run(config, bank_frame, bank_spec, snapshot_id=987654321)
    version = get_version(config, register_run(config, run_id))
    assert version.run_id == run_id
    assert version.tags[Tag.RUN_ID] == run_id
    assert version.tags[Tag.SNAPSHOT] == "987654321"
    assert version.tags[Tag.THRESHOLD] == "0.25"
    assert version.tags[Tag.CONTRACT_VERSION] == "1.0.0"
    loaded = load_model_version(config, version=version.version)
    assert loaded.run_id == run_id and loaded.threshold == 0.25
    scored = loaded.predict(bank_frame.head(30))
    assert len(scored) == 30 and set(scored["label"]) <= {"yes", "no"}


def test_runs_that_cannot_serve_are_not_registered(
    config: ProjectConfig, bank_frame: pd.DataFrame, bank_spec: FeatureSpec
) -> None:
    without_tags = log_run(config, bank_frame, bank_spec, conventions=False)
    with pytest.raises(TrackingError, match=r"lacks the tags cml_mlops.threshold, .*cml_mlops.features"):
        register_run(config, without_tags)
    without_model = log_run(config, bank_frame, bank_spec, model=False)
    with pytest.raises(TrackingError, match=r"has no logged model named 'model'"):
        register_run(config, without_model)
    with pytest.raises(TrackingError, match=r"no such run"):
        register_run(config, "0123456789abcdef0123456789abcdef")
    assert versions(config) == []


def test_aliases_point_at_versions_and_move(
    config: ProjectConfig, bank_frame: pd.DataFrame, bank_spec: FeatureSpec
) -> None:
    assert alias_version(config, CHAMPION) is None  # no model registered at all yet
    first = register_run(config, log_run(config, bank_frame, bank_spec))
    second = register_run(config, log_run(config, bank_frame, bank_spec))
    assert alias_version(config, CHAMPION) is None  # the model exists, the alias does not
    set_alias(config, first, CHAMPION)
    set_alias(config, second.version, CHALLENGER)
    assert alias_version(config, CHAMPION).version == first.version  # type: ignore[union-attr]
    set_alias(config, str(second.version), CHAMPION)
    assert alias_version(config, CHAMPION).version == second.version  # type: ignore[union-attr]
    assert load_model_version(config, alias=CHAMPION).version == str(second.version)
    remove_alias(config, CHALLENGER)
    remove_alias(config, CHALLENGER)  # removing an absent alias is a no-op
    assert alias_version(config, CHALLENGER) is None
    with pytest.raises(TrackingError, match="cannot set alias 'champion'"):
        set_alias(config, 99, CHAMPION)


def test_the_gate_record_is_kept_on_the_version(
    config: ProjectConfig, bank_frame: pd.DataFrame, bank_spec: FeatureSpec
) -> None:
    version = register_run(config, log_run(config, bank_frame, bank_spec))
    assert gate_passed(config, version) is False
    set_gate_record(config, version, True, "file:///reports/gate.json")
    assert gate_passed(config, version.version) is True
    tags = get_version(config, version).tags
    assert (tags[VALIDATION_STATUS], tags[GATE_REPORT]) == ("passed", "file:///reports/gate.json")
    set_gate_record(config, str(version.version), False, "file:///reports/gate-2.json")
    assert gate_passed(config, version) is False
    assert get_version(config, version).tags[GATE_REPORT] == "file:///reports/gate-2.json"
    with pytest.raises(TrackingError, match="has no version 42"):
        gate_passed(config, 42)

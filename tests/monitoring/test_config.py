"""The `monitoring` section: conventional defaults, and bad values refused with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cml_mlops.config import MonitoringSection, load_config
from cml_mlops.errors import ConfigError


def test_defaults_are_the_conventional_cut_offs(baked_project: Path) -> None:
    monitoring = load_config(baked_project, environ={}).monitoring
    assert (monitoring.drift.psi_watch, monitoring.drift.psi_alert, monitoring.drift.p_value) == (0.1, 0.25, 0.05)
    assert monitoring.drift.dataset_drift_share == 0.5
    assert (monitoring.alert.breaches, monitoring.alert.windows) == (2, 3)
    assert monitoring.window == "1d" and monitoring.windows == 30
    assert monitoring == MonitoringSection(schedule=monitoring.schedule)  # the template writes the defaults out


def test_the_window_can_come_from_the_environment(baked_project: Path) -> None:
    config = load_config(baked_project, environ={"CML_MLOPS_MONITORING_WINDOW": "6h"})
    assert config.monitoring.window == "6h"
    assert load_config(baked_project, environ={"CML_MLOPS_MONITORING_WINDOW": "auto"}).monitoring.window == "auto"


def test_label_sources_are_keyed_by_prediction_id_unless_a_business_key_is_set(baked_project: Path) -> None:
    labels = load_config(baked_project, environ={}).monitoring.labels
    assert (labels.id_column, labels.label_column, labels.business_key) == ("prediction_id", "label", None)


@pytest.mark.parametrize(
    "override, message",
    [
        ({"window": "soon"}, "monitoring.window"),
        ({"windows": 0}, "monitoring.windows"),
        ({"floors": {"auc": 0.7}}, "unknown metrics ['auc']"),
        ({"ceilings": {"roc_auc": 0.9}}, "known: brier, ece"),
        ({"positive_rate": [0.5, 0.1]}, "positive_rate"),
        ({"drift": {"psi_watch": 0.3, "psi_alert": 0.2}}, "psi_alert must be at least psi_watch"),
        ({"drift": {"rule": "either"}}, "monitoring.drift.rule"),
        ({"alert": {"breaches": 4, "windows": 3}}, "windows (N) must be at least breaches (M)"),
        ({"thresholds": {}}, "monitoring.thresholds"),
        ({"labels": {"label_column": " "}}, "a column name must not be empty"),
        ({"labels": {"label_column": "prediction_id"}}, "the label source's columns must be distinct"),
        ({"labels": {"business_key": "customer", "time_column": "customer"}}, "must be distinct"),
        ({"labels": {"match_seconds": 0}}, "monitoring.labels.match_seconds"),
        ({"labels": {"key": "x"}}, "monitoring.labels.key"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(project_dir: Path, override: dict[str, object], message: str) -> None:
    path = project_dir / "cml-mlops.yaml"
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    content["monitoring"].update(override)
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(project_dir, environ={})
    assert message in str(caught.value)

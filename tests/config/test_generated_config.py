"""The generated cml-mlops.yaml holds the use case's settings; everything else is the library's default."""

from __future__ import annotations

from pathlib import Path

import yaml

from cml_mlops.config import PROFILES, load_config
from cml_mlops.config_sources import explain_config

# What a use case decides: its data, names, leakage screen, model choices, gates, CML project, monitoring schedule,
# floors and ground-truth key, and which personal data the server must not capture as is.
USE_CASE_KEYS = {
    "project.name", "project.package",
    "data.url", "data.member", "data.sha256", "data.separator",
    "lake.namespace", "lake.table",
    "features.use_leakage_columns", "features.leakage_ceiling", "features.acknowledged_strong",
    "tracking.experiment", "tracking.model_name",
    "training.seed", "training.split", "training.primary_metric", "training.threshold_objective",
    "training.contact_budget", "training.candidates",
    "gates.floors", "gates.baseline_margin", "gates.non_inferiority", "gates.segments",
    "cml.workspace_url", "cml.project_id", "cml.runtime_identifier",
    "monitoring.schedule", "monitoring.floors", "monitoring.labels",
    "capture.drop_columns", "capture.hash_columns",
}  # fmt: skip


def test_the_generated_config_keeps_only_use_case_keys(baked_project: Path) -> None:
    content = yaml.safe_load((baked_project / "cml-mlops.yaml").read_text(encoding="utf-8"))
    content.pop("profiles")
    keys = {f"{section}.{field}" for section, fields in content.items() for field in fields}
    assert keys <= USE_CASE_KEYS, sorted(keys - USE_CASE_KEYS)


def test_every_profile_still_loads_and_platform_settings_come_from_the_library(baked_project: Path) -> None:
    for profile in PROFILES:
        load_config(baked_project, profile, environ={})
    _, settings = explain_config(baked_project, "local", environ={})
    sources = {setting.key: setting.source for setting in settings}
    for key in ("prediction_log.batch_size", "serving.port", "simulation.concurrency", "lake.warehouse"):
        assert sources[key] == "default", key
    assert sources["data.url"] == "file" and sources["monitoring.schedule"] == "file"

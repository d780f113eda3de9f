"""`cml-mlops config show`: every effective setting with its source; secrets never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cml_mlops.cli import cli
from cml_mlops.config_sources import MASK, explain_config
from tests.config.test_config_refuses import MINIMAL, write_config

CONTENT = {
    **MINIMAL,
    "lake": {**MINIMAL["lake"], "catalog_uri": "sqlite:///lake/other.db"},
    "reports": {"dir": "reports"},
    "profiles": {"ci": {"reports": {"dir": "build/reports"}}},
}


def shown(folder: Path, *args: str) -> dict[str, tuple[object, str]]:
    result = CliRunner().invoke(cli, ["--project-dir", str(folder), *args, "config", "show", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    return {row["key"]: (row["value"], row["source"]) for row in rows}


def test_each_value_names_its_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CML_MLOPS_SERVING_PORT", "9100")
    monkeypatch.setenv("CML_MLOPS_DATA_ENCODING", "")  # unset in CI terms: ignored
    monkeypatch.delenv("CML_MLOPS_PROFILE", raising=False)
    monkeypatch.delenv("CML_MLOPS_DATA_URL", raising=False)  # CI points it at the shared zip
    settings = shown(write_config(tmp_path, CONTENT), "--profile", "ci")
    assert settings["data.url"] == ("https://example.com/data.zip", "file")
    assert settings["data.encoding"] == ("utf-8", "default")
    assert settings["reports.dir"] == ("build/reports", "profile ci")
    assert settings["serving.port"] == (9100, "env CML_MLOPS_SERVING_PORT")
    assert settings["gates.floors.roc_auc"] == (0.75, "default")
    assert "root" not in settings and "profile" not in settings


def test_secrets_are_masked_whatever_their_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CML_MLOPS_MONITORING_DSN", "postgresql://app:hunter2@db/monitoring")
    monkeypatch.setenv("CML_MLOPS_SERVING_ACCESS_KEY", "s3cret-key")
    folder = write_config(tmp_path, CONTENT)
    settings = shown(folder)
    assert settings["monitoring.dsn"] == (MASK, "env CML_MLOPS_MONITORING_DSN")
    assert settings["serving.access_key"] == (MASK, "env CML_MLOPS_SERVING_ACCESS_KEY")
    assert settings["lake.catalog_uri"] == (MASK, "file")
    text = CliRunner().invoke(cli, ["--project-dir", str(folder), "config", "show"]).output
    for secret in ("hunter2", "s3cret-key", "other.db"):
        assert secret not in text
    assert "monitoring.dsn: **********" in text and "# env CML_MLOPS_MONITORING_DSN" in text


def test_the_listing_covers_every_setting_of_the_config(tmp_path: Path) -> None:
    config, settings = explain_config(write_config(tmp_path, CONTENT), environ={})
    keys = {setting.key for setting in settings}
    for section in ("data", "lake", "serving", "monitoring", "prediction_log", "reports"):
        for field in type(getattr(config, section)).model_fields:
            assert any(key == f"{section}.{field}" or key.startswith(f"{section}.{field}.") for key in keys), field


def test_a_bad_config_is_refused_in_one_line(tmp_path: Path) -> None:
    folder = write_config(tmp_path, {**MINIMAL, "serving": {"port": 0}})
    result = CliRunner().invoke(cli, ["--project-dir", str(folder), "config", "show"])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1 and "serving.port" in result.output

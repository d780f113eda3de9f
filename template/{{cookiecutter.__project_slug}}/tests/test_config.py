"""The project config validates for every profile and takes overrides from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from cml_mlops.config import PROFILES, load_config
from cml_mlops.errors import ConfigError


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_loads(project_root: Path, profile: str) -> None:
    config = load_config(project_root, profile, environ={})
    assert config.project.package == "{{ cookiecutter.package_name }}"
    assert config.lake.table == "{{ cookiecutter.lake_table }}"


def test_the_data_url_can_be_overridden(project_root: Path) -> None:
    config = load_config(project_root, environ={"CML_MLOPS_DATA_URL": "file:///tmp/other.zip"})
    assert config.data.url == "file:///tmp/other.zip"


def test_secrets_come_only_from_the_environment(project_root: Path) -> None:
    config = load_config(project_root, environ={"CML_MLOPS_MONITORING_DSN": "postgresql://u:secret@db/x"})
    assert config.monitoring.dsn is not None
    assert "secret" not in repr(config)
    assert config.monitoring.dsn.get_secret_value().endswith("@db/x")


def test_an_unknown_profile_is_refused(project_root: Path) -> None:
    with pytest.raises(ConfigError, match="unknown profile"):
        load_config(project_root, "staging", environ={})

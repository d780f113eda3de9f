"""Importing the generated project's own modules (features, contracts) from library commands."""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from cml_mlops.config import CONFIG_FILENAME, ProjectConfig, load_config
from cml_mlops.errors import ConfigError
from cml_mlops.features import FeatureSpec
from cml_mlops.project import load_feature_spec, load_project_module


@pytest.fixture(autouse=True)
def restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", [*sys.path])


@pytest.fixture
def probe_project(tmp_path: Path, baked_project: Path) -> Iterator[tuple[Path, str]]:
    """A project folder with the baked config and an empty package of a unique name (forgotten afterwards)."""
    package = f"eda_probe_{uuid.uuid4().hex[:8]}"
    shutil.copy(baked_project / CONFIG_FILENAME, tmp_path / CONFIG_FILENAME)
    (tmp_path / "src" / package).mkdir(parents=True)
    (tmp_path / "src" / package / "__init__.py").write_text("")
    yield tmp_path, package
    for name in [name for name in sys.modules if name == package or name.startswith(f"{package}.")]:
        del sys.modules[name]


def probe_config(root: Path, package: str) -> ProjectConfig:
    return load_config(root, environ={"CML_MLOPS_PROJECT_PACKAGE": package})


def test_features_of_the_baked_project(baked_project: Path, bank_features: ModuleType) -> None:
    config = load_config(baked_project)
    module = load_project_module(config, "features")
    assert module.__name__ == "bank_marketing.features"
    spec = load_feature_spec(config)
    assert spec == bank_features.FEATURES and spec.leakage == ("duration",)


def test_src_is_put_on_the_path_when_the_package_is_not_importable(probe_project: tuple[Path, str]) -> None:
    root, package = probe_project
    (root / "src" / package / "features.py").write_text(
        "from cml_mlops.features import FeatureSpec\nFEATURES = FeatureSpec('y', 'yes', ('x',), ('c',))\n"
    )
    assert str(root / "src") not in sys.path
    spec = load_feature_spec(probe_config(root, package))
    assert spec == FeatureSpec("y", "yes", ("x",), ("c",))
    assert str(root / "src") in sys.path


def test_a_missing_module_names_the_file_it_expected(probe_project: tuple[Path, str]) -> None:
    root, package = probe_project
    with pytest.raises(ConfigError, match=rf"cannot import {package}\.features: expected .*src/{package}/features\.py"):
        load_project_module(probe_config(root, package), "features")


def test_a_missing_package_is_a_config_error(probe_project: tuple[Path, str]) -> None:
    root, _ = probe_project
    with pytest.raises(ConfigError, match=r"project\.package is 'not_this_package'"):
        load_project_module(probe_config(root, "not_this_package"), "features")


def test_an_import_error_inside_the_module_is_not_hidden(probe_project: tuple[Path, str]) -> None:
    root, package = probe_project
    (root / "src" / package / "features.py").write_text("import eda_probe_missing_dependency\n")
    with pytest.raises(ModuleNotFoundError) as caught:
        load_project_module(probe_config(root, package), "features")
    assert caught.value.name == "eda_probe_missing_dependency"


def test_features_must_be_a_feature_spec(probe_project: tuple[Path, str]) -> None:
    root, package = probe_project
    (root / "src" / package / "features.py").write_text("FEATURES = {'target': 'y'}\n")
    with pytest.raises(ConfigError, match=rf"{package}\.features\.FEATURES must be a .*FeatureSpec, found dict"):
        load_feature_spec(probe_config(root, package))

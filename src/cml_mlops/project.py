"""Access to the generated project's own Python package (contracts, features) from library commands."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from cml_mlops.config import ProjectConfig
from cml_mlops.errors import ConfigError
from cml_mlops.features import FeatureSpec


def load_project_module(config: ProjectConfig, name: str) -> ModuleType:
    """Import `<project.package>.<name>`, putting the project's `src/` on sys.path when it is not importable.

    Raises ConfigError when the module is not in the project; an import error inside the module itself
    (a missing dependency, a syntax error) propagates unchanged, since that is the real problem.
    """
    package = config.project.package
    qualified = f"{package}.{name}" if name else package
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        if exc.name not in (package, qualified):
            raise
    source = str(config.root / "src")
    if source not in sys.path:
        sys.path.insert(0, source)
        importlib.invalidate_caches()
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        if exc.name not in (package, qualified):
            raise
        raise ConfigError(
            f"cannot import {qualified}: expected {config.root / 'src' / package.replace('.', '/')}"
            f"/{name}.py (project.package is {package!r} in the config)"
        ) from None


def load_feature_spec(config: ProjectConfig) -> FeatureSpec:
    """The project's `FEATURES` (a FeatureSpec) from its features module."""
    module = load_project_module(config, "features")
    spec = getattr(module, "FEATURES", None)
    if not isinstance(spec, FeatureSpec):
        raise ConfigError(
            f"{module.__name__}.FEATURES must be a cml_mlops.features.FeatureSpec, "
            f"found {type(spec).__name__}: define it with FeatureSpec.from_contract(...)"
        )
    return spec

"""Fixtures of the workflow tests: the generated project's noxfile as a module."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def generated_noxfile(baked_project: Path) -> ModuleType:
    """The baked project's noxfile, imported once (nox registers its sessions globally; nothing runs on import)."""
    spec = importlib.util.spec_from_file_location("generated_noxfile", baked_project / "noxfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

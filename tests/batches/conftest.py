"""The batch tests start from the step tests' loaded bank.csv project."""

from __future__ import annotations

from tests.steps.conftest import invoke, loaded_project  # noqa: F401 - fixtures for this folder

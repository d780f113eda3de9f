"""Deploy tests start from `loaded_project` (bank.csv in the lake) and never leave a server running."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.helpers import kill_servers, run_cli, serving_env
from tests.steps.conftest import loaded_project  # noqa: F401 - the fixture, shared with the step tests


@pytest.fixture
def project(loaded_project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:  # noqa: F811
    """The loaded project with a free serving port and an access key; its servers are killed afterwards."""
    serving_env(monkeypatch)
    try:
        yield loaded_project
    finally:
        run_cli(loaded_project, "undeploy")
        kill_servers(loaded_project)

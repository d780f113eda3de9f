"""Fixtures: a running emulator on a free loopback port and a client with zero-delay retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cml_mlops.cml import CmlClient
from cml_mlops.cml.emulator import CmlEmulator, EmulatorState, Faults

# Recognisable, so a leak anywhere is easy to spot.
API_KEY = "sekrit-KEY-0f1e2d3c4b5a-LEAKCHECK"
PROJECT = "emul-ator-proj-0001"
RUNTIME = "docker.repository.cloudera.com/cloudera/cdsw/ml-runtime-pbj-workbench-python3.11-standard:2025.06.1-b5"


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def emulator(faults: Faults) -> Iterator[CmlEmulator]:
    with CmlEmulator(EmulatorState(step_seconds=0, faults=faults, project_id=PROJECT), api_key=API_KEY) as emu:
        yield emu


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(emulator: CmlEmulator, sleeps: list[float]) -> Iterator[CmlClient]:
    with CmlClient(emulator.url, API_KEY, timeout=5, max_attempts=4, sleep=sleeps.append, environ={}) as c:
        yield c


# The deploy tests' fixtures (a session project with gated versions, an emulator serving them); imported last,
# as deploy_support uses the constants above.
from tests.cml.deploy_support import cml, cml_project, model_loader  # noqa: E402, F401

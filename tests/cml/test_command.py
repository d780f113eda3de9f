"""`cml-emulator` as a real process, and its fault-option parsing."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cml_mlops.cml import CmlApiError, CmlClient
from cml_mlops.cml.emulator.command import build_faults, cml_emulator
from tests.cml.conftest import API_KEY


def test_the_command_serves_the_api_with_faults() -> None:
    env = {**os.environ, "CML_EMULATOR_API_KEY": API_KEY}
    args = [
        "--port",
        "0",
        "--project-id",
        "proc-proj-0000-0001",
        "--rate-limit",
        "list_projects:1",
        "--retry-after",
        "0",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cml_mlops.cml.emulator.command", *args], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line
        client = CmlClient(match.group(0), API_KEY, environ={})
        assert [p["id"] for p in client.list_projects()["projects"]] == ["proc-proj-0000-0001"]
        assert client.retry_count == 1
        assert API_KEY not in line
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_command_needs_a_key() -> None:
    result = CliRunner().invoke(cml_emulator, ["--port", "0"], env={"CML_EMULATOR_API_KEY": ""})
    assert result.exit_code != 0 and "--api-key" in result.output


@pytest.mark.parametrize(
    "args",
    [["--rate-limit", "list_jobs"], ["--fail-call", "create_job:1:404"], ["--slow", "get_job:fast"]],
)
def test_bad_fault_options_are_refused(args: list[str]) -> None:
    result = CliRunner().invoke(cml_emulator, ["--port", "0", "--api-key", "k", *args])
    assert result.exit_code == 2 and "Invalid value" in result.output


def test_fault_options_parse() -> None:
    faults = build_faults(("get_job:2",), 3.0, ("create_job:1:503",), ("*:0.5",), 1, 2, ("train",))
    assert faults.rate_limited == {"get_job": 2} and faults.failing_calls == {"create_job": {1: 503}}
    assert (faults.slow, faults.failing_builds, faults.stuck_deployments) == ({"*": 0.5}, 1, 2)
    assert faults.failing_jobs == {"train"} and faults.retry_after == 3.0
    assert CmlApiError(500, "m").status == 500

"""`cml-mlops deploy --target local`: gate and key checks, zero-downtime switches, rollback, stale state."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ci.lifecycle import REPO_ROOT
from cml_mlops.deploy.base import resolve_version
from cml_mlops.registry import alias_version, set_alias
from cml_mlops.serving.process import (
    PID_FILE,
    ServerRecord,
    health,
    is_server_process,
    live_record,
    read_record,
    state_dir,
    write_record,
)
from cml_mlops.tracking import CHALLENGER, CHAMPION
from tests.deploy import failing_model
from tests.serving.helpers import (
    ACCESS_KEY,
    envelope,
    gated_version,
    project_config,
    run_cli,
    server_pids,
)
from tests.support import models

RECORD = {
    "age": 41, "job": "technician", "marital": "married", "education": "secondary", "default": "no",
    "balance": 1200, "housing": "yes", "loan": "no", "contact": "cellular", "day": 5, "month": "may",
    "campaign": 2, "pdays": -1, "previous": 0, "poutcome": "unknown",
}  # fmt: skip


def url_of(project: Path) -> str:
    return f"http://127.0.0.1:{project_config(project).serving.port}"


def champion(project: Path) -> str | None:
    found = alias_version(project_config(project), CHAMPION)
    return None if found is None else str(found.version)


def test_deploy_refuses_without_an_access_key(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CML_MLOPS_SERVING_ACCESS_KEY")
    result = run_cli(project, "deploy")
    assert result.exit_code == 1
    assert "CML_MLOPS_SERVING_ACCESS_KEY" in result.output and "requires an access key" in result.output
    assert server_pids(project) == []


@pytest.mark.parametrize("status", [None, "failed"])
def test_deploy_refuses_a_version_without_a_passed_gate(project: Path, status: str | None) -> None:
    version = gated_version(project_config(project), status=status).version
    result = run_cli(project, "deploy", "--version", str(version))
    assert result.exit_code == 1
    assert "refusing to deploy" in result.output and f"version {version}" in result.output
    assert ("no gate record" if status is None else "'failed'") in result.output
    assert server_pids(project) == [] and read_record(project_config(project)) is None
    assert champion(project) is None


def test_default_version_is_the_challenger_else_the_newest(project: Path) -> None:
    config = project_config(project)
    first = gated_version(config).version
    second = gated_version(config, seed=1).version
    assert resolve_version(config, None) == str(second)
    set_alias(config, first, CHALLENGER)
    assert resolve_version(config, None) == str(first)
    assert resolve_version(config, second) == str(second)


def test_stale_state_is_detected_and_cleared(project: Path) -> None:
    config = project_config(project)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    write_record(config, ServerRecord("m", "3", gone.pid, "127.0.0.1", 1, "2026-01-01T00:00:00+00:00", 2, None, "x"))
    status = run_cli(project, "serving-status")
    assert status.exit_code == 1 and "stale state" in status.output and f"pid {gone.pid}" in status.output
    result = run_cli(project, "undeploy")
    assert result.exit_code == 0 and "nothing is deployed" in result.output
    assert read_record(config) is None and not (state_dir(config) / "server.pid").exists()


def test_only_live_model_servers_count_as_running() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert not is_server_process(gone.pid)
    assert not is_server_process(os.getpid())  # alive, but not a model server: a reused PID
    if Path("/proc/2/stat").exists():
        assert not is_server_process(2)  # a kernel thread


def test_undeploy_with_nothing_deployed_says_so(project: Path) -> None:
    result = run_cli(project, "undeploy")
    assert result.exit_code == 0 and result.output.strip() == "nothing is deployed to local"


class Traffic:
    """Background clients scoring continuously: one on a keep-alive connection, one connecting per request."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.results: list[tuple[float, Any]] = []  # (time sent, model version or the failure)
        self.threads = [threading.Thread(target=self._run, args=(keep,), daemon=True) for keep in (True, False)]

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _run(self, keep_alive: bool) -> None:
        limits = httpx.Limits(max_keepalive_connections=1 if keep_alive else 0)
        with httpx.Client(timeout=30, limits=limits) as client:
            while not self.stop.is_set():
                sent = time.monotonic()
                try:
                    answer = client.post(f"{self.url}/model", json=envelope(RECORD))
                    outcome = answer.json()["response"]["model_version"] if answer.status_code == 200 else answer.text
                except Exception as exc:  # every failure counts, whatever its kind
                    outcome = f"{type(exc).__name__}: {exc}"
                self.results.append((sent, outcome))

    def failures(self) -> list[Any]:
        return [outcome for _, outcome in self.results if outcome not in ("1", "2")]


@pytest.mark.slow
def test_switching_versions_drops_no_request_and_undeploy_stops_it(project: Path) -> None:
    config = project_config(project)
    first = str(gated_version(config).version)
    second = str(gated_version(config, seed=1, threshold=0.4).version)
    assert run_cli(project, "deploy", "--version", first).exit_code == 0
    old = read_record(config)
    assert old is not None
    with Traffic(url_of(project)) as traffic:
        time.sleep(0.5)
        result = run_cli(project, "deploy", "--version", second)
        switched = time.monotonic()
        time.sleep(0.5)
    assert result.exit_code == 0, result.output
    assert traffic.failures() == []
    assert len(traffic.results) > 100
    assert {outcome for _, outcome in traffic.results} == {first, second}
    assert {outcome for sent, outcome in traffic.results if sent > switched} == {second}
    new = read_record(config)
    assert new is not None and new.version == second and new.port == old.port and new.pid != old.pid
    assert server_pids(project) == [new.pid]  # the old server drained and exited
    assert champion(project) == second

    stopped = run_cli(project, "undeploy")
    assert stopped.exit_code == 0 and f"version {second}" in stopped.output
    assert health(url_of(project)) is None and not is_server_process(new.pid) and server_pids(project) == []
    assert read_record(config) is None and not (state_dir(config) / PID_FILE).exists()
    again = run_cli(project, "undeploy")
    assert again.exit_code == 0 and "nothing is deployed" in again.output
    assert run_cli(project, "serving-status").output.strip() == "nothing is deployed"


@pytest.mark.slow
def test_a_version_failing_its_smoke_test_is_rolled_back(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = project_config(project)
    good = str(gated_version(config).version)
    assert run_cli(project, "deploy").exit_code == 0
    before = read_record(config)
    assert before is not None
    monkeypatch.setattr(models, "simple_pipeline", failing_model.failing_pipeline)
    monkeypatch.setattr(models.mlflow.sklearn, "log_model", failing_model.log_model_trusting_it)
    broken = str(gated_version(config, seed=1).version)
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))  # the server process unpickles tests.deploy.failing_model
    result = run_cli(project, "deploy", "--version", broken)
    assert result.exit_code == 1
    assert f"version {broken} failed its smoke test" in result.output
    assert f"version {good} keeps serving" in result.output and "HTTP 500" in result.output
    served = health(url_of(project))
    assert served is not None and served["model_version"] == good and served["pid"] == before.pid
    assert read_record(config) == before and server_pids(project) == [before.pid]
    assert champion(project) == good
    answer = httpx.post(f"{url_of(project)}/model", json=envelope(RECORD))
    assert answer.status_code == 200 and answer.json()["response"]["model_version"] == good


@pytest.mark.slow
def test_a_taken_port_fails_the_deploy_and_leaves_nothing_running(project: Path) -> None:
    config = project_config(project)
    version = gated_version(config).version
    with socket.create_server(("127.0.0.1", config.serving.port)):  # another program holds the port
        result = run_cli(project, "deploy", "--version", str(version))
    assert result.exit_code == 1
    assert "failed its switch to 127.0.0.1" in result.output and "nothing is served" in result.output
    assert server_pids(project) == [] and live_record(config) == (None, None) and champion(project) is None
    assert ACCESS_KEY not in result.output


def test_state_file_round_trips(project: Path) -> None:
    config = project_config(project)
    record = ServerRecord("m", "1", 123, "127.0.0.1", 8, "t", 9, "/tmp/h.sock", "log")
    write_record(config, record)
    assert read_record(config) == record
    assert json.loads((state_dir(config) / "server.json").read_text())["pid"] == 123

"""Shared by the serving and deploy tests: free ports, gated versions, the deploy CLI, and leftover cleanup."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from mlflow.entities.model_registry import ModelVersion

from cml_mlops.cli import cli
from cml_mlops.config import ProjectConfig, load_config
from cml_mlops.lake import open_lake
from cml_mlops.project import load_feature_spec
from cml_mlops.serving.process import SERVER_MODULE
from cml_mlops.tracking import VALIDATION_STATUS, configure_mlflow
from tests.support.models import register_test_model
from tests.support.net import free_port

ACCESS_KEY = "test-access-key-0123456789"


def serving_env(monkeypatch: pytest.MonkeyPatch, *, key: str | None = ACCESS_KEY) -> int:
    """A free port and the access key for the config (and the servers it starts); returns the port."""
    port = free_port()
    monkeypatch.setenv("CML_MLOPS_SERVING_PORT", str(port))
    if key is None:
        monkeypatch.delenv("CML_MLOPS_SERVING_ACCESS_KEY", raising=False)
    else:
        monkeypatch.setenv("CML_MLOPS_SERVING_ACCESS_KEY", key)
    return port


def run_cli(project: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--project-dir", str(project), *args], catch_exceptions=False)


def lake_frame(config: ProjectConfig) -> pd.DataFrame:
    with open_lake(config) as lake:
        return lake.read(config.lake.table)


def gated_version(config: ProjectConfig, *, status: str | None = "passed", **options: Any) -> ModelVersion:
    """A registered test model, with the gate record `status` (None: no record)."""
    version = register_test_model(config, lake_frame(config), load_feature_spec(config), **options)
    if status is not None:
        configure_mlflow(config).set_model_version_tag(version.name, version.version, VALIDATION_STATUS, status)
    return version


def project_config(project: Path) -> ProjectConfig:
    return load_config(project)


def server_pids(project: Path) -> list[int]:
    """Model-server processes started for `project` (found through /proc), running or not yet reaped."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            command = (entry / "cmdline").read_bytes().split(b"\0")
            if SERVER_MODULE.encode() in command and str(project).encode() in command:
                pids.append(int(entry.name))
    return pids


def kill_servers(project: Path) -> None:
    """Finalizer: no server of this project survives its test, whatever the test did."""
    for pid in server_pids(project):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)


def envelope(record: dict[str, Any], key: str | None = ACCESS_KEY) -> dict[str, Any]:
    return {"accessKey": key, "request": record} if key is not None else {"request": record}


def wait_for(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout} s")


def client(**options: Any) -> httpx.Client:
    return httpx.Client(timeout=60, **options)

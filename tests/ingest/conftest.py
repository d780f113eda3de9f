"""Fixtures for the ingest tests: the shared bank.zip, a loopback HTTP server that can misbehave, a project."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import click
import pytest
import yaml

from cml_mlops.config import ProjectConfig, load_config

BANK_FULL_SHA256 = "d1513ec63b385506f7cfce9f2c5caa9fe99e7ba4e8c3fa264b3aaf0f849ed32d"


@pytest.fixture(scope="session")
def bank_zip() -> Path:
    """The shared copy of UCI's bank.zip (never the internet)."""
    override = os.environ.get("CML_MLOPS_TEST_DATA_ZIP")
    default = Path(__file__).resolve().parents[3] / "shared/data/bank-marketing/bank.zip"
    path = Path(override) if override else default
    if not path.is_file():
        pytest.fail(f"test data {path} is missing: set CML_MLOPS_TEST_DATA_ZIP to a copy of bank.zip")
    return path


@pytest.fixture(scope="session")
def www(bank_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the loopback server serves: bank.zip, and bank.csv on its own (a plain CSV)."""
    root = tmp_path_factory.mktemp("www")
    shutil.copyfile(bank_zip, root / "bank.zip")
    with zipfile.ZipFile(bank_zip) as zf:
        (root / "bank.csv").write_bytes(zf.read("bank.csv"))
    return root


@dataclass
class Fault:
    """How the server misbehaves for one request (faults are used up in order, one per request)."""

    status: int = 0  # answer this status with an empty body instead of the file
    headers: dict[str, str] = field(default_factory=dict)
    cut: bool = False  # announce the full Content-Length, send half the body, close
    no_length: bool = False  # send the body without Content-Length (ends when the connection closes)
    stall: float = 0.0  # wait this long before answering


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.faults: list[Fault] = []
        self.requests: list[str] = []
        self.lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up on a stalled or cut answer are part of the tests


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests.append(self.path)
            fault = self.server.faults.pop(0) if self.server.faults else Fault()
        if fault.stall:
            time.sleep(fault.stall)
        if fault.status:
            self.send_response(fault.status)
            for name, value in fault.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        file = self.server.root / unquote(urlsplit(self.path).path).lstrip("/")
        if not file.is_file():
            self.send_error(404)
            return
        body = file.read_bytes()
        self.send_response(200)
        if not fault.no_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if fault.cut else body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Loopback:
    """A running loopback server: `url(name)`, the `faults` to inject, the `requests` it saw."""

    server: _Server

    @property
    def faults(self) -> list[Fault]:
        return self.server.faults

    @property
    def requests(self) -> list[str]:
        return self.server.requests

    def fail(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next `times` requests with `status` (and these headers)."""
        self.faults.extend(Fault(status=status, headers=dict(headers or {})) for _ in range(times))

    def cut(self, times: int = 1) -> None:
        """Break the connection halfway through the body of the next `times` answers."""
        self.faults.extend(Fault(cut=True) for _ in range(times))

    def without_length(self) -> None:
        """Send the next body without a Content-Length header."""
        self.faults.append(Fault(no_length=True))

    def stall(self, seconds: float) -> None:
        """Wait `seconds` before answering the next request."""
        self.faults.append(Fault(stall=seconds))

    def url(self, name: str, userinfo: str = "") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{userinfo}{host}:{port}/{name}"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy for loopback, and no CML_MLOPS_* setting from the outer shell."""
    for name in list(os.environ):
        if name.startswith("CML_MLOPS_") and not name.startswith("CML_MLOPS_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def server(www: Path) -> Iterator[Loopback]:
    """http.server on 127.0.0.1 (port 0) in a thread, serving `www`."""
    srv = _Server(www)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Loopback(srv)
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL on which nothing listens: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/bank.zip"


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """Write a minimal cml-mlops.yaml; keyword arguments override the data section."""

    def make(**data: Any) -> Path:
        root = tmp_path / "project"
        root.mkdir(exist_ok=True)
        settings = {
            "project": {"name": "Bank test", "package": "bank_test"},
            "data": {
                "url": "http://127.0.0.1:9/bank.zip",
                "member": "bank-full.csv",
                "sha256": BANK_FULL_SHA256,
                "separator": ";",
                "retries": 1,
                "timeout_seconds": 10,
                **data,
            },
            "lake": {"namespace": "bank", "table": "marketing"},
            "tracking": {"experiment": "bank", "model_name": "bank-model"},
        }
        (root / "cml-mlops.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
        return root

    return make


@pytest.fixture
def make_config(make_project: Callable[..., Path]) -> Callable[..., ProjectConfig]:
    """A loaded ProjectConfig for a minimal project (environment overrides ignored)."""

    def make(**data: Any) -> ProjectConfig:
        return load_config(make_project(**data), environ={})

    return make


@pytest.fixture
def cli() -> click.Group:
    """The real `cml-mlops` group; ingest is added again so these tests do not rely on cli.py's list."""
    from cml_mlops.cli import cli as group
    from cml_mlops.ingest.command import ingest

    group.add_command(ingest)
    return group

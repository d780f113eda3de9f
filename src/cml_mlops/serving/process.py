"""Background model servers: start, verify, switch and stop them; their PID and state files.

Files under `config.serving.state_dir`:
- `server.json`: the live server (model, version, pid, host, port, started_at, private port, handoff, log file);
- `server.pid`: its PID alone (written with the JSON, removed with it);
- `logs/server-v<version>-<time>.log`: each server's output;
- `.lock`: held by a deploy or undeploy, so that two never interleave.
A state whose process is gone (or whose PID now belongs to another program) is stale: `live_record` reports
and removes it. Servers need a POSIX system (fork, Unix sockets, signals): Linux or macOS.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import requests

from cml_mlops.config import ProjectConfig, env_name
from cml_mlops.errors import CmlMlopsError
from cml_mlops.reports import write_files_atomic

log = logging.getLogger(__name__)

STATE_FILE = "server.json"
PID_FILE = "server.pid"
LOCK_FILE = ".lock"
LOG_DIR = "logs"
SERVER_MODULE = "cml_mlops.serving.server"
STARTUP_TIMEOUT = 180.0  # loading a big model on a busy machine takes a while
STOP_TIMEOUT = 30.0
LOCK_TIMEOUT = 120.0
PF_KTHREAD = 0x00200000  # /proc/<pid>/stat flags: a kernel thread


class ServingError(CmlMlopsError):
    """A model server could not be started, verified, switched to or stopped."""


@dataclass(frozen=True)
class ServerRecord:
    """What `server.json` says about the live server."""

    model_name: str
    version: str
    pid: int
    host: str
    port: int
    started_at: str
    private_port: int
    handoff: str | None
    log_file: str

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def state_dir(config: ProjectConfig) -> Path:
    return config.path(config.serving.state_dir)


def read_record(config: ProjectConfig) -> ServerRecord | None:
    """The state file as written, whether or not its process still runs."""
    path = state_dir(config) / STATE_FILE
    if not path.is_file():
        return None
    try:
        return ServerRecord(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise ServingError(f"{path} is not a server state file ({exc}): run `cml-mlops undeploy` to clear it") from None


def write_record(config: ProjectConfig, record: ServerRecord) -> None:
    folder = state_dir(config)
    write_files_atomic(
        {folder / STATE_FILE: json.dumps(asdict(record), indent=2) + "\n", folder / PID_FILE: f"{record.pid}\n"}
    )


def clear_record(config: ProjectConfig) -> None:
    folder = state_dir(config)
    for name in (STATE_FILE, PID_FILE):
        (folder / name).unlink(missing_ok=True)


def live_record(config: ProjectConfig) -> tuple[ServerRecord | None, ServerRecord | None]:
    """(the live server's record, a stale record that was found and removed); at most one is set."""
    record = read_record(config)
    if record is None:
        return None, None
    if is_server_process(record.pid):
        return record, None
    log.warning("stale serving state: process %d (version %s) is gone; removing it", record.pid, record.version)
    clear_record(config)
    return None, record


def is_server_process(pid: int) -> bool:
    """Whether `pid` runs (not a zombie) and, where /proc tells, is a model server and not a reused PID."""
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process: a reused PID
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():
        return True  # no /proc (macOS): the signal check is all we have
    try:
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        command = (proc / "cmdline").read_bytes()
    except OSError:
        return False
    if fields[0] == "Z":
        _reap(pid)
        return False
    if not command:  # an exiting process has no command line until it is a zombie; a kernel thread has none
        return not int(fields[6]) & PF_KTHREAD
    return SERVER_MODULE.encode() in command


def _reap(pid: int) -> None:
    """Collect the exit status of `pid` if it is our own finished child (else it lingers as a zombie)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


@contextlib.contextmanager
def state_lock(config: ProjectConfig, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Exclusive use of the serving state (one deploy or undeploy at a time)."""
    folder = state_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK_FILE).open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ServingError(
                        f"another deploy or undeploy holds {folder / LOCK_FILE} for over {timeout:.0f} s"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def access_key(config: ProjectConfig) -> str | None:
    key = config.serving.access_key
    return key.get_secret_value() if key is not None and key.get_secret_value() else None


def require_access_key(config: ProjectConfig) -> None:
    """Refuse to serve without a key when one is required (the default)."""
    if config.serving.require_access_key and access_key(config) is None:
        raise ServingError(
            f"serving requires an access key: set {env_name('serving', 'access_key')} in the environment "
            "(or set serving.require_access_key: false in cml-mlops.yaml to serve without one)"
        )


class StartedServer:
    """A server process that loads a version and answers on its private port; not yet serving the public one."""

    def __init__(self, config: ProjectConfig, version: str) -> None:
        self.config = config
        self.version = str(version)
        self.started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        self.log_file = state_dir(config) / LOG_DIR / f"server-v{self.version}-{stamp}.log"
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._admin_token = secrets.token_urlsafe(32)
        # Imported here: the server's modules (uvicorn, the scorer) are not needed to read or stop a deployment.
        from cml_mlops.serving.app import ADMIN_TOKEN_ENV
        from cml_mlops.serving.server import tcp_listener

        # The deployer binds the private port and hands the socket down: its number is known before the child runs.
        private = tcp_listener("127.0.0.1", 0, backlog=64)
        self.private_port: int = private.getsockname()[1]
        # One OpenMP thread per server: requests are scored on several Python threads, and spinning OpenMP
        # pools on shared cores slow tree ensembles down severalfold (see training's NATIVE_THREADS).
        env = {"OMP_NUM_THREADS": "1", **os.environ, ADMIN_TOKEN_ENV: self._admin_token}
        command = [
            sys.executable, "-m", SERVER_MODULE, "--project-dir", str(config.root), "--profile", config.profile,
            "--version", self.version, "--listen-fd", str(private.fileno()),
        ]  # fmt: skip
        log_stream: TextIO
        with private, self.log_file.open("a", encoding="utf-8") as log_stream:
            self.process = subprocess.Popen(
                command, cwd=config.root, env=env, stdin=subprocess.DEVNULL, stdout=log_stream,
                stderr=subprocess.STDOUT, pass_fds=(private.fileno(),), start_new_session=True,
            )  # fmt: skip
        self._session = requests.Session()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def private_url(self) -> str:
        return f"http://127.0.0.1:{self.private_port}"

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT) -> dict[str, Any]:
        """The health answer once the server has loaded its version; ServingError if it dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServingError(f"the server exited with code {self.process.returncode}: {self.log_tail()}")
            try:
                answer = self._session.get(f"{self.private_url}/health", timeout=2)
            except requests.RequestException:
                time.sleep(0.1)
                continue
            payload: dict[str, Any] = answer.json()
            if answer.status_code == 200 and str(payload.get("model_version")) == self.version:
                return payload
            raise ServingError(f"the health check answered {answer.status_code}: {answer.text[:300]}")
        raise ServingError(f"the server did not answer its health check within {timeout:.0f} s: {self.log_tail()}")

    def smoke_test(self, record: dict[str, Any]) -> dict[str, Any]:
        """Score `record` through the CML envelope; ServingError unless a well-formed prediction comes back."""
        key = access_key(self.config)
        envelope = {"accessKey": key, "request": record} if key else {"request": record}
        try:
            answer = self._session.post(f"{self.private_url}/model", json=envelope, timeout=30)
        except requests.RequestException as exc:
            raise ServingError(f"the smoke test request failed: {exc}") from None
        try:
            payload = answer.json()
        except ValueError:
            payload = {}
        response = payload.get("response") if isinstance(payload, dict) else None
        valid = (
            answer.status_code == 200
            and isinstance(response, dict)
            and str(response.get("model_version")) == self.version
            and isinstance(response.get("probability"), float)
            and 0.0 <= response["probability"] <= 1.0
        )
        if not valid or not isinstance(response, dict):
            raise ServingError(f"the smoke test got HTTP {answer.status_code}: {_messages(payload, answer.text)}")
        return response

    def go_live(self, host: str, port: int, takeover: str | None) -> dict[str, Any]:
        """Make the verified server accept on the public host:port (taking the listener over from `takeover`)."""
        from cml_mlops.serving.app import ADMIN_HEADER, ADMIN_LIVE_PATH

        try:
            answer = self._session.post(
                f"{self.private_url}{ADMIN_LIVE_PATH}",
                json={"host": host, "port": port, "takeover": takeover},
                headers={ADMIN_HEADER.decode(): self._admin_token},
                timeout=30,
            )
        except requests.RequestException as exc:
            raise ServingError(f"could not switch the server to {host}:{port}: {exc}") from None
        payload = answer.json() if answer.headers.get("content-type") == "application/json" else None
        if answer.status_code != 200 or not isinstance(payload, dict):
            raise ServingError(_messages(payload, answer.text))
        return payload

    def record(self, host: str, port: int, handoff: str | None, model_name: str) -> ServerRecord:
        return ServerRecord(
            model_name=model_name,
            version=self.version,
            pid=self.pid,
            host=host,
            port=port,
            started_at=self.started_at,
            private_port=self.private_port,
            handoff=handoff,
            log_file=str(self.log_file),
        )

    def close(self) -> None:
        """Drop our connections to it (it keeps running)."""
        self._session.close()

    def stop(self) -> None:
        self._session.close()
        stop_process(self.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=1)

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return f"(no log at {self.log_file})"
        return f"last lines of {self.log_file}:\n" + "\n".join(text[-lines:])


def stop_process(pid: int, timeout: float = STOP_TIMEOUT) -> bool:
    """SIGTERM (the server drains and exits), SIGKILL after `timeout`; False when it was not running."""
    if not is_server_process(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_server_process(pid):
            return True
        time.sleep(0.05)
    log.warning("server %d did not stop within %.0f s: killing it", pid, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while is_server_process(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def health(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """GET url/health, or None when nothing healthy answers."""
    try:
        answer = requests.get(f"{url}/health", timeout=timeout, headers={"Connection": "close"})
    except requests.RequestException:
        return None
    if answer.status_code != 200:
        return None
    payload: dict[str, Any] = answer.json()
    return payload


def _messages(payload: Any, text: str) -> str:
    """The error messages of one of our answers, else the start of its text."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if isinstance(errors, list) and errors and all(isinstance(error, dict) for error in errors):
        return "; ".join(str(error.get("message")) for error in errors)
    return text[:300]

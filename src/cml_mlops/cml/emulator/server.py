"""A loopback HTTP server speaking the emulated API v2 subset, with a request log and fault injection."""

from __future__ import annotations

import copy
import hmac
import json
import logging
import re
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cml_mlops.cml.emulator.model_service import ModelService, ScorerLoader
from cml_mlops.cml.emulator.state import ApiFault, EmulatorState, JsonDict

_ID = r"[^/:]+"
_P = rf"/api/v2/projects/(?P<project_id>{_ID})"
_M = rf"{_P}/models/(?P<model_id>{_ID})"
_B = rf"{_M}/builds/(?P<build_id>{_ID})"
_D = rf"{_B}/deployments/(?P<deployment_id>{_ID})"
_J = rf"{_P}/jobs/(?P<job_id>{_ID})"
_R = rf"/api/v2/registry/models/(?P<model_id>{_ID})"
MODEL_CALL = "call_model"  # POST /model: the model service (cml.models_v1.call_model), see model_service.py
DROPPED = 0  # the status of a call whose connection was closed unanswered (fault injection)

# (HTTP method, path pattern, cmlapi operation name); the operation is also the EmulatorState method.
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern + r"\Z"), operation)
    for method, pattern, operation in [
        ("GET", r"/api/v2/projects", "list_projects"),
        ("GET", _P, "get_project"),
        ("GET", r"/api/v2/runtimes", "list_runtimes"),
        ("POST", r"/api/v2/registry/models", "create_registered_model"),
        ("GET", r"/api/v2/registry/models", "list_registered_models"),
        ("GET", _R, "get_registered_model"),
        ("GET", rf"{_R}/versions/(?P<version_id>{_ID})", "get_registered_model_version"),
        ("DELETE", rf"{_R}/versions/(?P<version_id>{_ID})", "delete_registered_model_version"),
        ("POST", rf"{_P}/models", "create_model"),
        ("GET", rf"{_P}/models", "list_models"),
        ("GET", _M, "get_model"),
        ("DELETE", _M, "delete_model"),
        ("POST", rf"{_M}/builds", "create_model_build"),
        ("GET", rf"{_M}/builds", "list_model_builds"),
        ("GET", _B, "get_model_build"),
        ("DELETE", _B, "delete_model_build"),
        ("POST", rf"{_B}/deployments", "create_model_deployment"),
        ("GET", rf"{_B}/deployments", "list_model_deployments"),
        ("GET", _D, "get_model_deployment"),
        ("POST", rf"{_D}:stop", "stop_model_deployment"),
        ("POST", rf"{_D}:restart", "restart_model_deployment"),
        ("POST", rf"{_P}/jobs", "create_job"),
        ("GET", rf"{_P}/jobs", "list_jobs"),
        ("GET", _J, "get_job"),
        ("PATCH", _J, "update_job"),
        ("DELETE", _J, "delete_job"),
        ("POST", rf"{_J}/runs", "create_job_run"),
        ("GET", rf"{_J}/runs", "list_job_runs"),
        ("GET", rf"{_J}/runs/(?P<run_id>{_ID})", "get_job_run"),
        ("POST", r"/model", MODEL_CALL),
    ]
]


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the emulator received it (never the authorization header)."""

    method: str
    path: str
    operation: str
    query: dict[str, str]
    body: Any
    status: int = field(default=0, compare=False)


def route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    for route_method, pattern, operation in ROUTES:
        match = pattern.match(path)
        if match and route_method == method:
            return operation, match.groupdict()
    return None


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorHTTPServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: avoid 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log replaces stderr access lines

    def _send(self, status: int, payload: JsonDict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        emulator = self.server.emulator
        parts = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        found = route(self.command, parts.path)
        operation, params = found if found else ("", {})
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        status, payload, headers = emulator.dispatch(
            self.command, parts.path, operation, params, query, body, self.headers
        )
        emulator.log(LoggedRequest(self.command, parts.path, operation, query, body, status))
        if status == DROPPED:
            self.close_connection = True  # the client sees the connection end without an answer
            return
        self._send(status, payload, headers)

    do_GET = do_POST = do_PATCH = do_DELETE = _handle


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], emulator: CmlEmulator) -> None:
        super().__init__(address, _Handler)
        self.emulator = emulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, dropped connection) is normal here: note it, never print a traceback.
        error = sys.exc_info()[1]
        if isinstance(error, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)):
            log.debug("client %s went away: %s", client_address, error)
            return
        log.exception("emulator failed on a request from %s", client_address)


class CmlEmulator:
    """The emulated workspace served on loopback; use as a context manager or start()/stop()."""

    def __init__(
        self,
        state: EmulatorState | None = None,
        *,
        api_key: str,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: tuple[str, str] | None = None,
        model_loader: ScorerLoader | None = None,
    ) -> None:
        """`model_loader` gives the model service its models (see model_service.project_loader)."""
        if not api_key:
            raise ValueError("the emulator needs an API key")
        self._tls = tls  # (certificate file, key file): serve HTTPS, to exercise the client's verification
        self.state = state or EmulatorState()
        self._api_key = api_key
        self.model_service = ModelService(self.state, api_key, model_loader)
        self._host, self._port = host, port
        self.requests: list[LoggedRequest] = []
        self.calls: dict[str, int] = {}
        self._log_lock = threading.Lock()
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"CmlEmulator(url={self.url if self._server else None!r})"

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        host, port = self._server.server_address[:2]
        return f"{'https' if self._tls else 'http'}://{host!s}:{port}"

    def _bind(self) -> EmulatorHTTPServer:
        server = EmulatorHTTPServer((self._host, self._port), self)
        if self._tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self._tls)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        return server

    def start(self) -> CmlEmulator:
        self._server = self._bind()
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="cml-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.model_service.close()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> CmlEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve in the calling thread (the `cml-emulator` command); `on_ready` gets the bound URL."""
        self._server = self._bind()
        try:
            if on_ready is not None:
                on_ready(self.url)
            self._server.serve_forever()
        finally:
            self.model_service.close()
            self._server.server_close()
            self._server = None

    def log(self, entry: LoggedRequest) -> None:
        with self._log_lock:
            self.requests.append(entry)

    def requests_for(self, operation: str) -> list[LoggedRequest]:
        with self._log_lock:
            return [r for r in self.requests if r.operation == operation]

    def _authorised(self, headers: Any) -> bool:
        given = str(headers.get("authorization") or "")
        return hmac.compare_digest(given.encode(), f"Bearer {self._api_key}".encode())

    def dispatch(
        self,
        method: str,
        path: str,
        operation: str,
        params: dict[str, str],
        query: dict[str, str],
        body: Any,
        headers: Any,
    ) -> tuple[int, JsonDict, dict[str, str]]:
        """Answer one request: auth, then injected faults, then the state operation (or the model service)."""
        faults = self.state.faults
        try:
            # The model service checks its own credentials: the model's access key, and the API key if enabled.
            if operation != MODEL_CALL and not self._authorised(headers):
                raise ApiFault(401, "authentication required: missing or invalid API key")
            if not operation:
                raise ApiFault(404, f"no such endpoint: {method} {path}")
            if body is not None and not isinstance(body, dict) and operation != MODEL_CALL:
                raise ApiFault(400, "request body must be a JSON object")
            with self._log_lock:
                call = self.calls[operation] = self.calls.get(operation, 0) + 1
            delay = faults.slow.get(operation, faults.slow.get("*", 0.0))
            if delay > 0:
                time.sleep(delay)
            if call <= faults.rate_limited.get(operation, 0):
                fault = ApiFault(429, "too many requests")
                return 429, fault.body(), {"Retry-After": f"{faults.retry_after:g}"}
            if call in faults.dropped_calls.get(operation, ()):
                return DROPPED, {}, {}
            injected = faults.failing_calls.get(operation, {}).get(call)
            if injected:
                raise ApiFault(injected, f"injected failure of {operation} call {call}")
            if operation == MODEL_CALL:
                status, answer = self.model_service.answer(query, body, str(headers.get("authorization") or ""))
                return status, answer, {}
            with self.state.lock:
                handler = getattr(self.state, operation)
                # A deep copy taken under the lock: other threads advance these objects while we serialise.
                result = copy.deepcopy(handler(params, query, body or {}))
            lost = faults.failing_after_apply.get(operation, {}).get(call)
            if lost:
                raise ApiFault(lost, f"injected failure of {operation} call {call}, after it took effect")
            return 200, result, {}
        except ApiFault as fault:
            return fault.status, fault.body(), {}

"""The model server's ASGI application: a few routes, written against ASGI directly to keep each request cheap.

Routes:
- `POST /model`: the CML model envelope `{"accessKey": ..., "request": {...}}`. `request` is one record
  (field -> value), answered by `{"success": true, "response": <prediction>}`, or a batch
  `{"dataframe_split": ...}` / `{"dataframe_records": ...}`, answered by `{"success": true, "response":
  {"model_version": ..., "predictions": [...]}}`. Failures answer `{"success": false, "errors": [...]}`.
- `POST /invocations`: MLflow's scoring payloads (`dataframe_split`, `dataframe_records`), answered by
  `{"predictions": [...]}`; failures by `{"error_code": ..., "message": ..., "errors": [...]}`.
- `GET /health` and `GET /ping`: the served model and version, and `capture`: ok, off or degraded (then
  `capture_problem` says why, naming the spill directory; `status` is "degraded" too); no access key needed.
A prediction is `{"prediction_id": uuid4, "probability": ..., "label": ..., "model_version": ...}`.
Every prediction served on the public listener is captured into the prediction log (see capture.py); the
deployer's checks on the private listener, before the server takes traffic, are not.

The access key (when required) comes as the envelope's `accessKey`, as `Authorization: Bearer <key>`, or as the
`accessKey` query parameter (the CML API's other style); it is compared in constant time and never logged.
Bad input always gets a 4xx whose message names the field: 400 malformed, 401 access key, 404/405 route,
413 too large (body over `max_body_bytes`, refused from Content-Length before reading; batch over
`max_batch_rows`), 415 not JSON, 422 breaks the contract.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs

import orjson

from cml_mlops.serving.capture import Capture
from cml_mlops.serving.scoring import BATCH_KEYS as BATCH_KEYS  # re-exported: the emulator's model service uses it
from cml_mlops.serving.scoring import Observer, Prediction, Scorer, score_batch, score_request
from cml_mlops.serving.validation import FieldError, InvalidRequest

log = logging.getLogger(__name__)

ADMIN_LIVE_PATH = "/-/live"  # on the private listener only: makes a verified server take the public port
ADMIN_HEADER = b"x-cml-mlops-admin"
ADMIN_TOKEN_ENV = "CML_MLOPS_SERVING_ADMIN_TOKEN"  # noqa: S105 - a variable name; set by the deployer for its child only; popped at start
# Bodies larger than this are parsed, validated and scored in a worker thread, so that a big batch does not
# stall the event loop (health checks, small requests) for its whole duration.
THREAD_BODY_BYTES = 64 * 1024
# After refusing a body without reading it, read (and discard) what the client still sends, within these
# limits, so that it sees our answer instead of a connection reset.
DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 5.0

Scope = dict[str, Any]
T = TypeVar("T")
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Handler = Callable[[Scope, Receive], Awaitable["_Answer"]]
GoLive = Callable[[str, int, "str | None"], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class AppSettings:
    model_name: str
    access_key: str | None
    require_access_key: bool = True
    max_body_bytes: int = 5_000_000
    max_batch_rows: int = 10_000


@dataclass
class _Answer:
    status: int
    payload: Any
    unread_body: bool = False  # the request body was not (fully) read: drain it before finishing


class _Refused(Exception):
    """A request refused before its payload was understood (size, auth, JSON): same shape on every route."""

    def __init__(self, status: int, message: str, *, unread_body: bool = False, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.unread_body = unread_body
        self.errors = [FieldError(message, field)]


class ServingApp:
    """Serves one Scorer. `draining` (set by the server when it stops) asks every client to reconnect."""

    def __init__(
        self,
        scorer: Scorer,
        settings: AppSettings,
        *,
        admin_token: str | None = None,
        go_live: GoLive | None = None,
        capture: Capture | None = None,
    ) -> None:
        if settings.require_access_key and not settings.access_key:
            raise ValueError("an access key is required but none is set")
        self.scorer = scorer
        self.settings = settings
        self.capture = capture  # None: capture switched off
        self._key = settings.access_key.encode() if settings.access_key else None
        self._admin_token = admin_token.encode() if admin_token else None
        self.go_live = go_live
        self.private_port: int | None = None  # the listener that takes admin requests
        self.live = False
        self.draining = False
        self.pid = os.getpid()
        self._routes: dict[str, tuple[tuple[str, ...], Handler]] = {
            "/model": (("POST",), self._cml),
            "/invocations": (("POST",), self._invocations),
            "/health": (("GET", "HEAD"), self._health),
            "/ping": (("GET", "HEAD"), self._health),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets: not served
            return
        started = time.perf_counter()
        scope["_started"] = started
        route = self._route(scope)
        try:
            answer = await route(scope, receive)
        except _Refused as exc:
            answer = _Answer(exc.status, self._error_payload(scope, exc.status, exc.errors), exc.unread_body)
        except InvalidRequest as exc:
            answer = _Answer(exc.status, self._error_payload(scope, exc.status, exc.errors))
        except Exception:  # a bug or a broken model, never bad input: 500, details in the log only
            log.exception("scoring failed on %s", scope["path"])
            errors = [FieldError("internal error while scoring; the server log has the details")]
            answer = _Answer(500, self._error_payload(scope, 500, errors))
        if answer.status >= 400:
            log.info("%s %s -> %d %s", scope["method"], scope["path"], answer.status, _first_message(answer.payload))
        await self._send(scope, send, receive, answer, started)

    # -- routing ----------------------------------------------------------------------------------

    def _route(self, scope: Scope) -> Handler:
        path, method = scope["path"], scope["method"]
        route = self._routes.get(path)
        if route is None and path == ADMIN_LIVE_PATH and self._is_admin_listener(scope):
            route = (("POST",), self._admin_live)
        if route is None:
            return _refuse(404, f"no route {path}: use POST /model, POST /invocations or GET /health")
        methods, handler = route
        if method not in methods:
            return _refuse(405, f"{path} takes {' or '.join(methods)}, not {method}")
        return handler

    def _on_private_listener(self, scope: Scope) -> bool:
        server = scope.get("server") or (None, None)
        return self.private_port is not None and server[1] == self.private_port

    def _is_admin_listener(self, scope: Scope) -> bool:
        server = scope.get("server") or (None, None)
        return self._admin_token is not None and server[1] == self.private_port

    # -- handlers ---------------------------------------------------------------------------------

    async def _health(self, scope: Scope, receive: Receive) -> _Answer:
        capture = self.capture.health() if self.capture is not None else {"capture": "off"}
        status = "draining" if self.draining else "degraded" if capture["capture"] == "degraded" else "ok"
        return _Answer(
            200,
            {
                "status": status,
                "model_name": self.settings.model_name,
                "model_version": self.scorer.version,
                "live": self.live,
                "pid": self.pid,
                **capture,
            },
        )

    async def _cml(self, scope: Scope, receive: Receive) -> _Answer:
        authorized = self._authorize_from_headers(scope)
        body = await self._read_json(scope, receive)
        if not isinstance(body, dict):
            raise _Refused(400, 'the body must be a JSON object {"accessKey": ..., "request": {...}}')
        if not authorized:
            self._check_key(body.get("accessKey"), "accessKey")
        request = body.get("request")
        if not isinstance(request, dict):
            raise _Refused(400, "the envelope needs a 'request' object: one record, or dataframe_split/records")
        max_rows, observe = self.settings.max_batch_rows, self._observer(scope)
        response = await self._score(
            scope, lambda: score_request(self.scorer, request, max_batch_rows=max_rows, observe=observe)
        )
        return _Answer(200, {"success": True, "response": response})

    async def _invocations(self, scope: Scope, receive: Receive) -> _Answer:
        authorized = self._authorize_from_headers(scope)
        if not authorized:
            self._check_key(None, "Authorization", unread_body=True)
        body = await self._read_json(scope, receive)
        if not isinstance(body, dict):
            raise _Refused(400, "the body must be a JSON object with dataframe_split or dataframe_records")
        observe = self._observer(scope)
        predictions = await self._score(scope, lambda: self._batch(body, observe))
        return _Answer(200, {"predictions": predictions})

    async def _admin_live(self, scope: Scope, receive: Receive) -> _Answer:
        token = _header(scope, ADMIN_HEADER)
        if self._admin_token is None or not hmac.compare_digest(token or b"", self._admin_token):
            raise _Refused(401, "admin token missing or wrong")
        body = await self._read_json(scope, receive)
        if self.go_live is None or not isinstance(body, dict):
            raise _Refused(400, "expected {host, port, takeover}")
        try:
            result = await self.go_live(str(body["host"]), int(body["port"]), body.get("takeover"))
        except (OSError, KeyError, ValueError) as exc:
            log.error("could not take the public port: %s", exc)
            return _Answer(409, {"success": False, "errors": [{"message": f"could not take the public port: {exc}"}]})
        self.live = True
        return _Answer(200, {"success": True, **result})

    # -- pieces -----------------------------------------------------------------------------------

    def _batch(self, payload: dict[str, Any], observe: Observer | None) -> list[Prediction]:
        return score_batch(self.scorer, payload, max_batch_rows=self.settings.max_batch_rows, observe=observe)

    def _observer(self, scope: Scope) -> Observer | None:
        """What tells the capture about this request's predictions (latency counted from its arrival)."""
        capture = self.capture
        if capture is None or self._on_private_listener(scope):
            return None  # the deployer's health and smoke checks before the server takes traffic: not logged
        started = scope["_started"]
        return lambda columns, predictions: capture.observe(columns, predictions, started)

    async def _score(self, scope: Scope, work: Callable[[], T]) -> T:
        if scope.get("_body_size", 0) > THREAD_BODY_BYTES:
            return await asyncio.to_thread(work)
        return work()

    def _authorize_from_headers(self, scope: Scope) -> bool:
        """True when no key is needed or a Bearer/query key is right; refuse a wrong one before reading the body."""
        if not self.settings.require_access_key:
            return True
        header = _header(scope, b"authorization")
        if header is not None:
            scheme, _, key = header.partition(b" ")
            if scheme.lower() != b"bearer" or not key.strip():
                raise _Refused(401, "Authorization must be 'Bearer <access key>'", unread_body=True)
            self._check_key(key.strip(), "Authorization", unread_body=True)
            return True
        query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("accessKey")
        if query:
            self._check_key(query[0], "accessKey", unread_body=True)
            return True
        return False

    def _check_key(self, given: Any, where: str, *, unread_body: bool = False) -> None:
        if not self.settings.require_access_key:
            return
        if given is None or given == "":
            raise _Refused(
                401, "access key missing: send 'Authorization: Bearer <key>' (or, on /model, the envelope's accessKey)",
                unread_body=unread_body, field=where,
            )  # fmt: skip
        candidate = given if isinstance(given, bytes) else str(given).encode()
        assert self._key is not None
        if not hmac.compare_digest(candidate, self._key):
            raise _Refused(401, f"the access key given in {where} is wrong", unread_body=unread_body, field=where)

    async def _read_json(self, scope: Scope, receive: Receive) -> Any:
        content_type = _header(scope, b"content-type")
        if content_type is not None and b"json" not in content_type.lower():
            raise _Refused(
                415, f"Content-Type must be application/json, not {content_type.decode('latin-1')}", unread_body=True
            )
        limit = self.settings.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                raise _Refused(400, "Content-Length is not a number", unread_body=True) from None
            if size > limit:
                raise _Refused(413, _too_large(size, limit), unread_body=True)
        chunks: list[bytes] = []
        total = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Refused(400, "the client went away before sending the whole body")
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > limit:
                raise _Refused(
                    413, _too_large(total, limit, at_least=True), unread_body=message.get("more_body", False)
                )
            chunks.append(chunk)
            more = message.get("more_body", False)
        scope["_body_size"] = total
        if total == 0:
            raise _Refused(400, "empty body: send a JSON object")
        try:
            return orjson.loads(b"".join(chunks))  # strict JSON: NaN and Infinity are refused too
        except orjson.JSONDecodeError as exc:
            raise _Refused(400, f"malformed JSON: {exc}") from None

    def _error_payload(self, scope: Scope, status: int, errors: list[FieldError]) -> dict[str, Any]:
        listed = [error.to_dict() for error in errors]
        if scope["path"] == "/invocations":
            code = {
                401: "UNAUTHENTICATED",
                404: "ENDPOINT_NOT_FOUND",
                413: "RESOURCE_LIMIT_EXCEEDED",
                500: "INTERNAL_ERROR",
            }
            message = str(InvalidRequest(status, errors))
            return {"error_code": code.get(status, "INVALID_PARAMETER_VALUE"), "message": message, "errors": listed}
        return {"success": False, "errors": listed}

    async def _send(self, scope: Scope, send: Send, receive: Receive, answer: _Answer, started: float) -> None:
        body = orjson.dumps(answer.payload)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            # How long the server spent on the request: what the latency benchmark reads.
            (b"server-timing", f"app;dur={(time.perf_counter() - started) * 1000:.3f}".encode()),
        ]
        if answer.status == 401:
            headers.append((b"www-authenticate", b'Bearer realm="model"'))
        if self.draining or answer.unread_body:
            headers.append((b"connection", b"close"))  # reconnect: the successor server takes the connection
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        if answer.unread_body and _header(scope, b"expect") is None:  # a client waiting for 100-continue sends nothing
            await _drain(receive)
        await send({"type": "http.response.body", "body": body})


def _refuse(status: int, message: str) -> Handler:
    async def handler(scope: Scope, receive: Receive) -> _Answer:
        raise _Refused(status, message, unread_body=scope["method"] in ("POST", "PUT", "PATCH"))

    return handler


async def _drain(receive: Receive) -> None:
    """Read and drop the rest of a refused body (bounded), so that the client reads our answer, not a reset."""
    deadline = time.monotonic() + DRAIN_SECONDS
    drained = 0
    while drained < DRAIN_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        try:
            message = await asyncio.wait_for(receive(), timeout=remaining)
        except asyncio.TimeoutError:
            return
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        drained += len(message.get("body", b""))


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _too_large(size: int, limit: int, *, at_least: bool = False) -> str:
    amount = f"{'more than ' if at_least else ''}{limit if at_least else size} bytes"
    return f"request body of {amount} is over the limit of {limit} bytes (serving.max_body_bytes)"


def _first_message(payload: Any) -> str:
    if isinstance(payload, dict):
        if "message" in payload:
            return str(payload["message"])
        errors = payload.get("errors") or []
        if errors and isinstance(errors[0], dict):
            return str(errors[0].get("message", ""))
    return ""

"""The deployed model's endpoint, and a client that posts records to it in the CML envelope over real HTTP.

Any target works through `DeploymentTarget.status()`: the local server's URL, or a CML model's service URL
(`https://modelservice.<domain>/model`). The client accepts both response shapes CML produces: the model's
return value (`{"response": {...prediction...}}`) and, for models with metrics on, the wrapped one
(`{"response": {"uuid": ..., "prediction": {...}}}`), whose uuid is then the prediction's id.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import orjson
import requests

from cml_mlops.config import ProjectConfig
from cml_mlops.deploy.base import get_target
from cml_mlops.serving import answers
from cml_mlops.serving.answers import Answer
from cml_mlops.serving.process import access_key
from cml_mlops.simulation.errors import SimulationError

MODEL_ROUTE = "/model"
RETRY_STATUSES = frozenset({429, 502, 503, 504})  # busy (CML's model.busy) or a replica restarting
RETRY_BASE_SECONDS = 0.2


@dataclass(frozen=True)
class Endpoint:
    """Where to send requests and with which credentials (secrets: never print this object)."""

    target: str
    url: str
    model_name: str
    version: str
    access_key: str | None
    bearer: str | None

    def __repr__(self) -> str:
        return f"Endpoint(target={self.target!r}, url={self.url!r}, version={self.version!r})"


class RequestFailed(Exception):
    """One request got no usable answer (after its retries); the message is safe to show."""


def parse_answers(payload: Any, expected: int) -> list[Answer]:
    """One Answer per record sent (see cml_mlops.serving.answers); RequestFailed when the answer has none."""
    try:
        return answers.parse_answers(payload, expected)
    except answers.AnswerError as exc:
        raise RequestFailed(str(exc)) from None


def resolve_endpoint(config: ProjectConfig, target_name: str) -> Endpoint:
    """The healthy deployment of `target_name`; SimulationError when nothing (healthy) is deployed there."""
    status = get_target(target_name, config).status()
    deployment = status.deployment
    if deployment is None:
        raise SimulationError(
            f"nothing is deployed to {target_name}: run `cml-mlops deploy --target {target_name}` first"
        )
    if not status.healthy:
        raise SimulationError(f"the {target_name} deployment does not answer: {status.message}")
    url = deployment.endpoint.rstrip("/")
    if not url.endswith(MODEL_ROUTE):
        url += MODEL_ROUTE
    details = deployment.details or {}
    # CML: the model's own access key travels in the envelope, the API key as the bearer of auth-enabled models.
    key = details.get("access_key") or access_key(config)
    bearer = None
    if target_name == "cml" and config.cml.api_key is not None:
        bearer = config.cml.api_key.get_secret_value() or None
    return Endpoint(target_name, url, deployment.model_name, str(deployment.version), key, bearer)


class EndpointClient:
    """Posts records to an endpoint; one keep-alive session per thread, retries of busy answers with backoff."""

    def __init__(self, endpoint: Endpoint, *, timeout: float = 30.0, retries: int = 3) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = retries
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._headers = {"Content-Type": "application/json"}
        if endpoint.bearer:
            self._headers["Authorization"] = f"Bearer {endpoint.bearer}"

    def predict(self, records: list[dict[str, Any]]) -> list[Answer]:
        """One prediction per record, in order; RequestFailed when the endpoint gives none."""
        request: Any = records[0] if len(records) == 1 else {"dataframe_records": records}
        envelope: dict[str, Any] = {"request": request}
        if self.endpoint.access_key:
            envelope["accessKey"] = self.endpoint.access_key
        body = orjson.dumps(envelope)
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._session().post(self.endpoint.url, data=body, headers=self._headers,
                                                timeout=self.timeout)  # fmt: skip
            except requests.RequestException as exc:
                if last:
                    raise RequestFailed(f"no answer from {self.endpoint.url}: {type(exc).__name__}") from None
            else:
                if response.status_code == 200:
                    return parse_answers(_json(response), len(records))
                if response.status_code not in RETRY_STATUSES or last:
                    raise RequestFailed(f"HTTP {response.status_code}: {_error_message(response)}")
            time.sleep(RETRY_BASE_SECONDS * 2**attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session


def _json(response: requests.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise RequestFailed(f"HTTP 200 with a body that is not JSON: {response.text[:200]!r}") from None


def _error_message(response: requests.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:200] or response.reason
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message", ""))[:300]
        if "message" in payload:
            return str(payload["message"])[:300]
    return _shorten(payload)


def _shorten(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."

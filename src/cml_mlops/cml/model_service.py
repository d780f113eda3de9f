"""Calling a model deployed on CML through the workspace's model service.

`POST https://modelservice.<domain>/model` with `{"accessKey": <the model's access key>, "request": ...}` and,
for models with authentication enabled, `Authorization: Bearer <API v2 key>`. The answer is
`{"success": true, "response": <the model's return>}`, where registry (metrics-enabled) models wrap their
return as `{"uuid": ..., "prediction": ...}`; `unwrap` (cml_mlops.serving.answers) accepts both.

A workspace reached by IP address or `localhost` has no DNS name to put `modelservice.` in front of (a local
emulator): its model service is looked for at the same origin, `<workspace URL>/model`.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from cml_mlops.cml.client import backoff_delay
from cml_mlops.errors import CmlMlopsError
from cml_mlops.serving import answers
from cml_mlops.serving.answers import Unwrapped

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})  # 429 = no free replica (`model.busy`)


class ModelServiceError(CmlMlopsError):
    """A model call failed: `status` is the HTTP status (0: no answer)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def model_service_url(workspace_url: str) -> str:
    """The model service of the workspace at `workspace_url` (scheme://host[:port])."""
    parts = urlsplit(workspace_url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
        by_address = True
    except ValueError:
        by_address = host == "localhost"
    if by_address:
        return urlunsplit((parts.scheme, parts.netloc, "/model", "", ""))
    netloc = f"modelservice.{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, "/model", "", ""))


ModelAnswer = Unwrapped  # a successful model call: the prediction, and its uuid when the model tracks metrics


def unwrap(payload: Any) -> ModelAnswer:
    """The prediction from a model service answer, wrapped (`{"uuid", "prediction", ...}`) or not."""
    try:
        return answers.unwrap(payload)
    except answers.AnswerError as exc:
        raise ModelServiceError(200, str(exc)) from None


class ModelServiceClient:
    """Calls one deployed model (by its access key); retries 429/5xx and dropped connections, briefly."""

    def __init__(
        self,
        url: str,
        access_key: str,
        api_key: str | None,
        *,
        verify: bool | str = True,
        timeout: float = 30.0,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self.__access_key = access_key
        self.__api_key = api_key
        self.verify = verify
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self._sleep = sleep
        self._session = requests.Session()
        self.request_count = 0

    def __repr__(self) -> str:
        return f"ModelServiceClient(url={self.url!r})"

    def close(self) -> None:
        self._session.close()

    def _redact(self, text: str) -> str:
        for secret in (self.__api_key, self.__access_key):
            if secret:
                text = text.replace(secret, "***")
        return text

    def call(self, request: Any) -> ModelAnswer:
        """Send `request` (the model function's input) and return the unwrapped answer."""
        headers = {"authorization": f"Bearer {self.__api_key}"} if self.__api_key else {}
        envelope = {"accessKey": self.__access_key, "request": request}
        attempt = 0
        while True:
            attempt += 1
            self.request_count += 1
            response: requests.Response | None = None
            try:
                response = self._session.post(
                    self.url, json=envelope, headers=headers, timeout=self.timeout, verify=self.verify
                )
            except requests.exceptions.SSLError as exc:
                raise ModelServiceError(0, f"TLS failure calling {self.url}: {self._redact(str(exc))}") from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure = f"{type(exc).__name__}: {self._redact(str(exc))}"
            else:
                if response.status_code == 200:
                    return unwrap(_json(response))
                failure = f"HTTP {response.status_code}: {self._redact(_messages(response))}"
                if response.status_code not in RETRY_STATUSES:
                    raise ModelServiceError(response.status_code, f"{self.url} answered {failure}")
            if attempt >= self.max_attempts:
                status = response.status_code if response is not None else 0
                raise ModelServiceError(status, f"{self.url}: no answer after {attempt} attempts ({failure})")
            retry_after = response.headers.get("Retry-After") if response is not None else None
            delay = backoff_delay(attempt, retry_after, self.backoff_base, 10.0)
            log.warning("model call to %s: %s, retry %d in %.2fs", self.url, failure, attempt, delay)
            self._sleep(delay)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ModelServiceError(response.status_code, f"the model answer is not JSON: {response.text[:200]}") from None


def _messages(response: requests.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:300]
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if isinstance(errors, list) and errors:
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)[:500]
    return str(payload)[:300]

"""A plain-HTTP client for Cloudera ML API v2 with `cmlapi`'s method names and positional argument order.

Responses are the API's JSON as dicts (int64 fields stay strings, response `environment` stays a JSON string).
Request bodies may be dicts or `cmlapi`-style model objects (anything with `to_dict()`).
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests

from cml_mlops.cml.errors import CmlApiError
from cml_mlops.errors import ConfigError
from cml_mlops.json_types import JsonDict

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def _base_url_from_env(environ: Mapping[str, str]) -> str | None:
    # CDSW_API_URL is https://<domain>/api/v1: keep its scheme, drop the v1 path.
    api_url = environ.get("CDSW_API_URL", "").strip()
    if api_url:
        return api_url.rstrip("/").removesuffix("/api/v1")
    domain = environ.get("CDSW_DOMAIN", "").strip()
    if domain:
        return domain if "://" in domain else f"https://{domain}"
    return None


def backoff_delay(attempt: int, retry_after: str | None, base: float, maximum: float) -> float:
    """Seconds to wait before retry `attempt` (1-based): the server's Retry-After seconds (capped at `maximum`)
    when it sent a number, else exponential backoff with jitter."""
    if retry_after:
        try:
            # Honoured, but never beyond `maximum`: one call must not block for an hour.
            return min(maximum, max(0.0, float(retry_after)))
        except ValueError:
            pass  # an HTTP date: fall back to backoff
    ceiling = min(maximum, base * (2 ** (attempt - 1)))
    # Jitter spreads simultaneous clients; half the delay stays as a floor.
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - not cryptographic


def _normalise_base(url: str) -> str:
    url = url.rstrip("/")
    for suffix in ("/api/v2", "/api/v1"):
        url = url.removesuffix(suffix)
    if not url.startswith(("https://", "http://")):
        url = f"https://{url}"
    return url


def _body(body: Any) -> JsonDict:
    if body is None:
        return {}
    if isinstance(body, Mapping):
        return dict(body)
    to_dict = getattr(body, "to_dict", None)
    if callable(to_dict):
        result = to_dict()
        # cmlapi model objects include unset fields as None; the API treats absent and null alike.
        return {k: v for k, v in result.items() if v is not None}
    raise TypeError(f"request body must be a mapping or have to_dict(), got {type(body).__name__}")


class CmlClient:
    """Cloudera ML API v2 over HTTP(S).

    Configuration comes from the arguments, else from the workspace environment (`CDSW_API_URL` or
    `CDSW_DOMAIN`, `CDSW_APIV2_KEY`, `CDSW_PROJECT_ID`). Retries 429 (honouring Retry-After), 5xx and
    connection errors with exponential backoff and jitter, up to `max_attempts` calls per operation
    (creates too: a create answered 5xx may have been applied; callers that must not duplicate check first).
    Not thread-safe (one `requests.Session`, plain counters): use one client per thread.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        project_id: str | None = None,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        verify: bool = True,
        ca_bundle: str | None = None,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        env = os.environ if environ is None else environ
        resolved_url = url or _base_url_from_env(env)
        if not resolved_url:
            raise ConfigError("CML API URL unknown: pass url= or set CDSW_API_URL or CDSW_DOMAIN")
        key = api_key or env.get("CDSW_APIV2_KEY", "")
        if not key:
            raise ConfigError("CML API v2 key unknown: pass api_key= or set CDSW_APIV2_KEY")
        if max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, got {max_attempts}")
        if timeout <= 0:
            raise ConfigError(f"timeout must be positive, got {timeout}")
        self.base_url = _normalise_base(resolved_url)
        self.project_id = project_id or env.get("CDSW_PROJECT_ID") or None
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self.__key = key
        self._session = requests.Session()
        # A CA bundle implies verification against it; verify=False is an explicit opt-out. Passed on every
        # request: a Session-level value is overridden by REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE (requests#3829).
        self.verify: bool | str = ca_bundle if ca_bundle else verify
        self._session.headers.update({"accept": "application/json"})
        self.request_count = 0  # HTTP requests sent, retries included
        self.retry_count = 0  # of which retries

    def __repr__(self) -> str:
        return f"CmlClient(url={self.base_url!r}, project_id={self.project_id!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> CmlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return text.replace(self.__key, "***")

    def _delay(self, attempt: int, response: requests.Response | None) -> float:
        rate_limited = response is not None and response.status_code == 429
        retry_after = response.headers.get("Retry-After") if response is not None and rate_limited else None
        return backoff_delay(attempt, retry_after, self.backoff_base, self.backoff_max)

    def _error(self, operation: str, response: requests.Response) -> CmlApiError:
        message = response.reason or "error"
        code = None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            message = str(payload.get("message") or payload.get("error") or message)
            code = payload.get("code") if isinstance(payload.get("code"), int) else None
        elif response.text:
            message = response.text[:500]
        return CmlApiError(response.status_code, self._redact(message), code=code, operation=operation)

    def _request(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: JsonDict | None = None,
    ) -> JsonDict:
        url = f"{self.base_url}/api/v2{path}"
        headers = {"authorization": f"Bearer {self.__key}"}
        attempt = 0
        while True:
            attempt += 1
            self.request_count += 1
            response: requests.Response | None = None
            failure: str
            try:
                response = self._session.request(
                    method, url, params=params, json=body, headers=headers, timeout=self.timeout, verify=self.verify
                )
            except requests.exceptions.SSLError as exc:
                # A certificate problem does not heal on retry.
                raise CmlApiError(0, f"TLS failure: {self._redact(str(exc))}", operation=operation) from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure = f"{type(exc).__name__}: {self._redact(str(exc))}"
            else:
                if response.status_code < 400:
                    if not response.content:
                        return {}
                    try:
                        data = response.json()
                    except ValueError as exc:
                        raise CmlApiError(response.status_code, "response is not JSON", operation=operation) from exc
                    return data if isinstance(data, dict) else {"value": data}
                if response.status_code not in RETRY_STATUSES:
                    raise self._error(operation, response)
                failure = f"HTTP {response.status_code}"
            if attempt >= self.max_attempts:
                if response is not None:
                    raise self._error(operation, response)
                raise CmlApiError(0, f"no response after {attempt} attempts ({failure})", operation=operation)
            delay = self._delay(attempt, response)
            log.warning("%s %s: %s, retry %d in %.2fs", method, path, failure, attempt, delay)
            self.retry_count += 1
            self._sleep(delay)

    def _list(self, path: str, operation: str, kwargs: Mapping[str, Any]) -> JsonDict:
        params: dict[str, Any] = {}
        for name, value in kwargs.items():
            if value is None:
                continue
            if name == "search_filter" and not isinstance(value, str):
                value = json.dumps(value)  # the API takes the filter as a JSON object string
            elif isinstance(value, bool):
                value = "true" if value else "false"
            params[name] = value
        return self._request("GET", path, operation, params=params)

    # -- pagination ------------------------------------------------------------------------------------------

    @staticmethod
    def iterate(list_method: Callable[..., JsonDict], *args: Any, **filters: Any) -> Iterator[JsonDict]:
        """Yield every item of a `list_*` call, following `next_page_token` with the same filters."""
        token: str | None = filters.pop("page_token", None)
        seen: set[str] = set()
        while True:
            page = list_method(*args, **filters, **({"page_token": token} if token else {}))
            lists = [v for k, v in page.items() if isinstance(v, list) and k != "details"]
            if len(lists) > 1:
                raise CmlApiError(0, f"ambiguous list page with keys {sorted(page)}")
            yield from lists[0] if lists else []
            token = page.get("next_page_token") or None
            if token is None:
                return
            if token in seen:  # a server that repeats a token would loop forever
                raise CmlApiError(0, f"list pagination repeated page token {token!r}")
            seen.add(token)

    # -- projects and runtimes -------------------------------------------------------------------------------

    def list_projects(self, **kwargs: Any) -> JsonDict:
        return self._list("/projects", "list_projects", kwargs)

    def get_project(self, project_id: str) -> JsonDict:
        return self._request("GET", f"/projects/{project_id}", "get_project")

    def list_runtimes(self, **kwargs: Any) -> JsonDict:
        return self._list("/runtimes", "list_runtimes", kwargs)

    # -- model registry --------------------------------------------------------------------------------------

    def create_registered_model(self, body: Any) -> JsonDict:
        return self._request("POST", "/registry/models", "create_registered_model", body=_body(body))

    def list_registered_models(self, **kwargs: Any) -> JsonDict:
        return self._list("/registry/models", "list_registered_models", kwargs)

    def get_registered_model(self, model_id: str, **kwargs: Any) -> JsonDict:
        return self._list(f"/registry/models/{model_id}", "get_registered_model", kwargs)

    def get_registered_model_version(self, model_id: str, version_id: str) -> JsonDict:
        path = f"/registry/models/{model_id}/versions/{version_id}"
        return self._request("GET", path, "get_registered_model_version")

    def delete_registered_model_version(self, model_id: str, version_id: str) -> JsonDict:
        path = f"/registry/models/{model_id}/versions/{version_id}"
        return self._request("DELETE", path, "delete_registered_model_version")

    # -- models, builds, deployments -------------------------------------------------------------------------

    def create_model(self, body: Any, project_id: str) -> JsonDict:
        return self._request("POST", f"/projects/{project_id}/models", "create_model", body=_body(body))

    def list_models(self, project_id: str, **kwargs: Any) -> JsonDict:
        return self._list(f"/projects/{project_id}/models", "list_models", kwargs)

    def get_model(self, project_id: str, model_id: str) -> JsonDict:
        return self._request("GET", f"/projects/{project_id}/models/{model_id}", "get_model")

    def delete_model(self, project_id: str, model_id: str) -> JsonDict:
        return self._request("DELETE", f"/projects/{project_id}/models/{model_id}", "delete_model")

    def create_model_build(self, body: Any, project_id: str, model_id: str) -> JsonDict:
        path = f"/projects/{project_id}/models/{model_id}/builds"
        return self._request("POST", path, "create_model_build", body=_body(body))

    def list_model_builds(self, project_id: str, model_id: str, **kwargs: Any) -> JsonDict:
        return self._list(f"/projects/{project_id}/models/{model_id}/builds", "list_model_builds", kwargs)

    def get_model_build(self, project_id: str, model_id: str, build_id: str) -> JsonDict:
        path = f"/projects/{project_id}/models/{model_id}/builds/{build_id}"
        return self._request("GET", path, "get_model_build")

    def delete_model_build(self, project_id: str, model_id: str, build_id: str) -> JsonDict:
        path = f"/projects/{project_id}/models/{model_id}/builds/{build_id}"
        return self._request("DELETE", path, "delete_model_build")

    def create_model_deployment(self, body: Any, project_id: str, model_id: str, build_id: str) -> JsonDict:
        path = f"/projects/{project_id}/models/{model_id}/builds/{build_id}/deployments"
        return self._request("POST", path, "create_model_deployment", body=_body(body))

    def list_model_deployments(self, project_id: str, model_id: str, build_id: str, **kwargs: Any) -> JsonDict:
        path = f"/projects/{project_id}/models/{model_id}/builds/{build_id}/deployments"
        return self._list(path, "list_model_deployments", kwargs)

    def get_model_deployment(self, project_id: str, model_id: str, build_id: str, deployment_id: str) -> JsonDict:
        path = f"/projects/{project_id}/models/{model_id}/builds/{build_id}/deployments/{deployment_id}"
        return self._request("GET", path, "get_model_deployment")

    def stop_model_deployment(self, project_id: str, model_id: str, build_id: str, deployment_id: str) -> JsonDict:
        path = f"/projects/{project_id}/models/{model_id}/builds/{build_id}/deployments/{deployment_id}:stop"
        return self._request("POST", path, "stop_model_deployment", body={})

    def restart_model_deployment(
        self, project_id: str, model_id: str, build_id: str, deployment_id: str, body: Any = None
    ) -> JsonDict:
        # The spec has no request body; `body` is accepted (and ignored if empty) for cmlapi-style callers.
        path = f"/projects/{project_id}/models/{model_id}/builds/{build_id}/deployments/{deployment_id}:restart"
        return self._request("POST", path, "restart_model_deployment", body=_body(body))

    # -- jobs and job runs -----------------------------------------------------------------------------------

    def create_job(self, body: Any, project_id: str) -> JsonDict:
        return self._request("POST", f"/projects/{project_id}/jobs", "create_job", body=_body(body))

    def list_jobs(self, project_id: str, **kwargs: Any) -> JsonDict:
        return self._list(f"/projects/{project_id}/jobs", "list_jobs", kwargs)

    def get_job(self, project_id: str, job_id: str) -> JsonDict:
        return self._request("GET", f"/projects/{project_id}/jobs/{job_id}", "get_job")

    def update_job(self, body: Any, project_id: str, job_id: str) -> JsonDict:
        return self._request("PATCH", f"/projects/{project_id}/jobs/{job_id}", "update_job", body=_body(body))

    def delete_job(self, project_id: str, job_id: str) -> JsonDict:
        return self._request("DELETE", f"/projects/{project_id}/jobs/{job_id}", "delete_job")

    def create_job_run(self, body: Any, project_id: str, job_id: str) -> JsonDict:
        path = f"/projects/{project_id}/jobs/{job_id}/runs"
        return self._request("POST", path, "create_job_run", body=_body(body))

    def list_job_runs(self, project_id: str, job_id: str, **kwargs: Any) -> JsonDict:
        return self._list(f"/projects/{project_id}/jobs/{job_id}/runs", "list_job_runs", kwargs)

    def get_job_run(self, project_id: str, job_id: str, run_id: str) -> JsonDict:
        return self._request("GET", f"/projects/{project_id}/jobs/{job_id}/runs/{run_id}", "get_job_run")

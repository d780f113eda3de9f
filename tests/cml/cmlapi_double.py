"""A stand-in for `cmlapi`, which only CML workspaces serve (it is not on PyPI), for the adapter tests.

It has the generated client's shape as the reference describes it: `Configuration` (host, verify_ssl,
ssl_ca_cert), `ApiClient(configuration)` with `set_default_header`, `CMLServiceApi(api_client)` whose methods
take path parameters positionally in the documented order (body first on creates) and optional query
parameters as keywords, responses with attribute access and `to_dict()`, and `rest.ApiException` with
`status`, `reason`, `body` and `headers`. Like swagger-codegen clients it speaks HTTP through urllib3 and
does not retry. Only the operations the tests use are here; an unexpected keyword is a TypeError.
"""

from __future__ import annotations

import json
import types
from typing import Any
from urllib.parse import quote

import urllib3


class ApiException(Exception):
    def __init__(self, status: int = 0, reason: str = "", body: str | None = None, headers: Any = None) -> None:
        super().__init__(f"({status})\nReason: {reason}\nHTTP response body: {body}")
        self.status, self.reason, self.body, self.headers = status, reason, body, headers


class Configuration:
    def __init__(self) -> None:
        self.host = "http://localhost"
        self.verify_ssl = True
        self.ssl_ca_cert: str | None = None


class ApiClient:
    def __init__(self, configuration: Configuration | None = None) -> None:
        self.configuration = configuration or Configuration()
        self.default_headers: dict[str, str] = {}
        cert_reqs = "CERT_REQUIRED" if self.configuration.verify_ssl else "CERT_NONE"
        self.pool = urllib3.PoolManager(cert_reqs=cert_reqs, ca_certs=self.configuration.ssl_ca_cert, retries=False)
        self.calls: list[tuple[str, str]] = []

    def set_default_header(self, name: str, value: str) -> None:
        self.default_headers[name] = value

    def call_api(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None) -> Any:
        self.calls.append((method, path))
        fields = {k: v for k, v in (query or {}).items() if v is not None}
        encoded = json.dumps(body.to_dict() if hasattr(body, "to_dict") else body) if body is not None else None
        headers = {"Accept": "application/json", "Content-Type": "application/json", **self.default_headers}
        url = self.configuration.host.rstrip("/") + path
        if fields:
            url += "?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in fields.items())
        response = self.pool.request(method, url, body=encoded, headers=headers, timeout=10)
        text = response.data.decode()
        if not 200 <= response.status < 300:
            raise ApiException(response.status, response.reason or "", text, dict(response.headers))
        return _Model(json.loads(text)) if text else None


class _Model:
    """A response object: attribute access plus to_dict(), as generated models offer."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._data))


def _list_query(search_filter: str | None, sort: str | None, page_size: int | None, page_token: str | None) -> dict:
    return {"search_filter": search_filter, "sort": sort, "page_size": page_size, "page_token": page_token}


class CMLServiceApi:
    def __init__(self, api_client: ApiClient | None = None) -> None:
        self.api_client = api_client or ApiClient()

    def _call(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None) -> Any:
        return self.api_client.call_api(method, "/api/v2" + path, query, body)

    # projects and jobs
    def list_projects(
        self, search_filter: str | None = None, sort: str | None = None, page_size: int | None = None,
        page_token: str | None = None, include_public_projects: bool | None = None,
    ) -> Any:  # fmt: skip
        return self._call("GET", "/projects", _list_query(search_filter, sort, page_size, page_token))

    def get_project(self, project_id: str) -> Any:
        return self._call("GET", f"/projects/{project_id}")

    def create_job(self, body: Any, project_id: str) -> Any:
        return self._call("POST", f"/projects/{project_id}/jobs", body=body)

    def list_jobs(
        self, project_id: str, search_filter: str | None = None, sort: str | None = None,
        page_size: int | None = None, page_token: str | None = None,
    ) -> Any:  # fmt: skip
        return self._call(
            "GET", f"/projects/{project_id}/jobs", _list_query(search_filter, sort, page_size, page_token)
        )

    def get_job(self, project_id: str, job_id: str) -> Any:
        return self._call("GET", f"/projects/{project_id}/jobs/{job_id}")

    # registry
    def create_registered_model(self, body: Any) -> Any:
        return self._call("POST", "/registry/models", body=body)

    def list_registered_models(
        self, search_filter: str | None = None, sort: str | None = None, page_size: int | None = None,
        page_token: str | None = None,
    ) -> Any:  # fmt: skip
        return self._call("GET", "/registry/models", _list_query(search_filter, sort, page_size, page_token))

    def get_registered_model(
        self, model_id: str, search_filter: str | None = None, sort: str | None = None,
        page_size: int | None = None, page_token: str | None = None,
    ) -> Any:  # fmt: skip
        query = _list_query(search_filter, sort, page_size, page_token)
        return self._call("GET", f"/registry/models/{model_id}", query)

    def delete_registered_model_version(self, model_id: str, version_id: str) -> Any:
        return self._call("DELETE", f"/registry/models/{model_id}/versions/{version_id}")

    # models
    def create_model(self, body: Any, project_id: str) -> Any:
        return self._call("POST", f"/projects/{project_id}/models", body=body)

    def list_models(
        self, project_id: str, search_filter: str | None = None, sort: str | None = None,
        page_size: int | None = None, page_token: str | None = None,
    ) -> Any:  # fmt: skip
        query = _list_query(search_filter, sort, page_size, page_token)
        return self._call("GET", f"/projects/{project_id}/models", query)

    def get_model(self, project_id: str, model_id: str) -> Any:
        return self._call("GET", f"/projects/{project_id}/models/{model_id}")

    def delete_model(self, project_id: str, model_id: str) -> Any:
        return self._call("DELETE", f"/projects/{project_id}/models/{model_id}")

    # builds
    def create_model_build(self, body: Any, project_id: str, model_id: str) -> Any:
        return self._call("POST", f"/projects/{project_id}/models/{model_id}/builds", body=body)

    def list_model_builds(
        self, project_id: str, model_id: str, search_filter: str | None = None, sort: str | None = None,
        page_size: int | None = None, page_token: str | None = None,
    ) -> Any:  # fmt: skip
        query = _list_query(search_filter, sort, page_size, page_token)
        return self._call("GET", f"/projects/{project_id}/models/{model_id}/builds", query)

    def get_model_build(self, project_id: str, model_id: str, build_id: str) -> Any:
        return self._call("GET", f"/projects/{project_id}/models/{model_id}/builds/{build_id}")

    def delete_model_build(self, project_id: str, model_id: str, build_id: str) -> Any:
        return self._call("DELETE", f"/projects/{project_id}/models/{model_id}/builds/{build_id}")

    # deployments
    def create_model_deployment(self, body: Any, project_id: str, model_id: str, build_id: str) -> Any:
        path = f"/projects/{project_id}/models/{model_id}/builds/{build_id}/deployments"
        return self._call("POST", path, body=body)

    def list_model_deployments(
        self, project_id: str, model_id: str, build_id: str, search_filter: str | None = None,
        page_size: int | None = None, page_token: str | None = None, sort: str | None = None,
    ) -> Any:  # fmt: skip
        path = f"/projects/{project_id}/models/{model_id}/builds/{build_id}/deployments"
        return self._call("GET", path, _list_query(search_filter, sort, page_size, page_token))

    def get_model_deployment(self, project_id: str, model_id: str, build_id: str, deployment_id: str) -> Any:
        path = f"/projects/{project_id}/models/{model_id}/builds/{build_id}/deployments/{deployment_id}"
        return self._call("GET", path)

    def stop_model_deployment(self, project_id: str, model_id: str, build_id: str, deployment_id: str) -> Any:
        path = f"/projects/{project_id}/models/{model_id}/builds/{build_id}/deployments/{deployment_id}:stop"
        return self._call("POST", path, body={})

    def restart_model_deployment(self, project_id: str, model_id: str, build_id: str, deployment_id: str) -> Any:
        path = f"/projects/{project_id}/models/{model_id}/builds/{build_id}/deployments/{deployment_id}:restart"
        return self._call("POST", path, body={})


class CMLServiceApiRestartWithBody(CMLServiceApi):
    """The other plausible generated signature: `restart_model_deployment(body, project_id, ...)`."""

    def restart_model_deployment(  # type: ignore[override]
        self, body: Any, project_id: str, model_id: str, build_id: str, deployment_id: str
    ) -> Any:
        path = f"/projects/{project_id}/models/{model_id}/builds/{build_id}/deployments/{deployment_id}:restart"
        return self._call("POST", path, body=body)


def default_client(url: str | None = None, cml_api_key: str | None = None) -> CMLServiceApi:
    if not url or not cml_api_key:
        raise ValueError("include the keyword arguments url and cml_api_key")
    configuration = Configuration()
    configuration.host = url
    client = ApiClient(configuration)
    client.set_default_header("authorization", f"Bearer {cml_api_key}")
    return CMLServiceApi(client)


def module(*, restart_takes_body: bool = False) -> types.ModuleType:
    """A `cmlapi` module object (with `cmlapi.rest`), to put into sys.modules."""
    cmlapi = types.ModuleType("cmlapi")
    rest = types.ModuleType("cmlapi.rest")
    rest.ApiException = ApiException  # type: ignore[attr-defined]
    cmlapi.rest = rest  # type: ignore[attr-defined]
    cmlapi.Configuration = Configuration  # type: ignore[attr-defined]
    cmlapi.ApiClient = ApiClient  # type: ignore[attr-defined]
    cmlapi.CMLServiceApi = CMLServiceApiRestartWithBody if restart_takes_body else CMLServiceApi  # type: ignore[attr-defined]
    cmlapi.default_client = default_client  # type: ignore[attr-defined]
    return cmlapi

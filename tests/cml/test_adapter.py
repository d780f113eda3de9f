"""The `cmlapi` adapter, through a double with cmlapi's signatures (cmlapi itself cannot be installed here)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from cml_mlops.cml import CmlApiError, CmlClient
from cml_mlops.cml.adapter import CmlapiAdapter
from cml_mlops.cml.connect import Workspace, connect
from cml_mlops.cml.emulator import CmlEmulator, Faults
from cml_mlops.config import CmlSection
from cml_mlops.errors import ConfigError
from tests.cml import cmlapi_double
from tests.cml.conftest import API_KEY, PROJECT
from tests.cml.helpers import built_model, wait_status
from tests.support.net import free_port


@pytest.fixture
def cmlapi(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """`import cmlapi` finds the double, as it finds the real one on a CML runtime."""
    module = cmlapi_double.module()
    monkeypatch.setitem(sys.modules, "cmlapi", module)
    monkeypatch.setitem(sys.modules, "cmlapi.rest", module.rest)  # type: ignore[attr-defined]
    yield module


def workspace_of(emulator: CmlEmulator, verify: bool | str = True) -> Workspace:
    return Workspace(emulator.url, PROJECT, SecretStr(API_KEY), verify)


@pytest.fixture
def adapter(cmlapi: object, emulator: CmlEmulator, sleeps: list[float]) -> CmlapiAdapter:
    api = connect(workspace_of(emulator), CmlSection(), sleep=sleeps.append)
    assert isinstance(api, CmlapiAdapter)
    return api


def test_connect_prefers_cmlapi_when_it_is_importable(cmlapi: object, emulator: CmlEmulator) -> None:
    assert isinstance(connect(workspace_of(emulator), CmlSection()), CmlapiAdapter)
    assert isinstance(connect(workspace_of(emulator), CmlSection(client="http")), CmlClient)


def test_connect_falls_back_to_http_and_can_insist_on_cmlapi(emulator: CmlEmulator) -> None:
    assert "cmlapi" not in sys.modules
    assert isinstance(connect(workspace_of(emulator), CmlSection()), CmlClient)
    with pytest.raises(ConfigError, match=r"cml\.client is 'cmlapi' but the cmlapi package is not importable"):
        connect(workspace_of(emulator), CmlSection(client="cmlapi"))


def test_answers_are_dicts_and_lists_are_paged(adapter: CmlapiAdapter, emulator: CmlEmulator) -> None:
    project = adapter.get_project(PROJECT)
    assert isinstance(project, dict) and project["id"] == PROJECT
    for n in range(23):
        emulator.state.create_model({"project_id": PROJECT}, {}, {"name": f"m{n:02d}"})
    names = [m["name"] for m in adapter.iterate(adapter.list_models, PROJECT, search_filter={"name": "m"})]
    assert names == [f"m{n:02d}" for n in range(23)]
    pages = emulator.requests_for("list_models")
    assert [r.query.get("page_token", "") for r in pages] == ["", "10", "20"]
    assert {r.query["search_filter"] for r in pages} == {'{"name": "m"}'}  # a JSON string, as the API takes it


def test_api_exceptions_become_cml_api_errors(adapter: CmlapiAdapter) -> None:
    with pytest.raises(CmlApiError) as err:
        adapter.get_job(PROJECT, "nope-nope-nope-nope")
    assert (err.value.status, err.value.code, err.value.message) == (404, 5, "job not found: nope-nope-nope-nope")
    assert err.value.operation == "get_job" and adapter.request_count == 1


@pytest.mark.parametrize("faults", [Faults(rate_limited={"list_projects": 2}, retry_after=7)])
def test_429_is_retried_after_retry_after(adapter: CmlapiAdapter, emulator: CmlEmulator, sleeps: list[float]) -> None:
    assert adapter.list_projects()["projects"][0]["id"] == PROJECT
    assert [r.status for r in emulator.requests_for("list_projects")] == [429, 429, 200]
    assert sleeps == [7.0, 7.0] and (adapter.retry_count, adapter.request_count) == (2, 3)


@pytest.mark.parametrize("faults", [Faults(failing_calls={"create_job": {1: 503}})])
def test_503_on_create_is_retried_once(adapter: CmlapiAdapter, emulator: CmlEmulator, sleeps: list[float]) -> None:
    job = adapter.create_job({"name": "j", "script": "j.py"}, PROJECT)
    assert [r.status for r in emulator.requests_for("create_job")] == [503, 200]
    assert adapter.list_jobs(PROJECT)["jobs"] == [job] and len(sleeps) == 1


@pytest.mark.parametrize("faults", [Faults(dropped_calls={"get_project": {1}})])
def test_a_dropped_connection_is_retried(adapter: CmlapiAdapter, emulator: CmlEmulator) -> None:
    assert adapter.get_project(PROJECT)["id"] == PROJECT
    assert [r.status for r in emulator.requests_for("get_project")] == [0, 200]


def test_no_server_is_an_error_after_the_attempts(cmlapi: object, sleeps: list[float]) -> None:
    closed = Workspace(f"http://127.0.0.1:{free_port()}", PROJECT, SecretStr(API_KEY), True)
    api = connect(closed, CmlSection(), sleep=sleeps.append)
    with pytest.raises(CmlApiError) as err:
        api.get_project(PROJECT)
    assert err.value.status == 0 and "no response after 5 attempts" in err.value.message
    assert len(sleeps) == 4 and API_KEY not in str(err.value)


@pytest.mark.parametrize("restart_takes_body", [False, True])
def test_restart_works_with_either_generated_signature(
    monkeypatch: pytest.MonkeyPatch, emulator: CmlEmulator, client: CmlClient, restart_takes_body: bool
) -> None:
    module = cmlapi_double.module(restart_takes_body=restart_takes_body)
    monkeypatch.setitem(sys.modules, "cmlapi", module)
    api = connect(workspace_of(emulator), CmlSection())
    model, build = built_model(client)
    deployment = client.create_model_deployment({}, PROJECT, model["id"], build["id"])
    ids = (PROJECT, model["id"], build["id"], deployment["id"])
    wait_status(lambda: client.get_model_deployment(*ids), {"deployed"})
    api.stop_model_deployment(*ids)
    wait_status(lambda: client.get_model_deployment(*ids), {"stopped"})
    assert api.restart_model_deployment(*ids)["status"] == "pending"
    assert wait_status(lambda: client.get_model_deployment(*ids), {"deployed"})["status"] == "deployed"
    (restart,) = emulator.requests_for("restart_model_deployment")
    assert restart.body == {}


def test_an_operation_the_generated_client_lacks_is_a_clear_error() -> None:
    older = CmlapiAdapter(object(), cmlapi_double.ApiException)  # a cmlapi without the version delete
    with pytest.raises(CmlApiError, match="this cmlapi has no delete_registered_model_version"):
        older.delete_registered_model_version("a", "b")
    assert older.request_count == 0


def test_tls_is_verified_and_a_ca_bundle_is_honoured(cmlapi: object, tmp_path: Path, sleeps: list[float]) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    with CmlEmulator(api_key=API_KEY, tls=(str(cert), str(key))) as emulator:
        strict = connect(workspace_of(emulator), CmlSection(), sleep=sleeps.append)
        with pytest.raises(CmlApiError) as err:
            strict.list_projects()
        assert err.value.status == 0 and "TLS failure" in err.value.message and sleeps == []  # not retried
        trusting = connect(workspace_of(emulator, verify=str(cert)), CmlSection())
        assert trusting.get_project(PROJECT)["id"] == PROJECT

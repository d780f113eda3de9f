"""The model service: its URL, its answers' shapes, and the emulator's real predictions, auth and failures."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from cml_mlops.cml import CmlClient
from cml_mlops.cml.emulator import CmlEmulator, EmulatorState, Faults
from cml_mlops.cml.model_service import ModelServiceClient, ModelServiceError, model_service_url, unwrap
from cml_mlops.serving.scoring import load_scorer
from tests.cml.conftest import API_KEY, PROJECT, RUNTIME
from tests.cml.deploy_support import CmlProject, deploy
from tests.serving.helpers import lake_frame


@pytest.mark.parametrize(
    ("workspace", "service"),
    [
        ("https://ml-1a2b.example.cloudera.site", "https://modelservice.ml-1a2b.example.cloudera.site/model"),
        ("https://cml.corp.example:8443", "https://modelservice.cml.corp.example:8443/model"),
        ("http://127.0.0.1:8090", "http://127.0.0.1:8090/model"),  # an address has no modelservice. name
        ("http://localhost:8090", "http://localhost:8090/model"),
        ("https://[::1]:9000", "https://[::1]:9000/model"),
    ],
)
def test_the_model_service_url_follows_the_workspace(workspace: str, service: str) -> None:
    assert model_service_url(workspace) == service


@given(labels=st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True), min_size=2, max_size=4))
def test_any_workspace_domain_gets_its_modelservice_host(labels: list[str]) -> None:
    domain = ".".join(labels)
    assert model_service_url(f"https://{domain}") == f"https://modelservice.{domain}/model"


def test_answers_are_unwrapped_with_or_without_metrics() -> None:
    wrapped = unwrap({"success": True, "response": {"uuid": "u-1", "prediction": {"label": "no"}}})
    assert (wrapped.prediction, wrapped.uuid) == ({"label": "no"}, "u-1")
    plain = unwrap({"success": True, "response": {"label": "no", "probability": 0.1}})
    assert (plain.prediction, plain.uuid) == ({"label": "no", "probability": 0.1}, None)
    for bad in ({"success": False, "errors": [{"message": "x"}]}, {"response": 1}, [1]):
        with pytest.raises(ModelServiceError, match="not a successful model answer"):
            unwrap(bad)


def deployed_model(cml: CmlEmulator, project: CmlProject, version: str) -> dict[str, Any]:
    assert deploy(project, version).exit_code == 0
    (model,) = cml.state.models.values()
    return dict(model)


def call(cml: CmlEmulator, body: Any, headers: dict[str, str] | None = None, query: str = "") -> requests.Response:
    return requests.post(f"{cml.url}/model{query}", json=body, headers=headers or {}, timeout=30)


BEARER = {"authorization": f"Bearer {API_KEY}"}


def test_the_emulator_answers_with_the_served_model_s_real_predictions(
    cml: CmlEmulator, cml_project: CmlProject
) -> None:
    model = deployed_model(cml, cml_project, cml_project.v1)
    config = cml_project.config()
    scorer = load_scorer(config, version=cml_project.v1)
    rows = lake_frame(config)[scorer.model.features].head(25)
    client = ModelServiceClient(model_service_url(cml.url), model["access_key"], API_KEY, sleep=lambda _: None)

    batch = client.call({"dataframe_split": rows.to_dict(orient="split", index=False)})
    assert batch.uuid is None  # the project's script model answers its own contract, unwrapped
    expected = scorer.model.predict_proba(rows)
    served = [p["probability"] for p in batch.prediction["predictions"]]
    assert served == pytest.approx(list(expected), abs=1e-12)
    assert {p["model_version"] for p in batch.prediction["predictions"]} == {cml_project.v1}

    record = rows.iloc[3].to_dict()
    single = client.call({key: (value.item() if hasattr(value, "item") else value) for key, value in record.items()})
    assert single.prediction["probability"] == pytest.approx(expected[3], abs=1e-12)
    assert single.prediction["label"] in ("yes", "no") and single.prediction["model_version"] == cml_project.v1


def test_credentials_and_bad_requests_get_clear_errors(cml: CmlEmulator, cml_project: CmlProject) -> None:
    model = deployed_model(cml, cml_project, cml_project.v1)
    key = model["access_key"]
    good = {"accessKey": key, "request": {"dataframe_split": {"columns": [], "data": []}}}
    no_bearer = call(cml, good)
    assert no_bearer.status_code == 401 and "Bearer" in no_bearer.json()["errors"][0]["message"]
    assert call(cml, good, {"authorization": "Bearer wrong"}).status_code == 401
    unknown = call(cml, {**good, "accessKey": "m0000"}, BEARER)
    assert unknown.status_code == 404 and unknown.json() == {
        "success": False, "errors": [{"message": "no model has this access key"}],
    }  # fmt: skip
    assert call(cml, {"request": {}}, BEARER).status_code == 401  # no access key at all
    missing_field = call(cml, {"request": {"age": 30}}, BEARER, query=f"?accessKey={key}")  # key in the query
    assert missing_field.status_code == 422
    assert any(error.get("field") == "job" for error in missing_field.json()["errors"])
    assert call(cml, {"accessKey": key, "request": [1, 2]}, BEARER).status_code == 400
    assert [r.status for r in cml.requests_for("call_model")][-6:] == [401, 401, 404, 401, 422, 400]


def test_a_stopped_model_answers_503(cml: CmlEmulator, cml_project: CmlProject) -> None:
    model = deployed_model(cml, cml_project, cml_project.v1)
    client = CmlClient(cml.url, API_KEY, environ={})
    (deployment,) = cml.state.deployments.values()
    client.stop_model_deployment(PROJECT, model["id"], deployment["build_id"], deployment["id"])
    answer = call(cml, {"accessKey": model["access_key"], "request": {}}, BEARER)
    assert answer.status_code == 503 and "no deployment in status 'deployed'" in answer.text


def test_a_model_without_authentication_needs_no_api_key(cml_project: CmlProject, model_loader: Any) -> None:
    with CmlEmulator(
        EmulatorState(step_seconds=0, project_id=PROJECT), api_key=API_KEY, model_loader=model_loader
    ) as emu:
        client = CmlClient(emu.url, API_KEY, environ={})
        registered = client.create_registered_model(
            {"project_id": PROJECT, "model_name": "open", "run_id": run_id(cml_project, cml_project.v1)}
        )
        version_id = registered["model_versions"][0]["model_version_id"]
        model = client.create_model({"name": "open", "disable_authentication": True}, PROJECT)
        build = client.create_model_build(
            {"registered_model_version_id": version_id, "runtime_identifier": RUNTIME}, PROJECT, model["id"]
        )
        for _ in range(3):
            client.get_model_build(PROJECT, model["id"], build["id"])
        deployment = client.create_model_deployment({}, PROJECT, model["id"], build["id"])
        for _ in range(2):
            client.get_model_deployment(PROJECT, model["id"], build["id"], deployment["id"])
        record = load_scorer(cml_project.config(), version=cml_project.v1).validator.example_record()
        answer = requests.post(
            f"{emu.url}/model", json={"accessKey": model["access_key"], "request": record}, timeout=30
        )
        # A registry build answers as CML's do: metrics-wrapped labels, no probability, no version.
        response = answer.json()["response"]
        assert answer.status_code == 200 and response["prediction"] in (["yes"], ["no"]) and response["uuid"]
        assert response["model_deployment_crn"] == deployment["crn"]


def run_id(project: CmlProject, version: str) -> str:
    from cml_mlops.registry import get_version

    return str(get_version(project.config(), version).run_id)


def test_an_emulator_without_a_project_answers_503(cml_project: CmlProject) -> None:
    with CmlEmulator(EmulatorState(step_seconds=0, project_id=PROJECT), api_key=API_KEY) as emu:
        client = CmlClient(emu.url, API_KEY, environ={})
        registered = client.create_registered_model({"project_id": PROJECT, "model_name": "m", "run_id": "r"})
        model = client.create_model({"name": "m"}, PROJECT)
        build = client.create_model_build(
            {"registered_model_version_id": registered["model_versions"][0]["model_version_id"],
             "runtime_identifier": RUNTIME}, PROJECT, model["id"],
        )  # fmt: skip
        for _ in range(3):
            client.get_model_build(PROJECT, model["id"], build["id"])
        deployment = client.create_model_deployment({}, PROJECT, model["id"], build["id"])
        for _ in range(2):
            client.get_model_deployment(PROJECT, model["id"], build["id"], deployment["id"])
        answer = requests.post(f"{emu.url}/model", json={"accessKey": model["access_key"], "request": {}},
                               headers=BEARER, timeout=30)  # fmt: skip
        assert answer.status_code == 503 and "--project-dir" in answer.text


@pytest.mark.parametrize("faults", [Faults(rate_limited={"call_model": 2}, retry_after=0)])
def test_a_busy_model_is_retried(cml: CmlEmulator, cml_project: CmlProject) -> None:
    model = deployed_model(cml, cml_project, cml_project.v1)  # its smoke test met the two 429s and retried
    assert [r.status for r in cml.requests_for("call_model")] == [429, 429, 200]
    client = ModelServiceClient(model_service_url(cml.url), model["access_key"], API_KEY, max_attempts=1)
    record = load_scorer(cml_project.config(), version=cml_project.v1).validator.example_record()
    assert client.call(record).prediction["model_version"] == cml_project.v1


def test_model_call_errors_name_the_status_and_hide_the_keys(cml: CmlEmulator, cml_project: CmlProject) -> None:
    deployed_model(cml, cml_project, cml_project.v1)
    client = ModelServiceClient(model_service_url(cml.url), "m-secret-access", API_KEY, sleep=lambda _: None)
    with pytest.raises(ModelServiceError) as err:
        client.call({})
    assert err.value.status == 404 and "404" in str(err.value) and "no model has this access key" in str(err.value)
    assert API_KEY not in str(err.value) and "m-secret-access" not in str(err.value) and API_KEY not in repr(client)

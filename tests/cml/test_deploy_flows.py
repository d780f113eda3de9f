"""`cml-mlops deploy --target cml` against the emulator: first deploy, redeploy, re-run, undeploy, status."""

from __future__ import annotations

import json

import pytest

from cml_mlops.cml.emulator import CmlEmulator
from cml_mlops.deploy.cml import CmlTarget
from cml_mlops.deploy.cml_report import report_paths
from cml_mlops.registry import alias_version
from cml_mlops.tracking import CHAMPION
from tests.cml.conftest import PROJECT, RUNTIME
from tests.cml.deploy_support import CmlProject, active, deploy, deployments, inventory, point_at, run, serving

CREATES = {"create_registered_model", "create_model", "create_model_build", "create_model_deployment"}


def champion(project: CmlProject) -> str | None:
    found = alias_version(project.config(), CHAMPION)
    return None if found is None else str(found.version)


def test_first_deploy_makes_each_object_once_and_serves_the_version(cml: CmlEmulator, cml_project: CmlProject) -> None:
    result = deploy(cml_project, cml_project.v1)
    assert result.exit_code == 0, result.output
    assert f"version {cml_project.v1} to cml: {cml.url}/model; alias champion -> {cml_project.v1}" in result.output
    assert serving(cml) == [cml_project.v1]
    assert inventory(cml) == {
        "registered_models": 1, "registry_versions": 1, "models": 1, "builds": ["built"], "deployments": 1,
    }  # fmt: skip
    assert champion(cml_project) == cml_project.v1
    (model,) = cml.state.models.values()
    assert model["auth_enabled"] is True  # the lab disabled it; we do not
    (build,) = cml.state.builds.values()
    # The default: a script-built model, the project's cml_model.py serving the version (tied to it by the comment).
    assert build["runtime_identifier"] == RUNTIME and build["file_path"] == "src/bank_marketing/cml_model.py"
    assert not build["registered_model_version_id"] and f"version {cml_project.v1} (run" in build["comment"]
    (deployment,) = deployments(cml)
    assert (deployment["cpu"], deployment["memory"], deployment["replicas"]) == (1.0, 2.0, 1)
    report = json.loads(report_paths(cml_project.config())[0].read_text())
    assert report["outcome"] == "deployed" and report["version"] == cml_project.v1
    assert report["api_requests"] == len([r for r in cml.requests if r.operation != "call_model"])


def test_redeploy_serves_the_new_version_and_stops_the_old(cml: CmlEmulator, cml_project: CmlProject) -> None:
    assert deploy(cml_project, cml_project.v1).exit_code == 0
    result = deploy(cml_project, cml_project.v2)
    assert result.exit_code == 0, result.output
    assert serving(cml) == [cml_project.v2]
    old, new = deployments(cml)
    assert (new["version"], new["status"]) == (cml_project.v2, "deployed")
    assert (old["version"], old["status"]) == (cml_project.v1, "stopping")  # stopped, settling in CML's own time
    assert "stopped_previous: deployment" in result.output and f"(version {cml_project.v1})" in result.output
    counts = inventory(cml)
    assert counts["registered_models"] == 1 and counts["registry_versions"] == 2  # one name, a version each
    assert counts["models"] == 1 and counts["builds"] == ["built", "built"]
    assert champion(cml_project) == cml_project.v2


def test_running_it_again_for_the_same_version_makes_nothing(cml: CmlEmulator, cml_project: CmlProject) -> None:
    assert deploy(cml_project, cml_project.v1).exit_code == 0
    assert deploy(cml_project, cml_project.v2).exit_code == 0
    before, seen = inventory(cml), len(cml.requests)
    again = deploy(cml_project, cml_project.v2)
    assert again.exit_code == 0, again.output
    assert inventory(cml) == before and serving(cml) == [cml_project.v2]
    rerun = cml.requests[seen:]
    assert not [r for r in rerun if r.operation in CREATES or r.operation == "stop_model_deployment"]
    assert [r.operation for r in rerun if r.method == "POST"] == ["call_model"]  # it still checks the model answers


def test_going_back_to_an_older_version_restarts_its_deployment(cml: CmlEmulator, cml_project: CmlProject) -> None:
    assert deploy(cml_project, cml_project.v1).exit_code == 0
    assert deploy(cml_project, cml_project.v2).exit_code == 0
    before = inventory(cml)
    back = deploy(cml_project, cml_project.v1)
    assert back.exit_code == 0, back.output
    assert serving(cml) == [cml_project.v1]
    assert inventory(cml) == before  # its registry version, build and deployment are reused
    assert len(cml.requests_for("restart_model_deployment")) == 1


def test_changed_resources_make_a_new_deployment_of_the_same_build(
    cml: CmlEmulator, cml_project: CmlProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert deploy(cml_project, cml_project.v1).exit_code == 0
    point_at(monkeypatch, cml, replicas="2", cpu="2", memory_gb="4")
    result = deploy(cml_project, cml_project.v1)
    assert result.exit_code == 0, result.output
    old, new = deployments(cml)
    assert old["status"] == "stopping" and new["status"] == "deployed"
    assert (new["cpu"], new["memory"], new["replicas"]) == (2.0, 4.0, 2) and new["build_id"] == old["build_id"]


def test_status_and_undeploy(cml: CmlEmulator, cml_project: CmlProject) -> None:
    empty = run(cml_project, "serving-status", "--target", "cml")
    assert empty.exit_code == 0 and "nothing is deployed to CML" in empty.output
    assert deploy(cml_project, cml_project.v1).exit_code == 0
    status = run(cml_project, "serving-status", "--target", "cml", "--json")
    assert status.exit_code == 0, status.output
    payload = json.loads(status.output)
    assert payload["healthy"] is True and payload["deployment"]["version"] == cml_project.v1
    assert payload["deployment"]["endpoint"] == f"{cml.url}/model" and "model service answers" in payload["message"]
    (model,) = cml.state.models.values()
    assert payload["deployment"]["details"]["access_key"] == "***" and model["access_key"] not in status.output
    details = CmlTarget(cml_project.config()).status().deployment.details  # type: ignore[union-attr]
    assert details["access_key"] == model["access_key"]  # for programs calling the model, e.g. `simulate`

    stopped = run(cml_project, "undeploy", "--target", "cml")
    assert stopped.exit_code == 0, stopped.output
    assert f"stopped {cml_project.config().tracking.model_name} version {cml_project.v1}" in stopped.output
    assert active(cml) == [] and serving(cml) == []
    after = run(cml_project, "serving-status", "--target", "cml")
    assert after.exit_code == 0 and "nothing is deployed to CML" in after.output
    assert run(cml_project, "undeploy", "--target", "cml").output.strip() == "nothing is deployed to cml"


def test_status_of_a_deployment_that_does_not_answer_is_unhealthy(cml: CmlEmulator, cml_project: CmlProject) -> None:
    assert deploy(cml_project, cml_project.v1).exit_code == 0
    smoke_calls = len(cml.requests_for("call_model"))  # 1, or more when the model's replica was slow to start
    cml.model_service.loader = None  # the model can no longer be loaded: the service answers 503
    status = CmlTarget(cml_project.config(), sleep=lambda _: None).status()  # its retries take no time
    assert status.deployment is not None and not status.healthy
    assert "NOT healthy" in status.message and "503" in status.message and "without a project" in status.message
    assert len(cml.requests_for("call_model")) == smoke_calls + 4  # the deploy's smoke test, then 4 attempts


def test_serving_status_exits_1_when_a_deployment_is_not_ready(cml: CmlEmulator, cml_project: CmlProject) -> None:
    assert deploy(cml_project, cml_project.v1).exit_code == 0
    cml.state.faults.stuck_deployments = 1
    (build,) = cml.state.builds.values()
    with cml.state.lock:
        cml.state.stop_model_deployment(
            {"project_id": PROJECT, "model_id": build["model_id"], "build_id": build["id"],
             "deployment_id": deployments(cml)[0]["id"]}, {}, {},
        )  # fmt: skip
        cml.state._new_deployment({}, build)  # made by hand in the UI, say: it never becomes ready
    status = run(cml_project, "serving-status", "--target", "cml")
    assert status.exit_code == 1 and "NOT healthy" in status.output and "'deploying', not deployed" in status.output


def test_a_version_without_a_passed_gate_is_refused_before_any_request(
    cml: CmlEmulator, cml_project: CmlProject
) -> None:
    from tests.serving.helpers import gated_version

    ungated = str(gated_version(cml_project.config(), status=None, seed=2).version)
    result = deploy(cml_project, ungated)
    assert result.exit_code == 1 and "refusing to deploy" in result.output and "no gate record" in result.output
    assert cml.requests == []


@pytest.mark.parametrize(
    ("unset", "message"),
    [
        ("CDSW_APIV2_KEY", "the API v2 key (CDSW_APIV2_KEY in the environment)"),
        ("CML_MLOPS_CML_WORKSPACE_URL", "the workspace URL (cml.workspace_url, or CDSW_API_URL / CDSW_DOMAIN)"),
        ("CML_MLOPS_CML_PROJECT_ID", "the project id (cml.project_id, or CDSW_PROJECT_ID)"),
    ],
)
def test_missing_workspace_settings_are_named(
    cml: CmlEmulator, cml_project: CmlProject, monkeypatch: pytest.MonkeyPatch, unset: str, message: str
) -> None:
    monkeypatch.delenv(unset)
    result = deploy(cml_project, cml_project.v1)
    assert result.exit_code == 1 and message in result.output and cml.requests == []


def test_a_missing_runtime_identifier_is_named(
    cml: CmlEmulator, cml_project: CmlProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CML_MLOPS_CML_RUNTIME_IDENTIFIER", " ")
    result = deploy(cml_project, cml_project.v1)
    assert result.exit_code == 1 and "cml.runtime_identifier is empty" in result.output and cml.requests == []

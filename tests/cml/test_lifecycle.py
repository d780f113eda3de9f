"""Statuses advance like CML's: builds, deployments, registry versions, job runs and dependent jobs."""

from __future__ import annotations

import pytest

from cml_mlops.cml import CmlApiError, CmlClient
from cml_mlops.cml.emulator import CmlEmulator, EmulatorState, Faults
from tests.cml.conftest import PROJECT, RUNTIME
from tests.cml.helpers import built_model, wait_status

DEPLOY_DONE = {"deployed", "stopped", "failed"}


def test_build_then_deployment_reach_built_and_deployed(client: CmlClient) -> None:
    model, build = built_model(client)
    assert build["status"] == "built" and build["built_at"]
    m, b = model["id"], build["id"]
    dep = client.create_model_deployment({"cpu": 1, "memory": 2}, PROJECT, m, b)
    assert dep["status"] == "pending"
    seen = [client.get_model_deployment(PROJECT, m, b, dep["id"])["status"] for _ in range(3)]
    assert seen == ["deploying", "deployed", "deployed"]

    stopping = client.stop_model_deployment(PROJECT, m, b, dep["id"])
    assert stopping["status"] == "stopping"
    stopped = wait_status(lambda: client.get_model_deployment(PROJECT, m, b, dep["id"]), {"stopped"})
    assert stopped["stopped_at"]
    client.restart_model_deployment(PROJECT, m, b, dep["id"])
    assert (
        wait_status(lambda: client.get_model_deployment(PROJECT, m, b, dep["id"]), DEPLOY_DONE)["status"] == "deployed"
    )


def test_deploying_an_unbuilt_build_is_refused(client: CmlClient) -> None:
    model = client.create_model({"name": "m"}, PROJECT)
    build = client.create_model_build(
        {"file_path": "f.py", "function_name": "f", "runtime_identifier": RUNTIME}, PROJECT, model["id"]
    )
    assert build["status"] == "queued"
    with pytest.raises(CmlApiError) as err:
        client.create_model_deployment({}, PROJECT, model["id"], build["id"])
    assert err.value.status == 400 and "not built" in err.value.message


@pytest.mark.parametrize("faults", [Faults(failing_builds=1)])
def test_a_failing_build_reaches_build_failed(client: CmlClient) -> None:
    _, failed = built_model(client)
    assert failed["status"] == "build failed"
    _, second = built_model(client)  # only the next N builds fail
    assert second["status"] == "built"


@pytest.mark.parametrize("faults", [Faults(stuck_deployments=1)])
def test_a_stuck_deployment_never_becomes_ready(client: CmlClient) -> None:
    model, build = built_model(client)
    dep = client.create_model_deployment({}, PROJECT, model["id"], build["id"])
    statuses = {client.get_model_deployment(PROJECT, model["id"], build["id"], dep["id"])["status"] for _ in range(10)}
    assert statuses == {"deploying"}


def test_auto_deploy_after_build(client: CmlClient) -> None:
    model = client.create_model({"name": "auto"}, PROJECT)
    body = {
        "file_path": "f.py",
        "function_name": "f",
        "runtime_identifier": RUNTIME,
        "auto_deploy_model": True,
        "auto_deployment_config": {"cpu": 2, "memory": 4, "replicas": 2},
    }
    build = client.create_model_build(body, PROJECT, model["id"])
    wait_status(lambda: client.get_model_build(PROJECT, model["id"], build["id"]), {"built"})
    deployments = client.list_model_deployments(PROJECT, model["id"], build["id"])["model_deployments"]
    assert [(d["cpu"], d["memory"], d["replicas"]) for d in deployments] == [(2.0, 4.0, 2)]


def test_registering_an_existing_name_adds_a_version(client: CmlClient) -> None:
    first = client.create_registered_model({"project_id": PROJECT, "model_name": "bank", "run_id": "r1"})
    second = client.create_registered_model({"project_id": PROJECT, "model_name": "bank", "run_id": "r2"})
    assert second["model_id"] == first["model_id"]
    assert [v["number"] for v in second["model_versions"]] == [2, 1]
    assert client.list_registered_models()["models"][0]["count"] == 2
    latest = client.get_registered_model(first["model_id"], search_filter={"version_number": "2"})
    assert [v["model_version_metadata"]["mlflow_metadata"]["run_id"] for v in latest["model_versions"]] == ["r2"]
    # A registry build: only the version id and a runtime.
    model = client.create_model({"name": "reg", "registered_model_id": first["model_id"]}, PROJECT)
    body = {
        "registered_model_version_id": second["model_versions"][0]["model_version_id"],
        "runtime_identifier": RUNTIME,
    }
    build = client.create_model_build(body, PROJECT, model["id"])
    assert wait_status(lambda: client.get_model_build(PROJECT, model["id"], build["id"]), {"built"})


def test_job_run_statuses_and_one_active_run(client: CmlClient) -> None:
    job = client.create_job({"name": "j", "script": "j.py", "runtime_identifier": RUNTIME}, PROJECT)
    run = client.create_job_run({}, PROJECT, job["id"])
    assert run["status"] == "ENGINE_SCHEDULING"
    with pytest.raises(CmlApiError) as err:
        client.create_job_run({}, PROJECT, job["id"])
    assert err.value.status == 400
    seen = [client.get_job_run(PROJECT, job["id"], run["id"])["status"] for _ in range(3)]
    assert seen == ["ENGINE_STARTING", "ENGINE_RUNNING", "ENGINE_SUCCEEDED"]
    assert client.get_job_run(PROJECT, job["id"], run["id"])["finished_at"]


def _chain(client: CmlClient) -> tuple[str, str, str]:
    parent = client.create_job({"name": "parent", "script": "p.py"}, PROJECT)
    child = client.create_job({"name": "child", "script": "c.py", "parent_id": parent["id"]}, PROJECT)
    grandchild = client.create_job({"name": "grandchild", "script": "g.py", "parent_job_id": child["id"]}, PROJECT)
    assert (child["type"], child["parent_id"]) == ("dependent", parent["id"])
    assert grandchild["parent_id"] == child["id"]
    return parent["id"], child["id"], grandchild["id"]


def test_child_job_starts_after_its_parent_succeeds(client: CmlClient) -> None:
    parent, child, grandchild = _chain(client)
    run = client.create_job_run({}, PROJECT, parent)
    assert client.list_job_runs(PROJECT, child)["job_runs"] == []
    for _ in range(10):
        if client.get_job_run(PROJECT, parent, run["id"])["status"] == "ENGINE_SUCCEEDED":
            break
        assert client.list_job_runs(PROJECT, child)["job_runs"] == []  # not before the parent succeeds
    child_runs = client.list_job_runs(PROJECT, child)["job_runs"]
    assert len(child_runs) == 1
    assert client.list_job_runs(PROJECT, grandchild)["job_runs"] == []  # waits for its own parent
    wait_status(lambda: client.get_job_run(PROJECT, child, child_runs[0]["id"]), {"ENGINE_SUCCEEDED"})
    assert len(client.list_job_runs(PROJECT, grandchild)["job_runs"]) == 1


@pytest.mark.parametrize("faults", [Faults(failing_jobs={"parent"})])
def test_child_job_does_not_start_when_its_parent_fails(client: CmlClient) -> None:
    parent, child, _ = _chain(client)
    run = client.create_job_run({}, PROJECT, parent)
    assert (
        wait_status(lambda: client.get_job_run(PROJECT, parent, run["id"]), {"ENGINE_FAILED", "ENGINE_SUCCEEDED"})[
            "status"
        ]
        == "ENGINE_FAILED"
    )
    assert client.list_job_runs(PROJECT, child)["job_runs"] == []


def test_update_and_delete_job(client: CmlClient, emulator: CmlEmulator) -> None:
    parent, child, _ = _chain(client)
    with pytest.raises(CmlApiError) as err:
        client.update_job({"schedule": "0 13 * * 1"}, PROJECT, child)  # a dependent job cannot also be scheduled
    assert err.value.status == 400
    assert client.get_job(PROJECT, child)["schedule"] == ""  # the refused update changed nothing
    assert client.update_job({"timeout": 30}, PROJECT, child)["timeout"] == "30"
    assert client.delete_job(PROJECT, parent) == {}
    assert client.get_job(PROJECT, child)["parent_id"] == parent  # dependents survive their parent
    with pytest.raises(CmlApiError) as missing:
        client.get_job(PROJECT, parent)
    assert missing.value.status == 404


def test_time_based_steps_advance_with_the_clock() -> None:
    now = [0.0]
    state = EmulatorState(step_seconds=10, project_id=PROJECT, clock=lambda: now[0])
    job = state.create_job({"project_id": PROJECT}, {}, {"name": "j", "script": "j.py"})
    run = state.create_job_run({"project_id": PROJECT, "job_id": job["id"]}, {}, {})

    def status() -> str:
        params = {"project_id": PROJECT, "job_id": job["id"], "run_id": run["id"]}
        return str(state.get_job_run(params, {}, {})["status"])

    assert status() == "ENGINE_SCHEDULING"  # no time passed: reads alone do not advance
    now[0] = 25.0
    assert status() == "ENGINE_RUNNING"  # two whole steps
    now[0] = 1000.0
    assert status() == "ENGINE_SUCCEEDED"

"""Every client operation sends the method, path and body the API v2 reference documents."""

from __future__ import annotations

import json

from cml_mlops.cml import CmlClient
from cml_mlops.cml.emulator import CmlEmulator
from tests.cml.conftest import PROJECT, RUNTIME
from tests.cml.helpers import built_model


def test_each_operation_hits_the_documented_path(client: CmlClient, emulator: CmlEmulator) -> None:
    p = PROJECT
    client.list_projects()
    client.get_project(p)
    client.list_runtimes(search_filter={"kernel": "Python 3.11"})
    reg = client.create_registered_model({"project_id": p, "model_name": "bank", "model_path": "model", "run_id": "r1"})
    client.list_registered_models(search_filter={"model_name": "bank"})
    client.get_registered_model(reg["model_id"], sort="-version_number")
    version_id = reg["model_versions"][0]["model_version_id"]
    client.get_registered_model_version(reg["model_id"], version_id)
    model, build = built_model(client)
    m, b = model["id"], build["id"]
    client.list_models(p)
    client.get_model(p, m)
    client.list_model_builds(p, m, search_filter={"status": "built"})
    dep = client.create_model_deployment({"cpu": 1, "memory": 2, "environment": {"A": "1"}}, p, m, b)
    d = dep["id"]
    client.list_model_deployments(p, m, b)
    client.get_model_deployment(p, m, b, d)
    client.stop_model_deployment(p, m, b, d)
    client.restart_model_deployment(p, m, b, d)
    job = client.create_job({"name": "train", "script": "train.py", "runtime_identifier": RUNTIME, "timeout": 60}, p)
    j = job["id"]
    client.list_jobs(p, search_filter={"name": "train"})
    client.get_job(p, j)
    client.update_job({"arguments": "--fast"}, p, j)
    run = client.create_job_run({"arguments": "--x"}, p, j)
    client.list_job_runs(p, j, sort="-created_at", page_size=1)
    client.get_job_run(p, j, run["id"])
    client.delete_job(p, j)

    seen = {(r.operation, r.method, r.path) for r in emulator.requests}
    base, mp, bp = (
        f"/api/v2/projects/{p}",
        f"/api/v2/projects/{p}/models/{m}",
        f"/api/v2/projects/{p}/models/{m}/builds/{b}",
    )
    expected = {
        ("list_projects", "GET", "/api/v2/projects"),
        ("get_project", "GET", base),
        ("list_runtimes", "GET", "/api/v2/runtimes"),
        ("create_registered_model", "POST", "/api/v2/registry/models"),
        ("list_registered_models", "GET", "/api/v2/registry/models"),
        ("get_registered_model", "GET", f"/api/v2/registry/models/{reg['model_id']}"),
        ("get_registered_model_version", "GET", f"/api/v2/registry/models/{reg['model_id']}/versions/{version_id}"),
        ("create_model", "POST", f"{base}/models"),
        ("list_models", "GET", f"{base}/models"),
        ("get_model", "GET", mp),
        ("create_model_build", "POST", f"{mp}/builds"),
        ("list_model_builds", "GET", f"{mp}/builds"),
        ("get_model_build", "GET", bp),
        ("create_model_deployment", "POST", f"{bp}/deployments"),
        ("list_model_deployments", "GET", f"{bp}/deployments"),
        ("get_model_deployment", "GET", f"{bp}/deployments/{d}"),
        ("stop_model_deployment", "POST", f"{bp}/deployments/{d}:stop"),
        ("restart_model_deployment", "POST", f"{bp}/deployments/{d}:restart"),
        ("create_job", "POST", f"{base}/jobs"),
        ("list_jobs", "GET", f"{base}/jobs"),
        ("get_job", "GET", f"{base}/jobs/{j}"),
        ("update_job", "PATCH", f"{base}/jobs/{j}"),
        ("delete_job", "DELETE", f"{base}/jobs/{j}"),
        ("create_job_run", "POST", f"{base}/jobs/{j}/runs"),
        ("list_job_runs", "GET", f"{base}/jobs/{j}/runs"),
        ("get_job_run", "GET", f"{base}/jobs/{j}/runs/{run['id']}"),
    }
    assert seen == expected
    assert all(r.status == 200 for r in emulator.requests)

    # Bodies and query strings as sent: filters are JSON strings, list options are plain query params.
    assert emulator.requests_for("list_runtimes")[0].query == {"search_filter": '{"kernel": "Python 3.11"}'}
    assert emulator.requests_for("list_job_runs")[0].query == {"sort": "-created_at", "page_size": "1"}
    assert emulator.requests_for("update_job")[0].body == {"arguments": "--fast"}
    assert emulator.requests_for("create_model_deployment")[0].body == {
        "cpu": 1,
        "memory": 2,
        "environment": {"A": "1"},
    }
    assert emulator.requests_for("create_job_run")[0].body == {"arguments": "--x"}


def test_responses_keep_the_proto3_json_quirks(client: CmlClient) -> None:
    job = client.create_job({"name": "t", "script": "t.py", "timeout": 60, "environment": {"K": "v"}}, PROJECT)
    assert job["timeout"] == "60"  # int64 as string
    assert json.loads(job["environment"]) == {"K": "v"}  # environment as a JSON string
    model, build = built_model(client)
    dep = client.create_model_deployment({"environment": {"X": "1"}}, PROJECT, model["id"], build["id"])
    assert isinstance(dep["environment"], str) and json.loads(dep["environment"]) == {"X": "1"}
    assert model["default_resources"]["memory_mb"] == "2048"
    assert "nvidia_gpu" in dep and "nvidia_gpus" not in dep


def test_bodies_may_be_cmlapi_style_objects(client: CmlClient, emulator: CmlEmulator) -> None:
    class CreateJobRequest:  # the shape of cmlapi's generated models: to_dict() with unset fields as None
        def to_dict(self) -> dict[str, object]:
            return {"name": "obj", "script": "s.py", "kernel": None}

    job = client.create_job(CreateJobRequest(), PROJECT)
    assert job["name"] == "obj"
    assert emulator.requests_for("create_job")[0].body == {"name": "obj", "script": "s.py"}
    assert client.request_count == len(emulator.requests)

"""Contract: the requests of a full deploy and redeploy, as the emulator recorded them, match the reference
(/work/shared/reference/cml-api-v2.md, section 3 and 4), and are the same through HTTP and through `cmlapi`.

The reference's path templates and request fields are written out here, independently of the emulator's
routes, so a path or a field that drifts from the document fails this test.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest

from cml_mlops.cml.emulator import CmlEmulator
from tests.cml import cmlapi_double
from tests.cml.conftest import PROJECT
from tests.cml.deploy_support import CmlProject, deploy

# Reference section 3: HTTP method and path of each operation ({x}: a path parameter).
P = "/api/v2/projects/{project_id}"
B = P + "/models/{model_id}/builds/{build_id}"
REFERENCE_PATHS = {
    "list_registered_models": ("GET", "/api/v2/registry/models"),
    "get_registered_model": ("GET", "/api/v2/registry/models/{model_id}"),
    "create_registered_model": ("POST", "/api/v2/registry/models"),
    "list_models": ("GET", P + "/models"),
    "create_model": ("POST", P + "/models"),
    "list_model_builds": ("GET", P + "/models/{model_id}/builds"),
    "create_model_build": ("POST", P + "/models/{model_id}/builds"),
    "get_model_build": ("GET", B),
    "list_model_deployments": ("GET", B + "/deployments"),
    "create_model_deployment": ("POST", B + "/deployments"),
    "get_model_deployment": ("GET", B + "/deployments/{deployment_id}"),
    "stop_model_deployment": ("POST", B + "/deployments/{deployment_id}:stop"),
    "call_model": ("POST", "/model"),  # section 4, at the workspace's origin for an address (see model_service.py)
}
# Reference section 3: the fields each request body may have.
REFERENCE_FIELDS = {
    "create_registered_model": {
        "project_id", "experiment_id", "run_id", "model_path", "model_name", "tags", "description", "notes",
        "visibility",
    },
    "create_model": {
        "project_id", "name", "description", "disable_authentication", "registered_model_id", "run_as", "visibility",
        "auto_build_model", "auto_build_config", "auto_deploy_model", "auto_deployment_config",
        "accelerator_label_id", "resource_group_id", "resource_profile_id",
    },
    "create_model_build": {
        "project_id", "model_id", "comment", "file_path", "function_name", "kernel", "runtime_identifier",
        "runtime_addon_identifiers", "registered_model_version_id", "auto_deploy_model", "auto_deployment_config",
        "model_root_dir", "build_script_path", "accelerator_label_id", "resource_group_id", "resource_profile_id",
    },
    "create_model_deployment": {
        "project_id", "model_id", "build_id", "cpu", "memory", "nvidia_gpus", "environment", "replicas",
        "accelerator_label_id", "resource_group_id", "resource_profile_id", "deployment_secrets",
    },
    "stop_model_deployment": set(),
    "call_model": {"accessKey", "request"},
}  # fmt: skip
LIST_PARAMETERS = {"search_filter", "sort", "page_size", "page_token"}

# The flow as the reference describes it (section 3, "Redeploy pattern"): first deploy, then redeploy.
FIRST_DEPLOY = [
    "list_registered_models", "create_registered_model", "list_models", "create_model", "create_model_build",
    "get_model_build", "get_model_build", "get_model_build", "create_model_deployment", "get_model_deployment",
    "get_model_deployment", "call_model",
]  # fmt: skip
REDEPLOY = [
    "list_registered_models", "get_registered_model", "create_registered_model", "list_models", "list_model_builds",
    "list_model_deployments", "create_model_build", "get_model_build", "get_model_build", "get_model_build",
    "create_model_deployment", "get_model_deployment", "get_model_deployment", "call_model", "stop_model_deployment",
]  # fmt: skip

ID = re.compile(
    r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9]{4}(-[a-z0-9]{4}){3}|m[0-9a-f]{32})$"
)


def template_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\{[a-z_]+\\}", "[^/:]+", re.escape(template)) + r"\Z")


def normalised(value: Any) -> Any:
    """Ids the emulator generates replaced by a placeholder; everything else as sent."""
    if isinstance(value, dict):
        return {key: normalised(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalised(item) for item in value]
    if isinstance(value, str) and value != PROJECT and ID.match(value):
        return "<id>"
    return value


def recorded(emulator: CmlEmulator) -> list[tuple[str, str, str, Any]]:
    return [
        (r.operation, r.method, re.sub(r"[^/:]+", lambda m: normalised(m.group(0)), r.path), normalised(r.body))
        for r in emulator.requests
    ]


def deploy_and_redeploy(emulator: CmlEmulator, project: CmlProject) -> tuple[list[Any], list[Any]]:
    assert deploy(project, project.v1).exit_code == 0
    first = recorded(emulator)
    result = deploy(project, project.v2)
    assert result.exit_code == 0, result.output
    return first, recorded(emulator)[len(first) :]


def test_a_deploy_and_a_redeploy_send_what_the_reference_describes(cml: CmlEmulator, cml_project: CmlProject) -> None:
    first, redeploy = deploy_and_redeploy(cml, cml_project)
    assert [operation for operation, *_ in first] == FIRST_DEPLOY
    assert [operation for operation, *_ in redeploy] == REDEPLOY
    for request in cml.requests:
        method, template = REFERENCE_PATHS[request.operation]
        assert request.method == method and template_pattern(template).match(request.path), request
        if request.method == "GET":
            assert set(request.query) <= LIST_PARAMETERS and request.body is None, request
        else:
            assert set(request.body or {}) <= REFERENCE_FIELDS[request.operation], request
        assert request.status == 200
    bodies = {operation: body for operation, _, _, body in redeploy}
    assert bodies["create_model_deployment"] == {
        "project_id": PROJECT, "model_id": "<id>", "build_id": "<id>", "cpu": 1.0, "memory": 2.0, "replicas": 1,
        "environment": {"CML_MLOPS_MODEL_VERSION": cml_project.v2, "CML_MLOPS_REGISTERED_MODEL_VERSION": "2"},
    }  # fmt: skip
    assert bodies["create_model_build"]["comment"].startswith(
        f"cml-mlops: bank-marketing-classifier version {cml_project.v2} (run "
    )
    assert set(bodies["create_registered_model"]) == REFERENCE_FIELDS["create_registered_model"] - {"notes"}
    # The default script-built model takes one record (our contract); its file and function are in the build.
    assert "age" in bodies["call_model"]["request"]
    assert bodies["create_model_build"]["file_path"] == "src/bank_marketing/cml_model.py"


def test_http_and_cmlapi_send_the_same_requests(
    cml: CmlEmulator, cml_project: CmlProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = deploy_and_redeploy(cml, cml_project)
    cml.requests.clear()
    with CmlEmulator(cml.state.__class__(step_seconds=0, project_id=PROJECT), api_key=cml._api_key,
                     model_loader=cml.model_service.loader) as other:  # fmt: skip
        monkeypatch.setenv("CML_MLOPS_CML_WORKSPACE_URL", other.url)
        module = cmlapi_double.module()
        monkeypatch.setitem(sys.modules, "cmlapi", module)
        monkeypatch.setitem(sys.modules, "cmlapi.rest", module.rest)  # type: ignore[attr-defined]
        through_cmlapi = deploy_and_redeploy(other, cml_project)
        assert other.requests and all(r.status == 200 for r in other.requests)
    assert through_cmlapi == http

"""What the emulator gained for deploys: deletes with CML-like refusals, lost-answer and dropped-call faults,
and `cml-emulator --project-dir` serving the project's models."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cml_mlops.cml import CmlApiError, CmlClient
from cml_mlops.cml.emulator.command import build_faults, cml_emulator
from tests.cml.conftest import API_KEY, PROJECT, RUNTIME
from tests.cml.deploy_support import CmlProject, deploy, point_at
from tests.cml.helpers import built_model, wait_status


def test_fault_options_for_deploys_are_parsed() -> None:
    faults = build_faults((), 1.0, (), (), 0, 0, (), drop_call=("get_model_build:2", "get_model_build:3"),
                          fail_after_apply=("create_model:1:503",))  # fmt: skip
    assert faults.dropped_calls == {"get_model_build": {2, 3}}
    assert faults.failing_after_apply == {"create_model": {1: 503}}


@pytest.mark.parametrize("args", [["--drop-call", "get_model_build"], ["--fail-after-apply", "create_model:1:400"]])
def test_bad_fault_options_are_refused(args: list[str]) -> None:
    result = CliRunner().invoke(cml_emulator, ["--port", "0", "--api-key", "k", *args])
    assert result.exit_code == 2 and "Invalid value" in result.output


def test_builds_and_models_with_active_deployments_are_not_deleted(client: CmlClient) -> None:
    model, build = built_model(client)
    ids = (PROJECT, model["id"], build["id"])
    deployment = client.create_model_deployment({}, *ids)
    for delete, args in ((client.delete_model_build, ids), (client.delete_model, ids[:2])):
        with pytest.raises(CmlApiError) as err:
            delete(*args)
        assert err.value.status == 400 and "has active deployments" in err.value.message
    client.stop_model_deployment(*ids, deployment["id"])
    wait_status(lambda: client.get_model_deployment(*ids, deployment["id"]), {"stopped"})
    client.delete_model_build(*ids)
    assert client.list_model_builds(*ids[:2])["model_builds"] == []
    client.delete_model(*ids[:2])
    assert client.list_models(PROJECT)["models"] == []


def test_a_registry_version_in_use_is_not_deleted(client: CmlClient) -> None:
    registered = client.create_registered_model({"project_id": PROJECT, "model_name": "bank", "run_id": "r1"})
    version_id = registered["model_versions"][0]["model_version_id"]
    model = client.create_model({"name": "bank"}, PROJECT)
    client.create_model_build(
        {"registered_model_version_id": version_id, "runtime_identifier": RUNTIME}, PROJECT, model["id"]
    )
    with pytest.raises(CmlApiError, match="is used by model builds"):
        client.delete_registered_model_version(registered["model_id"], version_id)
    spare = client.create_registered_model({"project_id": PROJECT, "model_name": "bank", "run_id": "r2"})
    client.delete_registered_model_version(spare["model_id"], spare["model_versions"][0]["model_version_id"])
    assert client.get_registered_model(registered["model_id"])["count"] == 1


@pytest.mark.slow
def test_the_command_serves_the_models_of_a_project(cml_project: CmlProject, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**os.environ, "CML_EMULATOR_API_KEY": API_KEY}
    args = ["--port", "0", "--step-seconds", "0", "--project-id", PROJECT, "--project-dir", str(cml_project.root)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cml_mlops.cml.emulator.command", *args], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stderr is not None
        match = re.search(r"http://127\.0\.0\.1:\d+", proc.stderr.readline())
        assert match
        point_at(monkeypatch, match.group(0))
        result = deploy(cml_project, cml_project.v1)  # its smoke test is answered by the process's model service
        assert result.exit_code == 0, result.output
        assert f"version {cml_project.v1} to cml: {match.group(0)}/model" in result.output
    finally:
        proc.terminate()
        proc.wait(timeout=10)

"""Injected faults end in a success or a clear error, with exactly one serving deployment and nothing orphaned.

The deploys run in process with an HTTP client and a clock that only moves when slept on, so retries and
timeouts take no real time.
"""

from __future__ import annotations

import pytest

from cml_mlops.cml import CmlClient
from cml_mlops.cml.emulator import CmlEmulator, Faults
from cml_mlops.deploy.base import DeployError, deploy_version
from cml_mlops.deploy.cml import CmlTarget
from cml_mlops.registry import alias_version
from cml_mlops.tracking import CHAMPION
from tests.cml.conftest import API_KEY, PROJECT
from tests.cml.deploy_support import CmlProject, active, deployments, inventory, point_at, serving
from tests.cml.test_deploy_polling import FakeTime
from tests.support.net import free_port

CREATES = ["create_registered_model", "create_model", "create_model_build", "create_model_deployment"]
ONE_OF_EACH = {"registered_models": 1, "registry_versions": 1, "models": 1, "builds": ["built"]}


class Deployer:
    """Deploys versions of the session project to the emulator through CmlTarget, on a fake clock."""

    def __init__(self, project: CmlProject, emulator: CmlEmulator) -> None:
        self.project, self.emulator, self.time = project, emulator, FakeTime()
        self.client = CmlClient(
            emulator.url, API_KEY, project_id=PROJECT, sleep=self.time.sleep, environ={}, max_attempts=5
        )

    def __call__(self, version: str) -> str:
        """Deploy; the error message on failure, "" on success."""
        config = self.project.config()
        target = CmlTarget(config, api=self.client, clock=self.time.clock, sleep=self.time.sleep)
        try:
            deploy_version(config, target, version)
        except DeployError as exc:
            return str(exc)
        return ""

    def champion(self) -> str | None:
        found = alias_version(self.project.config(), CHAMPION)
        return None if found is None else str(found.version)


@pytest.fixture
def deployer(cml: CmlEmulator, cml_project: CmlProject, monkeypatch: pytest.MonkeyPatch) -> Deployer:
    # Timeouts that a fake clock reaches in a few polls.
    point_at(monkeypatch, cml, poll_interval_seconds="1", poll_max_interval_seconds="4", deploy_timeout_seconds="30",
             build_timeout_seconds="60")  # fmt: skip
    return Deployer(cml_project, cml)


def with_v1_serving(deployer: Deployer) -> None:
    assert deployer(deployer.project.v1) == ""
    assert serving(deployer.emulator) == [deployer.project.v1]


def statuses(emulator: CmlEmulator, operation: str) -> list[int]:
    return [r.status for r in emulator.requests_for(operation)]


@pytest.mark.parametrize(
    "faults", [Faults(rate_limited={"create_model_build": 1, "get_model_deployment": 2}, retry_after=3)]
)
def test_rate_limited_calls_are_retried_after_retry_after(deployer: Deployer, cml: CmlEmulator) -> None:
    assert deployer(deployer.project.v1) == ""
    assert statuses(cml, "create_model_build") == [429, 200]
    assert statuses(cml, "get_model_deployment")[:3] == [429, 429, 200]
    assert deployer.time.sleeps.count(3.0) == 3
    assert {k: v for k, v in inventory(cml).items() if k != "deployments"} == ONE_OF_EACH
    assert serving(cml) == [deployer.project.v1]


@pytest.mark.parametrize("operation", CREATES)
def test_503_on_a_create_is_retried_and_makes_one_object(deployer: Deployer, cml: CmlEmulator, operation: str) -> None:
    cml.state.faults.failing_calls = {operation: {1: 503}}
    assert deployer(deployer.project.v1) == ""
    assert statuses(cml, operation) == [503, 200]
    assert inventory(cml) == {**ONE_OF_EACH, "deployments": 1}
    assert serving(cml) == [deployer.project.v1]


@pytest.mark.parametrize("operation", CREATES)
def test_a_lost_answer_to_a_create_leaves_no_duplicate(deployer: Deployer, cml: CmlEmulator, operation: str) -> None:
    cml.state.faults.failing_after_apply = {operation: {1: 503}}  # made, but the client hears 503 and retries
    assert deployer(deployer.project.v1) == ""
    assert statuses(cml, operation) == [503, 200]
    counts = inventory(cml)
    assert {k: v for k, v in counts.items() if k != "deployments"} == ONE_OF_EACH
    assert [d["status"] for d in active(cml)] == ["deployed"]  # a duplicate deployment is stopped
    assert serving(cml) == [deployer.project.v1]


def test_a_create_that_keeps_failing_leaves_the_old_version_serving(deployer: Deployer, cml: CmlEmulator) -> None:
    project = deployer.project
    with_v1_serving(deployer)
    cml.state.faults.failing_calls = {"create_model_deployment": {n: 503 for n in range(2, 20)}}
    message = deployer(project.v2)
    assert "failed at step 'deploy'" in message and "create_model_deployment: CML API error 503" in message
    assert "cleaned up: nothing needed cleaning up" in message
    assert "kept for the next run: registered model version 2" in message and "model build" in message
    assert f"(version {project.v1})" in message.split("still serving as before:")[1]
    assert serving(cml) == [project.v1] and deployer.champion() == project.v1
    assert inventory(cml)["builds"] == ["built", "built"]  # the new build is complete: the next run reuses it

    cml.state.faults.failing_calls = {}
    builds_before = len(cml.requests_for("create_model_build"))
    assert deployer(project.v2) == ""
    assert serving(cml) == [project.v2] and len(cml.requests_for("create_model_build")) == builds_before


def test_a_failed_build_is_deleted_and_the_old_version_keeps_serving(deployer: Deployer, cml: CmlEmulator) -> None:
    project = deployer.project
    with_v1_serving(deployer)
    cml.state.faults.failing_builds = 1
    message = deployer(project.v2)
    assert "failed at step 'build'" in message and "ended with status 'build failed'" in message
    assert "deleted the unfinished model build" in message and "(build failed)" in message
    assert serving(cml) == [project.v1] and deployer.champion() == project.v1
    assert inventory(cml)["builds"] == ["built"] and len(active(cml)) == 1
    assert deployer(project.v2) == "" and serving(cml) == [project.v2]  # the next run builds again


def test_a_deployment_stuck_past_the_timeout_is_stopped(deployer: Deployer, cml: CmlEmulator) -> None:
    project = deployer.project
    with_v1_serving(deployer)
    cml.state.faults.stuck_deployments = 1
    started = deployer.time.now
    message = deployer(project.v2)
    assert "failed at step 'deploy'" in message and "status still 'deploying' after 30 s" in message
    assert "stopped the new deployment" in message
    assert serving(cml) == [project.v1] and [d["version"] for d in active(cml)] == [project.v1]
    stuck = deployments(cml)[-1]
    assert stuck["version"] == project.v2 and stuck["status"] == "stopping"
    # Two 1 s waits while the build moves on each read, then the deployment's, with backoff, cut at its deadline.
    assert deployer.time.now - started == pytest.approx(2 + 30)
    assert max(deployer.time.sleeps) == 4  # poll_max_interval_seconds
    assert deployer(project.v2) == "" and serving(cml) == [project.v2]


@pytest.mark.parametrize("faults", [Faults(dropped_calls={"get_model_build": {2}, "get_model_deployment": {1}})])
def test_a_connection_dropped_mid_poll_is_survived(deployer: Deployer, cml: CmlEmulator) -> None:
    assert deployer(deployer.project.v1) == ""
    assert 0 in statuses(cml, "get_model_build") and statuses(cml, "get_model_deployment")[0] == 0
    assert serving(cml) == [deployer.project.v1]


def test_a_connection_that_keeps_dropping_ends_in_a_clear_error(deployer: Deployer, cml: CmlEmulator) -> None:
    project = deployer.project
    with_v1_serving(deployer)
    cml.state.faults.dropped_calls = {"get_model_deployment": set(range(1, 1000))}
    message = deployer(project.v2)
    assert "failed at step 'deploy'" in message and "no status read after 30 s" in message
    assert "last read failed: get_model_deployment: CML API error 0: no response after 5 attempts" in message
    assert "stopped the new deployment" in message and serving(cml) == [project.v1]


def test_failing_to_stop_the_old_deployment_rolls_the_new_one_back(deployer: Deployer, cml: CmlEmulator) -> None:
    project = deployer.project
    with_v1_serving(deployer)
    cml.state.faults.failing_calls = {"stop_model_deployment": {n: 503 for n in range(1, 6)}}  # all 5 attempts
    message = deployer(project.v2)
    assert "failed at step 'stop the previous deployments'" in message and "503" in message
    assert "stopped the new deployment" in message and f"(version {project.v1})" in message
    assert serving(cml) == [project.v1] and deployer.champion() == project.v1


@pytest.mark.slow
def test_a_version_failing_its_smoke_test_is_stopped(
    deployer: Deployer, cml: CmlEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.deploy import failing_model
    from tests.serving.helpers import gated_version
    from tests.support import models

    project = deployer.project
    with_v1_serving(deployer)
    monkeypatch.setattr(models, "simple_pipeline", failing_model.failing_pipeline)
    monkeypatch.setattr(models.mlflow.sklearn, "log_model", failing_model.log_model_trusting_it)
    broken = str(gated_version(project.config(), seed=3).version)
    message = deployer(broken)
    assert "failed at step 'smoke test'" in message and "HTTP 500" in message and "failed while scoring" in message
    assert "stopped the new deployment" in message
    assert serving(cml) == [project.v1] and deployer.champion() == project.v1
    assert [d["version"] for d in active(cml)] == [project.v1]


def test_an_unreachable_model_service_fails_the_smoke_test(
    deployer: Deployer, cml: CmlEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = deployer.project
    with_v1_serving(deployer)
    nowhere = f"http://127.0.0.1:{free_port()}/model"
    monkeypatch.setenv("CML_MLOPS_CML_MODEL_SERVICE_URL", nowhere)  # the config's URL wins over the derived one
    message = deployer(project.v2)
    assert "failed at step 'smoke test'" in message and f"{nowhere}: no answer after 4 attempts" in message
    assert "stopped the new deployment" in message and serving(cml) == [project.v1]

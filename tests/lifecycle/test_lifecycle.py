"""`cml-mlops lifecycle`: new batch -> retrain -> redeploy only after a passed gate, with the local target."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from cml_mlops.config import ProjectConfig
from cml_mlops.lifecycle import LifecycleError, run_lifecycle
from cml_mlops.registry import alias_version, set_alias
from cml_mlops.tracking import CHAMPION, configure_mlflow
from tests.gates.conftest import set_gates
from tests.retraining.conftest import train_gated_version
from tests.serving.helpers import ACCESS_KEY, envelope, project_config, run_cli, server_pids
from tests.steps.conftest import Invoke, current_snapshot_id

RECORD = {
    "age": 41, "job": "technician", "marital": "married", "education": "secondary", "default": "no",
    "balance": 1200, "housing": "yes", "loan": "no", "contact": "cellular", "day": 5, "month": "may",
    "campaign": 2, "pdays": -1, "previous": 0, "poutcome": "unknown",
}  # fmt: skip


def champion(project: Path) -> str | None:
    found = alias_version(project_config(project), CHAMPION)
    return None if found is None else str(found.version)


def served_version(project: Path) -> str:
    url = f"http://127.0.0.1:{project_config(project).serving.port}/model"
    answer = httpx.post(url, json=envelope(RECORD), timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["response"]["model_version"])


def summary(project: Path) -> dict[str, Any]:
    return json.loads((project / "reports" / "lifecycle" / "summary.json").read_text())


def steps(project: Path) -> dict[str, str]:
    return {step["name"]: step["status"] for step in summary(project)["steps"]}


def version_count(config: ProjectConfig) -> int:
    return len(configure_mlflow(config).search_model_versions(f"name = '{config.tracking.model_name}'"))


def deployed_champion(project: Path, config: ProjectConfig) -> str:
    """Train, gate and deploy version 1 with the real local server, as the steps before the lifecycle do."""
    version = train_gated_version(config)
    result = run_cli(project, "deploy", "--version", version)
    assert result.exit_code == 0, result.output
    return version


@pytest.mark.slow  # trains and gates twice, starts two model servers
def test_lifecycle_deploys_a_new_version_that_passed_its_gate(project: Path, config: ProjectConfig) -> None:
    first = deployed_champion(project, config)
    assert served_version(project) == first
    result = run_cli(project, "lifecycle", "--rows", "400", "--seed", "1", "--shift", "age=0.5", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "outcome: deployed: version 2 passed its gate and serves at http://127.0.0.1:" in result.stdout
    assert "lifecycle: deploy version 2 to local" in result.stderr
    assert served_version(project) == "2" and champion(project) == "2"
    assert len(server_pids(project)) == 1
    found = summary(project)
    assert (found["outcome"], found["champion_before"], found["champion_after"]) == ("deployed", first, "2")
    assert found["batch_snapshot_id"] == current_snapshot_id(project)
    assert found["retrain"]["increment_rows"] == 400 and found["retrain"]["gate"]["passed"] is True
    assert steps(project) == {"preflight": "done", "newbatch": "done", "retrain": "done", "deploy": "done"}
    assert "400 rows -> snapshot" in result.stdout and "shift age=+0.5 std" in result.stdout
    assert (project / "reports" / "lifecycle" / "summary.md").read_text().startswith("# Lifecycle: deployed")
    assert ACCESS_KEY not in result.output


@pytest.mark.slow  # trains and gates twice, starts a model server
def test_a_new_version_failing_its_gate_is_not_deployed_and_the_champion_keeps_serving(
    project: Path, config: ProjectConfig, invoke: Invoke
) -> None:
    first = deployed_champion(project, config)
    # Data that arrived by other means, then a gate the retrained model cannot pass.
    assert invoke("newbatch", "--rows", "300", "--flip-labels", "0.5").exit_code == 0
    set_gates(project, floors={"roc_auc": 0.99})
    result = run_cli(project, "lifecycle", "--skip-newbatch", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "outcome: kept champion: version 2 failed its gate (floor: roc_auc)" in result.stdout
    assert f"champion version {first} keeps serving" in result.stdout
    assert served_version(project) == first and champion(project) == first
    assert steps(project) == {"preflight": "done", "newbatch": "skipped", "retrain": "done", "deploy": "skipped"}
    assert summary(project)["retrain"]["increment_rows"] == 300
    # --require-deploy makes "not deployed" an error (a scheduled job that must notice).
    strict = run_cli(project, "lifecycle", "--skip-newbatch", "--require-deploy", "--no-progress")
    assert strict.exit_code == 1 and "no new version was deployed (--require-deploy)" in strict.output
    assert served_version(project) == first


@pytest.mark.slow  # trains and gates a champion
def test_nothing_new_ends_the_chain_without_training(project: Path, config: ProjectConfig) -> None:
    set_alias(config, train_gated_version(config), CHAMPION)
    path = project / "cml-mlops.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings["lifecycle"] = {"target": "local", "new_batch": False}  # as a production profile would say
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    result = run_lifecycle(project_config(project), progress=False)
    assert result.outcome == "up_to_date" and result.new_version is None
    assert "nothing was retrained; champion version 1 keeps serving" in result.reason
    assert version_count(config) == 1 and server_pids(project) == []
    assert steps(project)["newbatch"] == "skipped" and steps(project)["deploy"] == "skipped"


@pytest.mark.slow  # trains and gates a champion
def test_a_refused_batch_stops_the_chain_and_changes_nothing(project: Path, config: ProjectConfig) -> None:
    set_alias(config, train_gated_version(config), CHAMPION)
    before = current_snapshot_id(project)
    result = run_cli(project, "lifecycle", "--category-mix", "job=astronaut:0.3", "--no-progress")
    assert result.exit_code == 1
    assert "lifecycle stopped at step newbatch: the new batch breaks the contract" in result.output
    assert "State: the lake is unchanged; champion version 1 keeps serving." in result.output
    assert "newbatch   failed" in result.stdout and "retrain    not run" in result.stdout
    assert current_snapshot_id(project) == before and version_count(config) == 1
    assert summary(project)["failed_step"] == "newbatch" and summary(project)["outcome"] == "failed"


@pytest.mark.parametrize("problem", ["no access key", "no gated version"])
def test_a_failed_preflight_stops_before_the_lake_changes(
    project: Path, config: ProjectConfig, monkeypatch: pytest.MonkeyPatch, problem: str
) -> None:
    before = current_snapshot_id(project)
    if problem == "no access key":
        monkeypatch.delenv("CML_MLOPS_SERVING_ACCESS_KEY")
        expected = "CML_MLOPS_SERVING_ACCESS_KEY"
    else:
        expected = "has no champion and no version that passed the gate"
    with pytest.raises(LifecycleError) as raised:
        run_lifecycle(project_config(project), progress=False)
    assert str(raised.value).startswith("lifecycle stopped at step preflight:") and expected in str(raised.value)
    assert raised.value.summary.failed_step == "preflight"
    assert current_snapshot_id(project) == before and server_pids(project) == []


@pytest.mark.slow  # trains and gates twice, starts a model server that cannot take the port
def test_a_failed_deploy_stops_the_chain_and_says_what_is_left(project: Path, config: ProjectConfig) -> None:
    set_alias(config, train_gated_version(config), CHAMPION)
    with socket.create_server(("127.0.0.1", config.serving.port)):  # another program holds the port
        result = run_cli(project, "lifecycle", "--rows", "300", "--no-progress")
    assert result.exit_code == 1
    assert "lifecycle stopped at step deploy: version 2 failed its switch" in result.output
    assert "version 2 is registered but not deployed; champion version 1 keeps serving." in result.output
    assert champion(project) == "1" and server_pids(project) == []
    assert steps(project) == {"preflight": "done", "newbatch": "done", "retrain": "done", "deploy": "failed"}


def test_an_unknown_target_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("lifecycle", "--target", "elsewhere")
    assert result.exit_code == 2 and "Invalid value for '--target'" in result.output

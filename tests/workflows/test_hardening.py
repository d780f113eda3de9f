"""The hardening rules of every workflow, this repo's and a generated project's, one test per rule."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.workflows.workflows import EXPRESSION, REPO_WORKFLOWS, load, steps, triggers, workflow_files

PINNED = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(?:\.\d+)*$")
# The only write permissions, each in the one job that needs it.
WRITE_GRANTS = {
    ("ci.yml", "comment", "pull-requests"),
    ("monitor.yml", "alert", "issues"),
    ("monitor.yml", "retrain", "actions"),
}
UNTRUSTED = re.compile(r"github\.event\.|github\.head_ref|inputs\.")


@pytest.fixture(scope="module")
def all_workflows(baked_project: Path) -> list[tuple[str, Path]]:
    return [("repo", path) for path in REPO_WORKFLOWS] + [("generated", path) for path in workflow_files(baked_project)]


def jobs(path: Path) -> dict[str, dict[str, Any]]:
    return dict(load(path)["jobs"])


def test_no_default_permissions_and_every_job_says_what_it_needs(all_workflows: list[tuple[str, Path]]) -> None:
    for _, path in all_workflows:
        assert load(path)["permissions"] == {}, path
        for name, job in jobs(path).items():
            assert isinstance(job.get("permissions"), dict), f"{path.name}:{name} has no permissions block"
            assert set(job["permissions"].values()) <= {"read", "write"}, f"{path.name}:{name}"


def test_write_permissions_only_where_needed(all_workflows: list[tuple[str, Path]]) -> None:
    grants = {
        (path.name, name, scope)
        for _, path in all_workflows
        for name, job in jobs(path).items()
        for scope, level in job["permissions"].items()
        if level == "write"
    }
    assert grants == WRITE_GRANTS


def test_every_job_has_a_timeout(all_workflows: list[tuple[str, Path]]) -> None:
    for _, path in all_workflows:
        for name, job in jobs(path).items():
            assert 0 < int(job.get("timeout-minutes", 0)) <= 120, f"{path.name}:{name} needs a timeout"


def test_every_action_is_pinned_to_a_commit_with_its_version(all_workflows: list[tuple[str, Path]]) -> None:
    for _, path in all_workflows:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if re.match(r"^\s*(- )?uses:", line)]
        assert lines, path
        for line in lines:
            assert PINNED.match(line), f"{path.name}: {line.strip()}"


def test_checkouts_keep_no_credentials(all_workflows: list[tuple[str, Path]]) -> None:
    for _, path in all_workflows:
        for step in steps(path):
            if (step.uses or "").startswith("actions/checkout@"):
                assert step.raw["with"]["persist-credentials"] is False, str(step)


def test_no_pull_request_target_and_no_expression_in_scripts(all_workflows: list[tuple[str, Path]]) -> None:
    for _, path in all_workflows:
        assert "pull_request_target" not in triggers(load(path)), path
        for step in steps(path):
            assert not EXPRESSION.search(step.run or ""), f"{step}: pass values through env:"


def test_untrusted_input_never_reaches_a_shell_or_a_secret_job(all_workflows: list[tuple[str, Path]]) -> None:
    # Event fields are attacker-controlled text; the one allowed use is the pull-request number, a number.
    for _, path in all_workflows:
        for step in steps(path):
            for value in step.env.values():
                for expression in EXPRESSION.findall(value):
                    if UNTRUSTED.search(expression):
                        assert expression == "github.event.pull_request.number", f"{step}: {expression}"


def test_secrets_live_only_in_environments_and_never_in_pull_requests(all_workflows: list[tuple[str, Path]]) -> None:
    secret_jobs = set()
    for _, path in all_workflows:
        workflow = load(path)
        for name, job in jobs(path).items():
            text = repr(job)
            if "secrets." in text:
                secret_jobs.add((path.name, name))
                assert job.get("environment"), f"{path.name}:{name} reads secrets outside an environment"
                assert not triggers(workflow) & {"pull_request", "pull_request_target"}, path
        assert "secrets." not in repr(workflow.get("env", {})), f"{path.name}: secrets in the workflow's env"
    assert secret_jobs == {("deploy.yml", "deploy"), ("retrain.yml", "retrain"), ("monitor.yml", "checks")}


def test_production_changes_never_overlap(baked_project: Path) -> None:
    folder = baked_project / ".github" / "workflows"
    for name in ("deploy.yml", "retrain.yml"):
        workflow = load(folder / name)
        assert workflow["concurrency"] == {"group": "production", "cancel-in-progress": False}, name
        assert {job["environment"] for job in workflow["jobs"].values()} == {"production"}, name
    assert load(folder / "monitor.yml")["jobs"]["checks"]["environment"] == "monitoring"
    for _, path in [("repo", p) for p in REPO_WORKFLOWS] + [("generated", folder / "ci.yml")]:
        assert load(path)["concurrency"]["cancel-in-progress"] is True  # a new push replaces the old run


def test_pip_is_cached_everywhere_python_is_set_up(all_workflows: list[tuple[str, Path]]) -> None:
    for _, path in all_workflows:
        for step in steps(path):
            if (step.uses or "").startswith("actions/setup-python@"):
                assert step.raw["with"].get("cache") == "pip", str(step)
                assert step.raw["with"].get("cache-dependency-path") == "pyproject.toml", str(step)
        # nox's environments are built by uv: its cache sits inside pip's, which setup-python saves.
        env = load(path)["env"]
        assert env["UV_CACHE_DIR"].startswith(env["PIP_CACHE_DIR"] + "/"), path


def test_the_pull_request_gate_is_one_required_check(baked_project: Path) -> None:
    ci = load(baked_project / ".github" / "workflows" / "ci.yml")
    gate = ci["jobs"]["pr-gate"]
    assert set(gate["needs"]) == set(ci["jobs"]) - {"pr-gate", "comment"}
    assert gate["if"] == "always()"
    assert "failure" in gate["steps"][0]["if"]
    assert triggers(ci) == {"pull_request", "workflow_dispatch"}
    comment = ci["jobs"]["comment"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]  # forks skip

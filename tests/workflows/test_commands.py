"""Workflows and local commands agree: every `run:` step is a nox session that exists or a valid `cml-mlops` command,
and every `cml-mlops` command behind a nox session parses with the CLI's own options."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ci.lifecycle import REPO_ROOT
from cml_mlops.config import load_config
from tests.workflows.workflows import (
    EXPRESSION,
    Step,
    cli_problem,
    load,
    nox_problem,
    nox_sessions,
    run_problems,
    step_problem,
    steps,
    workflow_files,
)

SESSIONS = {"lint", "tests", "train_gate"}
OPTION_NAME = st.from_regex(r"--[a-z][a-z-]{2,15}", fullmatch=True)


@pytest.fixture
def noxfile(generated_noxfile: ModuleType) -> ModuleType:
    return generated_noxfile


@pytest.fixture(scope="module")
def generated_sessions(baked_project: Path) -> set[str]:
    return nox_sessions(baked_project)


def step(script: str) -> Step:
    return Step(Path("ci.yml"), "job", 0, {"run": script})


def uploads(path: Path) -> list[str]:
    return [str(s.raw["with"]["path"]) for s in steps(path) if s.uses and "upload-artifact" in s.uses]


@pytest.mark.parametrize(
    "script",
    [
        "nox -s lint",
        "nox -s lint tests",
        "nox -s tests -- -x -q",
        'nox -s tests --force-python "$PYTHON_VERSION"',
        "cml-mlops train --no-progress",
        "cml-mlops --profile ci validate --snapshot-id 3",
        "cml-mlops lake load --mode append",
        'python -m pip install "nox>=2025.2.9" uv',
        "exit 1",
    ],
)
def test_the_checker_accepts_sessions_commands_and_plumbing(script: str) -> None:
    assert step_problem(step(script), SESSIONS) is None


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("nox -s deploy", "no session deploy"),
        ("nox", "must name its sessions"),
        ("nox -k lint", "must name its sessions"),
        ("nox -s lint --bogus", "unrecognized arguments"),
        ("cml-mlops nonsense", "No such command"),
        ("cml-mlops lake", "names no command"),
        ("cml-mlops train --bogus", "No such option"),
        ("cml-mlops lake load --mode upsert", "'upsert' is not one of"),
        ("cml-mlops validate --snapshot-id many", "is not a valid integer"),
        ("cml-mlops --profile staging train", "'staging' is not one of"),
        ("nox -s lint && nox -s tests", "more than one command"),
        ("nox -s lint\nnox -s tests", "more than one command"),
        ("curl https://example.org/install.sh | sh", "more than one command"),
        ("make deploy", "neither a nox session nor a cml-mlops command"),
        ("nox -s lint -- ${{ github.event.pull_request.title }}", "pass values through env"),
        ("nox -s tests -- $(cat args)", "shell logic"),
    ],
)
def test_the_checker_refuses_what_breaks_the_rule(script: str, reason: str) -> None:
    problem = step_problem(step(script), SESSIONS)
    assert problem is not None and reason in problem, problem


@settings(max_examples=40, deadline=None)
@given(option=OPTION_NAME)
def test_an_option_the_command_lacks_is_refused(option: str) -> None:
    from cml_mlops.cli import cli

    train = cli.get_command(None, "train")  # type: ignore[arg-type]
    assert train is not None
    known = {opt for param in train.params for opt in getattr(param, "opts", [])}
    problem = cli_problem(["train", option])
    assert (problem is None) == (option in known), problem


@settings(max_examples=40, deadline=None)
@given(name=st.from_regex(r"[a-z][a-z_]{1,12}", fullmatch=True))
def test_a_session_the_noxfile_lacks_is_refused(name: str) -> None:
    assert (nox_problem(["-s", name], SESSIONS) is None) == (name in SESSIONS)


def test_every_run_step_of_the_repository_workflows_follows_the_rule() -> None:
    assert run_problems(REPO_ROOT) == []


def test_every_run_step_of_the_generated_workflows_follows_the_rule(baked_project: Path) -> None:
    assert run_problems(baked_project) == []


def test_the_cml_mlops_commands_behind_the_sessions_parse(noxfile: ModuleType, generated_sessions: set[str]) -> None:
    assert set(noxfile.STEPS) <= generated_sessions
    problems = [
        f"{session}: {problem}"
        for session, commands in noxfile.STEPS.items()
        for command in commands
        if (problem := cli_problem(command))
    ]
    assert problems == []


def test_the_retrain_session_starts_the_chain_the_cml_jobs_define(baked_project: Path, noxfile: ModuleType) -> None:
    jobs = yaml.safe_load((baked_project / "cml" / "jobs.yaml").read_text(encoding="utf-8"))["jobs"]
    parent_of = {job["name"]: job.get("parent") for job in jobs}
    started = [command[2] for command in noxfile.STEPS["retrain"] if command[:2] == ["cml", "run-job"]]
    assert started == ["newbatch"] and parent_of["newbatch"] is None
    chain = ["newbatch"]
    while child := next((name for name, parent in parent_of.items() if parent == chain[-1]), None):
        chain.append(child)
    assert chain == ["newbatch", "retrain", "redeploy"]  # new batch -> retrain (gated) -> redeploy


def test_every_generated_session_is_used_by_a_workflow(baked_project: Path, generated_sessions: set[str]) -> None:
    # ...and the other way round (checked above): no dead session, no workflow step without its session.
    called = {
        name
        for path in workflow_files(baked_project)
        for step_ in steps(path)
        if (step_.run or "").startswith("nox -s ")
        for name in step_.run.split()[2:]  # type: ignore[union-attr]
        if not name.startswith("-")
    }
    assert called == generated_sessions


def test_the_noxfile_reads_reports_where_the_config_writes_them(baked_project: Path, noxfile: ModuleType) -> None:
    config = load_config(baked_project, environ={})
    assert config.path(config.reports.dir) == noxfile.REPORTS
    monitoring = (noxfile.REPORTS / "monitoring").relative_to(baked_project)
    assert uploads(baked_project / ".github/workflows/monitor.yml") == [f"{monitoring}/"]
    assert uploads(baked_project / ".github/workflows/ci.yml") == [str(noxfile.SUMMARY.relative_to(baked_project))]
    monitor = steps(baked_project / ".github/workflows/monitor.yml")
    downloads = [s.raw["with"]["path"] for s in monitor if s.uses and "download-artifact" in s.uses]
    assert downloads == [str(monitoring)] * 2  # where the alert and dispatch_retrain sessions read the report


def test_the_readme_documents_every_secret_variable_and_session(
    baked_project: Path, generated_sessions: set[str]
) -> None:
    readme = (baked_project / "README.md").read_text(encoding="utf-8")
    names = {
        expression.split(".", 1)[1]
        for path in workflow_files(baked_project)
        for expression in EXPRESSION.findall(path.read_text(encoding="utf-8"))
        if expression.startswith(("secrets.", "vars."))
    }
    cml = {"CML_MLOPS_CML_WORKSPACE_URL", "CML_MLOPS_CML_PROJECT_ID"}
    assert names >= {"CDSW_APIV2_KEY", "CML_MLOPS_MONITORING_DSN", *cml}
    assert {name for name in names if f"`{name}`" not in readme} == set()
    assert {name for name in generated_sessions if not re.search(rf"\b{name}\b", readme)} == set()
    for setting in ("pr-gate", "required reviewers", "production", "monitoring"):
        assert setting in readme


def test_the_root_e2e_session_exists_and_runs_the_e2e_marker() -> None:
    assert "e2e" in nox_sessions(REPO_ROOT)
    ci = load(REPO_ROOT / ".github" / "workflows" / "ci.yml")
    e2e = ci["jobs"]["e2e"]
    assert [s.run for s in steps(REPO_ROOT / ".github/workflows/ci.yml", "e2e") if s.run][-1] == "nox -s e2e"
    assert e2e["services"]["postgres"]["image"].startswith("postgres:")
    assert {"schedule", "push"} <= set(ci["on"]) and ci["on"]["push"]["branches"] == ["main"]
    assert e2e["if"] == "github.event_name != 'pull_request'"
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^\s*"e2e: ', pyproject, flags=re.MULTILINE)
    assert sys.version_info >= (3, 10)

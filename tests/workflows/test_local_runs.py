"""The generated workflows' jobs, run here step by step as GitHub runs them (nox on this interpreter instead of fresh
environments): the pull-request gate, deploy and retrain against the CML API emulator, monitoring on PostgreSQL."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from click.testing import CliRunner

from cml_mlops.cli import cli
from cml_mlops.cml.emulator import CmlEmulator, EmulatorState, Faults
from tests.conftest import BANK_SAMPLE_SHA256, bake
from tests.lake.conftest import postgres_catalog_uri  # noqa: F401  (a fresh PostgreSQL database per test)
from tests.support.net import free_port
from tests.workflows.workflows import BIN, run_job, steps

API_KEY = "workflow-KEY-5e4d3c2b1a-LEAKCHECK"
PROJECT_ID = "emul-ator-proj-0001"
ROWS = 600  # predictions the simulation logs before the monitoring run
DB_PASSWORD = "pw-LEAKCHECK-7f6e"  # PostgreSQL here trusts local users and ignores it; it must never be printed
# Settings of this machine that must not leak into the steps: only the workflow and the test set them.
OUTSIDE = ("CDSW_API_URL", "CDSW_DOMAIN", "CDSW_PROJECT_ID", "CDSW_APIV2_KEY", "CML_MLOPS_PROFILE")
OUTSIDE += ("CML_MLOPS_DATA_URL", "CML_MLOPS_MONITORING_DSN")


def sample_project(folder: Path, **prompts: str) -> Path:
    """A project on bank.csv (4,521 rows), its data fetched from the shared zip like a mirror would serve it."""
    return bake(folder, dataset_member="bank.csv", dataset_sha256=BANK_SAMPLE_SHA256, **prompts)


def context(project: Path, bank_zip: Path, **values: str) -> dict[str, str]:
    """What GitHub would put in the workflows' expressions; unset secrets and variables are empty, as there."""
    return {"github.workspace": str(project), "vars.CML_MLOPS_DATA_URL": bank_zip.as_uri(), **values}


def workflow(project: Path, name: str) -> Path:
    return project / ".github" / "workflows" / name


def commands(project: Path, name: str, job: str) -> list[str]:
    """The job's commands in order, as they are written in the workflow (the pip bootstrap aside)."""
    return [s.run for s in steps(workflow(project, name), job) if s.run and not s.run.startswith("python -m pip")]


def output(results: list[subprocess.CompletedProcess[str]]) -> str:
    return "\n".join(result.stdout + result.stderr for result in results)


def assert_all_ran(results: list[subprocess.CompletedProcess[str]], expected: list[str]) -> None:
    assert [result.returncode for result in results] == [0] * len(expected), output(results)[-6000:]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what the workflow and the test set reach the steps (no workspace settings of this machine)."""
    for name in OUTSIDE:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.slow
def test_the_lint_job_runs_here(baked_project: Path, tmp_path: Path) -> None:
    project = Path(shutil.copytree(baked_project, tmp_path / "project"))
    results = run_job(workflow(project, "ci.yml"), "lint", project, {"github.workspace": str(project)})
    assert_all_ran(results, commands(project, "ci.yml", "lint"))
    assert "Success: no issues found" in output(results)  # mypy


def test_the_comment_step_refuses_to_post_without_a_summary(baked_project: Path, tmp_path: Path) -> None:
    project = Path(shutil.copytree(baked_project, tmp_path / "project"))
    result = subprocess.run(
        [str(BIN / "nox"), "--no-venv", "-s", "comment"], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "build/summary.md is missing: run `nox -s train_gate` first" in result.stdout + result.stderr


@pytest.mark.slow
def test_the_pull_request_gate_passes_and_reports_metrics_and_verdict(tmp_path: Path, bank_zip: Path) -> None:
    project = sample_project(tmp_path, min_test_roc_auc="0.7")
    job_summary = tmp_path / "job-summary.md"
    github = {"GITHUB_STEP_SUMMARY": str(job_summary)}
    results = run_job(workflow(project, "ci.yml"), "gate", project, context(project, bank_zip), github)
    assert_all_ran(results, commands(project, "ci.yml", "gate"))
    summary = (project / "build" / "summary.md").read_text(encoding="utf-8")
    training = json.loads((project / "reports" / "training.json").read_text(encoding="utf-8"))
    assert f"## Training: {training['model_name']} v{training['model_version']}" in summary
    assert f"| roc_auc | {training['test_metrics']['roc_auc']:.4f} |" in summary
    assert f"## Quality gate: PASS - {training['model_name']} v{training['model_version']}" in summary
    assert job_summary.read_text(encoding="utf-8") == summary  # what GitHub shows on the run's page


@pytest.mark.slow
def test_a_failed_gate_fails_the_pull_request_check_and_says_why(tmp_path: Path, bank_zip: Path) -> None:
    project = sample_project(tmp_path, min_test_roc_auc="0.99")
    results = run_job(workflow(project, "ci.yml"), "gate", project, context(project, bank_zip))
    assert [result.returncode for result in results] == [0, 1]  # contracts passed, train_gate failed
    assert "quality gate FAILED" in output(results)
    summary = (project / "build" / "summary.md").read_text(encoding="utf-8")
    assert "## Quality gate: FAIL" in summary
    assert "| floor | roc_auc | roc_auc |" in summary and ">= 0.99" in summary


@pytest.fixture
def workspace(tmp_path: Path, bank_zip: Path) -> Iterator[tuple[Path, CmlEmulator, dict[str, str]]]:
    """A sample project, an emulated CML workspace serving its models, and the workflow context pointing at it."""
    from cml_mlops.cml.emulator.model_service import project_loader

    project = sample_project(tmp_path, min_test_roc_auc="0.7")
    state = EmulatorState(step_seconds=0, faults=Faults(failing_jobs={"retrain"}), project_id=PROJECT_ID)
    with CmlEmulator(state, api_key=API_KEY, model_loader=project_loader(project)) as emulator:
        values = context(
            project,
            bank_zip,
            **{
                "secrets.CDSW_APIV2_KEY": API_KEY,
                "vars.CML_MLOPS_CML_WORKSPACE_URL": emulator.url,
                "vars.CML_MLOPS_CML_PROJECT_ID": PROJECT_ID,
            },
        )
        yield project, emulator, values


# The project's own settings for a fast emulator (it answers at once): no pauses between status polls.
NO_POLL_PAUSES = {"CML_MLOPS_CML_POLL_INTERVAL_SECONDS": "0", "CML_MLOPS_CML_POLL_MAX_INTERVAL_SECONDS": "0"}


@pytest.mark.slow
def test_deploy_then_retrain_run_here_against_the_cml_emulator(
    workspace: tuple[Path, CmlEmulator, dict[str, str]],
) -> None:
    project, emulator, values = workspace
    deployed = run_job(workflow(project, "deploy.yml"), "deploy", project, values, NO_POLL_PAUSES)
    assert_all_ran(deployed, commands(project, "deploy.yml", "deploy"))
    assert len(emulator.requests_for("create_model_deployment")) == 1
    assert [d["status"] for d in emulator.state.deployments.values()] == ["deployed"]
    spec = yaml.safe_load((project / "cml" / "jobs.yaml").read_text(encoding="utf-8"))
    assert sorted(job["name"] for job in emulator.state.jobs.values()) == sorted(job["name"] for job in spec["jobs"])

    # The retrain job of the emulated workspace fails (Faults above): the workflow fails there, deploys nothing new.
    retrained = run_job(workflow(project, "retrain.yml"), "retrain", project, values, NO_POLL_PAUSES)
    assert [result.returncode for result in retrained] == [1]
    assert "retrain" in output(retrained)
    assert len(emulator.requests_for("create_model_deployment")) == 1

    emulator.state.faults.failing_jobs.clear()
    retrained = run_job(workflow(project, "retrain.yml"), "retrain", project, values, NO_POLL_PAUSES)
    assert_all_ran(retrained, commands(project, "retrain.yml", "retrain"))
    runs = [(emulator.state.jobs[run["job_id"]]["name"], run["status"]) for run in emulator.state.runs.values()]
    assert ("retrain", "ENGINE_FAILED") in runs  # the first attempt
    assert {name for name, status in runs if status == "ENGINE_SUCCEEDED"} == {"newbatch", "retrain", "redeploy"}
    assert API_KEY not in output(deployed + retrained)


@pytest.mark.slow
@pytest.mark.postgres
def test_the_monitoring_job_runs_here_on_postgresql(
    tmp_path: Path,
    bank_zip: Path,
    postgres_catalog_uri: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = sample_project(tmp_path, min_test_roc_auc="0.7")
    dsn = postgres_catalog_uri.replace("root@", f"root:{DB_PASSWORD}@", 1)
    for name, value in {
        "CML_MLOPS_DATA_URL": bank_zip.as_uri(),
        "CML_MLOPS_MONITORING_DSN": dsn,
        "CML_MLOPS_SERVING_ACCESS_KEY": "serving-key-for-the-test",
        "CML_MLOPS_SERVING_PORT": str(free_port()),
    }.items():
        monkeypatch.setenv(name, value)
    # What production has done before a monitoring run: a served model whose predictions and labels are logged.
    setup = [["ingest", "--no-progress"], ["lake", "load"], ["train", "--no-progress"], ["gate"]]
    setup += [
        ["deploy", "--target", "local"],
        ["simulate", "--target", "local", "--rows", str(ROWS), "--label-share", "1"],
    ]
    try:
        for args in setup:
            result = CliRunner().invoke(cli, ["--project-dir", str(project), *args], catch_exceptions=False)
            assert result.exit_code == 0, (args, result.output)
    finally:
        CliRunner().invoke(cli, ["--project-dir", str(project), "undeploy", "--target", "local"])
    monkeypatch.delenv("CML_MLOPS_MONITORING_DSN")  # from here on, only the workflow's secret gives it

    secret = {"secrets.CML_MLOPS_MONITORING_DSN": dsn}
    results = run_job(workflow(project, "monitor.yml"), "checks", project, context(project, bank_zip, **secret))
    assert len(results) == 1 and results[0].returncode in (0, 1), output(results)[-6000:]
    folder = project / "reports" / "monitoring"
    report = json.loads((folder / "monitoring.json").read_text(encoding="utf-8"))
    assert report["exit_code"] == results[0].returncode  # the job fails exactly when a check alerts
    assert report["checks"] and sum(window["requests"] for window in report["windows"]) == ROWS
    assert urlsplit(report["store"]).path.lstrip("/") == urlsplit(dsn).path.lstrip("/")  # the workflow's database
    assert (folder / "monitoring.md").read_text(encoding="utf-8").strip()
    assert "<html" in (folder / "dashboard.html").read_text(encoding="utf-8").lower()
    texts = [output(results), *(path.read_text(encoding="utf-8") for path in folder.iterdir() if path.is_file())]
    assert not [text for text in texts if DB_PASSWORD in text]

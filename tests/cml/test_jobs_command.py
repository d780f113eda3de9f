"""`cml-mlops cml sync-jobs` and `cml-mlops cml run-job` on a baked project against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from cml_mlops.cli import cli
from cml_mlops.cml import CmlClient
from cml_mlops.cml.emulator import CmlEmulator, Faults
from tests.cml.conftest import API_KEY, PROJECT

CHAIN = ["newbatch", "retrain", "redeploy"]
ALL_JOBS = [*CHAIN, "monitor"]


@pytest.fixture
def cml_env(emulator: CmlEmulator, monkeypatch: pytest.MonkeyPatch) -> CmlEmulator:
    """The baked project's config points at the emulator; nothing comes from a real workspace's variables."""
    for name in ("CDSW_API_URL", "CDSW_DOMAIN", "CDSW_PROJECT_ID", "CML_MLOPS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CML_MLOPS_CML_WORKSPACE_URL", emulator.url)
    monkeypatch.setenv("CML_MLOPS_CML_PROJECT_ID", PROJECT)
    monkeypatch.setenv("CDSW_APIV2_KEY", API_KEY)
    return emulator


def cml(project: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["--project-dir", str(project), "cml", *args])
    assert API_KEY not in result.output  # the key never shows, whatever happens
    return result


def project_jobs(emulator: CmlEmulator) -> list[str]:
    with CmlClient(emulator.url, API_KEY, environ={}) as client:
        return sorted(job["name"] for job in CmlClient.iterate(client.list_jobs, PROJECT))


def test_sync_jobs_creates_the_projects_jobs_once(baked_project: Path, cml_env: CmlEmulator) -> None:
    first = cml(baked_project, "sync-jobs")
    assert first.exit_code == 0, first.output
    assert all(f"| {name} | created |" in first.output for name in ALL_JOBS)
    second = cml(baked_project, "sync-jobs", "--json")
    assert second.exit_code == 0, second.output
    report = json.loads(second.stdout)
    assert [(job["name"], job["action"]) for job in report["jobs"]] == [
        ("newbatch", "unchanged"),
        ("retrain", "unchanged"),
        ("redeploy", "unchanged"),
        ("monitor", "unchanged"),
    ]
    assert project_jobs(cml_env) == sorted(ALL_JOBS)


def test_a_dry_run_changes_nothing(baked_project: Path, cml_env: CmlEmulator) -> None:
    result = cml(baked_project, "sync-jobs", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "| retrain | would create |" in result.output
    assert project_jobs(cml_env) == []


def test_run_job_follows_the_chain_and_exits_0(baked_project: Path, cml_env: CmlEmulator) -> None:
    assert cml(baked_project, "sync-jobs").exit_code == 0
    result = cml(baked_project, "run-job", "newbatch", "--poll-interval", "0.01", "--timeout", "60")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.endswith("ENGINE_SUCCEEDED |")]
    assert [line.split("|")[1].strip() for line in lines] == CHAIN
    assert "monitor" not in result.output  # not a child of newbatch


@pytest.mark.parametrize("faults", [Faults(failing_jobs={"retrain"})])
def test_run_job_exits_1_naming_the_failed_job_and_the_skipped_ones(baked_project: Path, cml_env: CmlEmulator) -> None:
    assert cml(baked_project, "sync-jobs").exit_code == 0
    result = cml(baked_project, "run-job", "newbatch", "--poll-interval", "0.01", "--timeout", "60")
    assert result.exit_code == 1
    assert "Error: job 'retrain' run" in result.output and "ENGINE_FAILED" in result.output
    assert "did not run: redeploy" in result.output


def test_run_job_without_wait_starts_the_run(baked_project: Path, cml_env: CmlEmulator) -> None:
    assert cml(baked_project, "sync-jobs").exit_code == 0
    result = cml(baked_project, "run-job", "monitor", "--no-wait", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert "monitor: run" in result.stderr  # statuses go to stderr
    assert [(r["name"], r["status"]) for r in report["runs"]] == [("monitor", "ENGINE_SCHEDULING")]


def test_an_unknown_job_is_exit_1_with_a_hint(baked_project: Path, cml_env: CmlEmulator) -> None:
    result = cml(baked_project, "run-job", "retrian")
    assert result.exit_code == 1
    assert "no job named 'retrian'" in result.output and "cml-mlops cml sync-jobs" in result.output


def test_a_bad_spec_file_is_exit_1_naming_the_file_and_the_job(
    baked_project: Path, cml_env: CmlEmulator, tmp_path: Path
) -> None:
    spec = yaml.safe_load((baked_project / "cml" / "jobs.yaml").read_text(encoding="utf-8"))
    spec["jobs"][1]["schedule"] = "0 6 * * *"  # retrain has a parent
    bad = tmp_path / "jobs.yaml"
    bad.write_text(yaml.safe_dump(spec), encoding="utf-8")
    result = cml(baked_project, "sync-jobs", "--file", str(bad))
    assert result.exit_code == 1
    assert str(bad) in result.output and "job 'retrain' has a parent and a schedule" in result.output
    assert project_jobs(cml_env) == []


def test_without_a_project_id_the_error_says_where_to_set_it(
    baked_project: Path, cml_env: CmlEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CML_MLOPS_CML_PROJECT_ID")
    result = cml(baked_project, "sync-jobs")
    assert result.exit_code == 1
    assert "cannot reach CML: set the project id (cml.project_id, or CDSW_PROJECT_ID)" in result.output


def test_a_wrong_api_key_is_exit_1_and_not_shown(
    baked_project: Path, cml_env: CmlEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDSW_APIV2_KEY", "wrong-key-123456")
    result = cml(baked_project, "sync-jobs")
    assert result.exit_code == 1
    assert "401" in result.output and "wrong-key-123456" not in result.output

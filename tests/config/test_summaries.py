"""`cml-mlops summary`: the pull-request summary and the monitoring issue's text, from the profile's reports.dir."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cml_mlops.cli import cli
from cml_mlops.config import load_config
from cml_mlops.summaries import alert_summary, training_summary
from tests.config.test_config_refuses import MINIMAL, write_config

CONTENT = {**MINIMAL, "reports": {"dir": "reports"}, "profiles": {"ci": {"reports": {"dir": "build/reports"}}}}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CML_MLOPS_PROFILE", "CML_MLOPS_REPORTS_DIR", "GITHUB_STEP_SUMMARY", "GITHUB_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    return write_config(tmp_path, CONTENT)


def training_report(reports: Path, version: str = "3") -> Path:
    """A training.json shaped like `cml-mlops train` writes it (TrainingResult), with one metric missing (NaN)."""
    path = reports / "training.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "model_name": "bank-marketing-classifier", "model_version": version, "table": "bank_marketing.raw",
        "snapshot_id": 123, "threshold": 0.18349, "test_metrics": {"roc_auc": 0.80312, "lift_top_decile": None},
    }  # fmt: skip
    path.write_text(json.dumps(result), encoding="utf-8")
    return path


def test_reports_of_an_earlier_run_are_not_passed_off_as_this_one(project: Path) -> None:
    stale = training_report(project / "reports")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    config = load_config(project, environ={})
    assert training_summary(config, time.time() - 60).startswith("## Training did not finish")


def test_the_summary_has_the_metrics_and_says_when_the_gate_did_not_run(project: Path) -> None:
    started = time.time() - 1
    training_report(project / "reports")
    text = training_summary(load_config(project, environ={}), started)
    assert text.startswith("## Training: bank-marketing-classifier v3\n")
    assert "snapshot 123; decision threshold 0.1835." in text
    assert "| roc_auc | 0.8031 |" in text and "| lift_top_decile | n/a |" in text
    assert text.rstrip().endswith("## Quality gate did not run")


def test_the_command_reads_the_profiles_reports_dir_and_appends_to_the_job_summary(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.time() - 1
    reports = project / "build" / "reports"  # the ci profile's reports.dir
    training_report(reports, version="7")
    (reports / "gate").mkdir()
    (reports / "gate" / "gate-v6.md").write_text("## Quality gate: PASS - older version\n", encoding="utf-8")
    (reports / "gate" / "gate-v7.md").write_text("## Quality gate: FAIL - v7\n", encoding="utf-8")
    job_summary = tmp_path / "step-summary.md"
    job_summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(job_summary))
    output = project / "build" / "summary.md"
    args = ["--project-dir", str(project), "--profile", "ci", "summary", "training", "--since", str(started)]
    result = CliRunner().invoke(cli, [*args, "--output", str(output)])
    assert result.exit_code == 0, result.output
    written = output.read_text(encoding="utf-8")
    assert "## Quality gate: FAIL - v7" in written and "older version" not in written
    assert job_summary.read_text(encoding="utf-8") == "earlier step\n" + written  # appended, as GitHub expects
    local = CliRunner().invoke(cli, ["--project-dir", str(project), "summary", "training"])
    assert local.output.startswith("## Training did not finish")  # the local profile's reports/ is empty


def test_the_alert_links_the_run_and_carries_the_monitoring_report(project: Path) -> None:
    config = load_config(project, environ={})
    assert "The checks did not write a report." in alert_summary(config, environ={})
    folder = project / "reports" / "monitoring"
    folder.mkdir(parents=True)
    (folder / "monitoring.md").write_text("| drift | age | PSI 0.31 | ALERT |\n", encoding="utf-8")
    github = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "team/bank", "GITHUB_RUN_ID": "42"}
    text = alert_summary(config, environ=github)
    assert "https://github.com/team/bank/actions/runs/42" in text
    assert "| drift | age | PSI 0.31 | ALERT |" in text


def test_the_alert_command_writes_beside_the_monitoring_report(project: Path) -> None:
    result = CliRunner().invoke(cli, ["--project-dir", str(project), "summary", "alert"])
    assert result.exit_code == 0, result.output
    assert (project / "reports" / "monitoring" / "alert.md").read_text(encoding="utf-8").startswith("Monitoring")


def test_the_generated_noxfile_leaves_the_summaries_to_the_library(baked_project: Path) -> None:
    noxfile = (baked_project / "noxfile.py").read_text(encoding="utf-8")
    assert '"cml-mlops", "summary", "training"' in noxfile and '"cml-mlops", "summary", "alert"' in noxfile
    # No Markdown is rendered there (json only reads the monitoring status for the retrain dispatch).
    assert "def summary_text" not in noxfile and "GITHUB_STEP_SUMMARY" not in noxfile and '"| ' not in noxfile

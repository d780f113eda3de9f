"""What the generated noxfile writes for people: the pull-request summary and the monitoring issue's text."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture
def noxfile(generated_noxfile: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The generated noxfile, writing under a fresh project folder of its own."""
    monkeypatch.setattr(generated_noxfile, "ROOT", tmp_path)
    monkeypatch.setattr(generated_noxfile, "REPORTS", tmp_path / "reports")
    monkeypatch.setattr(generated_noxfile, "SUMMARY", tmp_path / "build" / "summary.md")
    return generated_noxfile


def training_report(noxfile: ModuleType, version: str = "3") -> Path:
    """A training.json shaped like `cml-mlops train` writes it (TrainingResult), with one metric missing (NaN)."""
    path = noxfile.REPORTS / "training.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "model_name": "bank-marketing-classifier", "model_version": version, "table": "bank_marketing.raw",
        "snapshot_id": 123, "threshold": 0.18349, "test_metrics": {"roc_auc": 0.80312, "lift_top_decile": None},
    }  # fmt: skip
    path.write_text(json.dumps(result), encoding="utf-8")
    return path


def test_reports_of_an_earlier_run_are_not_passed_off_as_this_one(noxfile: ModuleType) -> None:
    stale = training_report(noxfile)
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    assert noxfile.summary_text(time.time() - 60).startswith("## Training did not finish")


def test_the_summary_has_the_metrics_and_says_when_the_gate_did_not_run(noxfile: ModuleType) -> None:
    started = time.time() - 1
    training_report(noxfile)
    text = noxfile.summary_text(started)
    assert text.startswith("## Training: bank-marketing-classifier v3\n")
    assert "snapshot 123; decision threshold 0.1835." in text
    assert "| roc_auc | 0.8031 |" in text and "| lift_top_decile | n/a |" in text
    assert text.rstrip().endswith("## Quality gate did not run")


def test_the_summary_carries_the_gate_report_and_goes_to_the_job_summary(
    noxfile: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.time() - 1
    training_report(noxfile, version="7")
    (noxfile.REPORTS / "gate").mkdir()
    (noxfile.REPORTS / "gate" / "gate-v6.md").write_text("## Quality gate: PASS - older version\n", encoding="utf-8")
    (noxfile.REPORTS / "gate" / "gate-v7.md").write_text("## Quality gate: FAIL - v7\n", encoding="utf-8")
    job_summary = tmp_path / "step-summary.md"
    job_summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(job_summary))
    noxfile.write_summary(started)
    written = noxfile.SUMMARY.read_text(encoding="utf-8")
    assert "## Quality gate: FAIL - v7" in written and "older version" not in written
    assert job_summary.read_text(encoding="utf-8") == "earlier step\n" + written  # appended, as GitHub expects


def test_the_alert_links_the_run_and_carries_the_monitoring_report(
    noxfile: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "The checks did not write a report." in noxfile.alert_text()
    folder = noxfile.REPORTS / "monitoring"
    folder.mkdir(parents=True)
    (folder / "monitoring.md").write_text("| drift | age | PSI 0.31 | ALERT |\n", encoding="utf-8")
    for name, value in {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "team/bank",
        "GITHUB_RUN_ID": "42",
    }.items():
        monkeypatch.setenv(name, value)
    text = noxfile.alert_text()
    assert "https://github.com/team/bank/actions/runs/42" in text
    assert "| drift | age | PSI 0.31 | ALERT |" in text

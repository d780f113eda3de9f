"""The CML monitor job: monitor, then the dashboard, and the monitor's own exit code (not a generic failure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cml_mlops.monitoring.job import run_monitor_job
from cml_mlops.monitoring.outcome import MonitorExit
from tests.monitoring.helpers import store_environ


@pytest.mark.slow  # two cml-mlops processes
def test_the_job_says_no_data_yet_with_its_own_code_and_creates_no_store(
    baked_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    for name, value in store_environ(tmp_path, None).items():
        monkeypatch.setenv(name, value)
    assert run_monitor_job(profile="local", project_dir=baked_project) == MonitorExit.NO_DATA
    out = capfd.readouterr()
    assert "$ cml-mlops monitor --no-progress" in out.out and "$ cml-mlops report --no-progress" in out.out
    assert "no prediction log yet" in out.err
    assert not (tmp_path / "monitoring" / "predictions.db").exists()

"""The main job (`nox -s demo` runs `python -m ci.demo`): bake the default project and run its whole lifecycle."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from ci.demo import steps
from ci.lifecycle import REPO_ROOT
from tests.support.net import free_port


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def data_url(bank_zip: Path) -> Iterator[str]:
    """bank.zip served over loopback HTTP, so the real download code runs."""
    handler = functools.partial(QuietHandler, directory=str(bank_zip.parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{bank_zip.name}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, data_url: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    output = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "CML_MLOPS_DATA_URL": data_url, "PYTHONPATH": str(REPO_ROOT)}
    env["CML_MLOPS_SERVING_PORT"] = str(free_port())  # not 8765: a developer's own server may hold it
    env.pop("CML_MLOPS_PROFILE", None)
    result = subprocess.run(
        [sys.executable, "-m", "ci.demo", "--output-dir", str(output), "--fresh"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    return result, output / "bank-marketing"


def _monitoring(project: Path, phase: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((project / "reports" / "monitoring" / phase / "monitoring.json").read_text())
    return report


@pytest.mark.slow
@pytest.mark.e2e
def test_the_main_job_runs_every_step(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, project = demo
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    planned = [step.name for step in steps(keep_serving=False)]
    for step in planned:
        assert f"\n{step} " in result.stdout
    assert f"all {len(planned)} steps passed" in result.stdout
    assert "scored 1000 rows" in result.stdout
    assert json.loads((project / "reports" / "training.json").read_text())["test_metrics"]["roc_auc"] > 0.78
    assert json.loads((project / "reports" / "validation.json").read_text())["rows"] == 45_211
    assert (project / "reports" / "eda" / "eda.html").stat().st_size > 100_000


@pytest.mark.slow
@pytest.mark.e2e
def test_the_main_job_reports_the_time_of_each_step_and_in_total(
    demo: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, project = demo
    assert result.returncode == 0
    planned = [step.name for step in steps(keep_serving=False)]
    timing = json.loads((project / "reports" / "main_job.json").read_text())
    assert timing["passed"] is True and timing["skipped"] == 0
    assert [step["name"] for step in timing["steps"]] == planned
    assert all(step["wall_seconds"] > 0 and step["user_cpu_seconds"] > 0 for step in timing["steps"]), timing
    assert timing["total_wall_seconds"] >= sum(step["wall_seconds"] for step in timing["steps"])
    assert timing["total_user_cpu_seconds"] >= sum(step["user_cpu_seconds"] for step in timing["steps"])
    assert f"main job total: {timing['total_wall_seconds']:.1f} s wall" in result.stdout
    for step in planned:  # each step's own line, as it ends
        assert re.search(rf"^=== {re.escape(step)}: [0-9.]+ s wall, [0-9.]+ s user CPU$", result.stdout, re.M), step


@pytest.mark.slow
@pytest.mark.e2e
def test_monitoring_catches_the_drift_and_the_redeployed_model_recovers(
    demo: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, project = demo
    assert result.returncode == 0
    baseline, drifted, recovered = (_monitoring(project, p) for p in ("1-baseline", "2-drift", "3-recovered"))
    assert baseline["status"] == "ok" and recovered["status"] == "ok"
    assert drifted["status"] == "alert" and drifted["exit_code"] == 1
    alerted = {check["name"] for check in drifted["checks"] if check["status"] == "alert"}
    assert "prediction_drift" in alerted, drifted["checks"]
    # The features the demo's batch shifted are the ones found drifted, and no others.
    latest = drifted["windows"][-1]["drift"][0]["features"]
    assert {f["name"] for f in latest if f["drifted"]} == {"age", "balance", "contact", "poutcome"}, latest
    # Each phase's traffic was served by one version: the champion, then the retrained one.
    served = [{v for w in report["windows"] for v in w["versions"]} for report in (baseline, drifted, recovered)]
    assert len(served[0]) == len(served[2]) == 1 and served[0] == served[1] and served[0] != served[2], served
    assert drifted["retraining"]["triggered_by"] and drifted["retraining"]["outcome"] == "deployed", drifted
    lifecycle = json.loads((project / "reports" / "lifecycle" / "summary.json").read_text())
    assert lifecycle["outcome"] == "deployed" and lifecycle["champion_after"] == lifecycle["new_version"], lifecycle
    assert {f"{lifecycle['champion_before']}", f"{lifecycle['champion_after']}"} == {
        version.split(":")[-1] for phase in served for version in phase
    }
    assert (project / "reports" / "monitoring" / "dashboard.html").stat().st_size > 50_000


@pytest.mark.slow
def test_the_eda_notebook_renders_the_report_inline(
    demo: tuple[subprocess.CompletedProcess[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    result, project = demo
    assert result.returncode == 0
    notebook = nbformat.read(project / "notebooks" / "eda.ipynb", as_version=4)
    # The kernel inherits the environment: it imports the project like an installed package would be.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(project / "src"), os.environ.get("PYTHONPATH", "")]))
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(project)}}
    ).execute()
    html = "".join(
        output.get("data", {}).get("text/html", "") for cell in notebook.cells for output in cell.get("outputs", [])
    )
    assert html.count("<img") >= 20
    assert "leakage candidate" in html


@pytest.mark.slow
def test_a_failing_step_fails_the_main_job(tmp_path: Path) -> None:
    env = {**os.environ, "CML_MLOPS_DATA_URL": (tmp_path / "missing.zip").as_uri(), "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "ci.demo", "--output-dir", str(tmp_path / "out")],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1
    assert "FAIL" in result.stdout and "skipped" in result.stdout
    timing = json.loads((tmp_path / "out" / "bank-marketing" / "reports" / "main_job.json").read_text())
    assert timing["passed"] is False and [step["ok"] for step in timing["steps"]] == [False]

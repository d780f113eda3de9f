"""The main job (`nox -s demo` runs `python -m ci.demo`): bake the default project and run its whole lifecycle."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from ci.lifecycle import REPO_ROOT


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
    env.pop("CML_MLOPS_PROFILE", None)
    result = subprocess.run(
        [sys.executable, "-m", "ci.demo", "--output-dir", str(output), "--fresh"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    return result, output / "bank-marketing"


@pytest.mark.slow
def test_the_main_job_runs_every_step(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, project = demo
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for step in ("download", "lake", "validate", "eda", "train", "gate", "deploy", "score", "undeploy"):
        assert f"\n{step} " in result.stdout
    assert "all 9 steps passed" in result.stdout
    assert "scored 1000 rows" in result.stdout
    assert json.loads((project / "reports" / "training.json").read_text())["test_metrics"]["roc_auc"] > 0.78
    assert json.loads((project / "reports" / "validation.json").read_text())["rows"] == 45_211
    assert (project / "reports" / "eda" / "eda.html").stat().st_size > 100_000


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

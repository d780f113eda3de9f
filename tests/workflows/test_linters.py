"""actionlint (with shellcheck) and zizmor --offline report nothing on the workflows of this repo and of a bake."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.workflows.workflows import BIN, REPO_WORKFLOWS, workflow_files

# A workflow with the mistakes the linters exist for: an unpinned action, untrusted input in a script,
# an unquoted variable (shellcheck SC2086), and no permissions block.
BAD_WORKFLOW = """\
name: bad
on: pull_request
jobs:
  bad:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
      - run: ls $HOME/build
"""


def actionlint(files: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "actionlint"), "-no-color", *map(str, files)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def zizmor(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--no-progress", "--format", "plain", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_shellcheck_is_there_for_actionlint() -> None:
    # actionlint checks `run:` scripts only when shellcheck is on PATH, and says nothing when it is not.
    if shutil.which("shellcheck") is None:
        if os.environ.get("CI"):
            pytest.fail("shellcheck is not on PATH: CI must install it (apt-get install shellcheck)")
        pytest.skip("shellcheck is not installed here: actionlint skips the run: scripts (CI fails instead)")


def test_both_sets_of_workflows_are_found(baked_project: Path) -> None:
    assert [path.name for path in REPO_WORKFLOWS] == ["ci.yml"]
    generated = [path.name for path in workflow_files(baked_project)]
    assert generated == ["ci.yml", "deploy.yml", "monitor.yml", "retrain.yml"]


def test_actionlint_reports_nothing_on_the_repository_workflows() -> None:
    result = actionlint(REPO_WORKFLOWS, REPO_WORKFLOWS[0].parents[2])
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_reports_nothing_on_the_generated_workflows(baked_project: Path) -> None:
    result = actionlint(workflow_files(baked_project), baked_project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_reports_nothing_on_the_repository_workflows() -> None:
    result = zizmor(REPO_WORKFLOWS[0].parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_zizmor_reports_nothing_on_the_generated_workflows(baked_project: Path) -> None:
    result = zizmor(baked_project / ".github" / "workflows")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_the_linters_catch_a_bad_workflow(tmp_path: Path) -> None:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "bad.yml").write_text(BAD_WORKFLOW, encoding="utf-8")
    linted = actionlint([folder / "bad.yml"], tmp_path)
    assert linted.returncode == 1
    assert "github.event.pull_request.title" in linted.stdout  # untrusted input inside a script
    if shutil.which("shellcheck"):
        assert "SC2086" in linted.stdout
    audited = zizmor(folder)
    assert audited.returncode != 0
    for audit in ("template-injection", "unpinned-uses", "artipacked", "excessive-permissions"):
        assert audit in audited.stdout, audited.stdout

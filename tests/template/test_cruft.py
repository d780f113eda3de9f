"""Template updates: `cruft create` gives the same project as cookiecutter, and `cruft check` passes on it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ci.lifecycle import TEMPLATE_DIR
from tests.conftest import bake
from tests.template.bakery import generated_files, library_requirement


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working-tree template as a git repository of its own (cruft clones templates from git)."""
    repo = tmp_path_factory.mktemp("template-repo")
    shutil.copytree(TEMPLATE_DIR, repo / "template", ignore=shutil.ignore_patterns("__pycache__"))
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "template", cwd=repo)
    return repo


def cruft(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("cruft")), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_cruft_create_matches_cookiecutter_and_check_passes(template_repo: Path, tmp_path: Path) -> None:
    context = json.dumps({"cml_mlops_requirement": library_requirement()})
    created = cruft(
        "create", str(template_repo), "--directory", "template", "--no-input",
        "--output-dir", str(tmp_path / "cruft"), "--extra-context", context,
        cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    project = tmp_path / "cruft" / "bank-marketing"
    files = generated_files(project)
    assert json.loads(files.pop(".cruft.json"))["directory"] == "template"
    assert files == generated_files(bake(tmp_path / "cookiecutter"))

    checked = cruft("check", cwd=project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "up to date" in checked.stdout.lower()

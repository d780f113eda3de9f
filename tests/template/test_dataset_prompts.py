"""Any data set without hand edits: a member in a folder, the custom preset, no checksum, a complete .gitignore."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException

from cml_mlops.config import PROFILES, load_config
from tests.conftest import bake

CUSTOM = {
    "dataset_preset": "custom",
    "dataset_url": "https://example.org/data/cells.zip",
    "dataset_member": "tables/2024/cells.csv",
}


def config_file(project: Path) -> dict[str, dict[str, object]]:
    content = yaml.safe_load((project / "cml-mlops.yaml").read_text(encoding="utf-8"))
    assert isinstance(content, dict)
    return content


def test_a_member_in_a_folder_reaches_the_config_and_the_readme(tmp_path: Path) -> None:
    project = bake(tmp_path, **CUSTOM)
    assert config_file(project)["data"]["member"] == "tables/2024/cells.csv"
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "cml-mlops contract draft data/raw/tables/2024/cells.csv --output" in readme
    config = load_config(project, environ={})
    # ingest puts the member at raw_dir/<member>: the path the README's draft command reads
    from cml_mlops.ingest.archive import member_path

    assert (
        member_path(config.path(config.data.raw_dir), config.data.member) == project / "data/raw/tables/2024/cells.csv"
    )


def test_the_custom_preset_has_no_bank_defaults(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(FailedHookException):
        bake(tmp_path, dataset_preset="custom")
    assert "the custom preset has no default data set" in capfd.readouterr().err
    project = bake(tmp_path, **CUSTOM)
    data = config_file(project)["data"]
    assert data["sha256"] == ""  # bank-full's checksum is not carried over
    assert "bank" not in str(data["url"])


@pytest.mark.parametrize("no_checksum", ["none", "-", ""])
def test_an_empty_checksum_can_be_entered(tmp_path: Path, no_checksum: str) -> None:
    project = bake(tmp_path, dataset_sha256=no_checksum)
    assert config_file(project)["data"]["sha256"] == ""
    assert load_config(project, environ={}).data.sha256 == ""


@pytest.mark.parametrize("member", ["../x.csv", "tables/../../x.csv", "/etc/x.csv", "tables//x.csv", "tables/"])
def test_a_member_outside_the_archive_is_refused(
    tmp_path: Path, member: str, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(FailedHookException):
        bake(tmp_path, dataset_member=member)
    assert "dataset_member" in capfd.readouterr().err


def test_gitignore_covers_every_state_folder(baked_project: Path, tmp_path: Path) -> None:
    project = Path(shutil.copytree(baked_project, tmp_path / "project"))
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    written = {path for profile in PROFILES for path in load_config(project, profile, environ={}).state_paths()}
    tools = {Path(name) for name in (".hypothesis", ".nox", "monitoring", ".pytest_cache", ".venv")}
    assert Path("monitoring/predictions.db") in written  # the list is derived from the config, not typed here
    candidates = sorted(str(path / "file") for path in written | tools)
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *candidates], cwd=project, capture_output=True, text=True, check=False
    ).stdout.split()
    assert sorted(ignored) == candidates
    tracked = subprocess.run(
        ["git", "check-ignore", "--no-index", "src/x.py", "cml-mlops.yaml", "tests/test_x.py"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tracked.stdout == ""  # the project's own code is not ignored

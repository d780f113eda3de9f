"""`cml-mlops eda` end to end: a baked project, bank.csv in its real Iceberg lake, the report on disk."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from cml_mlops.cli import cli
from cml_mlops.config import load_config
from cml_mlops.eda.command import build_project_eda_report
from cml_mlops.lake import arrow_schema, open_lake


@pytest.fixture(autouse=True)
def restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command puts the project's src/ on sys.path: keep that inside each test."""
    monkeypatch.setattr(sys, "path", [*sys.path])


def run(project: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--project-dir", str(project), "eda", *args])


@pytest.fixture
def loaded_project(project_dir: Path, bank_frame: pd.DataFrame, bank_contracts: ModuleType) -> tuple[Path, list[int]]:
    """A fresh project whose lake table holds bank.csv (snapshot 1), then 100 more rows (snapshot 2)."""
    config = load_config(project_dir)
    with open_lake(config) as lake:
        first = lake.create_or_replace(config.lake.table, bank_frame, arrow_schema(bank_contracts.RawRecord))
        second = lake.append(config.lake.table, bank_frame.head(100))
    return project_dir, [first.snapshot_id, second.snapshot_id]


def test_eda_writes_html_and_json_for_the_current_snapshot(loaded_project: tuple[Path, list[int]]) -> None:
    project, snapshots = loaded_project
    result = run(project)
    assert result.exit_code == 0, result.output
    folder = project / "reports" / "eda"
    assert f"wrote {folder / 'eda.html'}" in result.stdout
    assert "warning: leakage candidate 'duration'" in result.stderr
    payload = json.loads((folder / "eda.json").read_text(encoding="utf-8"))
    assert payload["metadata"]["snapshot id"] == str(snapshots[-1])
    assert payload["metadata"]["table"] == "bank_marketing.raw"
    assert payload["profile"]["rows"] == 4521 + 100
    html = (folder / "eda.html").read_text(encoding="utf-8")
    assert html.count('<img src="data:image/png;base64,') == 26
    assert "Bank Marketing" in html


def test_eda_reads_the_requested_snapshot_into_the_requested_folder(
    loaded_project: tuple[Path, list[int]], tmp_path: Path
) -> None:
    project, snapshots = loaded_project
    output = tmp_path / "elsewhere"
    result = run(project, "--snapshot-id", str(snapshots[0]), "--output-dir", str(output))
    assert result.exit_code == 0, result.output
    payload = json.loads((output / "eda.json").read_text(encoding="utf-8"))
    assert payload["profile"]["rows"] == 4521
    assert payload["metadata"]["snapshot id"] == str(snapshots[0])
    assert not (project / "reports" / "eda").exists()


def test_notebook_gets_the_same_report_inline(loaded_project: tuple[Path, list[int]]) -> None:
    project, snapshots = loaded_project
    report = build_project_eda_report(load_config(project), snapshot_id=snapshots[0])
    assert report.profile.rows == 4521 and report.metadata["snapshot id"] == str(snapshots[0])
    inline = report._repr_html_()
    assert inline.count('<img src="data:image/png;base64,') == 26 and "<html" not in inline


def test_unknown_snapshot_is_a_clear_error(loaded_project: tuple[Path, list[int]]) -> None:
    project, snapshots = loaded_project
    result = run(project, "--snapshot-id", "12345")
    assert result.exit_code == 1
    assert "has no snapshot 12345" in result.output and str(snapshots[0]) in result.output
    assert "Traceback" not in result.output
    assert not (project / "reports" / "eda").exists()


def test_empty_lake_asks_to_load_data_first(project_dir: Path) -> None:
    result = run(project_dir)
    assert result.exit_code == 1
    assert "does not exist in the lake" in result.output and "load data into it first" in result.output
    assert not (project_dir / "reports" / "eda").exists()

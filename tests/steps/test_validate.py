"""`cml-mlops validate` checks what the table holds and writes JSON and Markdown reports."""

from __future__ import annotations

import json
from pathlib import Path

from cml_mlops.lake import open_lake
from tests.steps.conftest import Invoke, current_snapshot_id, project_config


def test_a_valid_table_passes_and_reports(invoke: Invoke, loaded_project: Path) -> None:
    result = invoke("validate")
    assert result.exit_code == 0, result.output
    report = json.loads((loaded_project / "reports" / "validation.json").read_text())
    assert report["passed"] is True and report["rows"] == 4_521
    assert "passed" in (loaded_project / "reports" / "validation.md").read_text().lower()


def corrupt_table(project: Path) -> int:
    """Write rows that break the contract straight into the lake (as another writer could)."""
    config = project_config(project)
    with open_lake(config) as lake:
        frame = lake.read(config.lake.table)
        frame.loc[0, "age"] = 7
        frame.loc[1, "month"] = "smarch"
        return lake.create_or_replace(config.lake.table, frame, lake.schema(config.lake.table)).snapshot_id


def test_an_invalid_table_fails_with_the_rules_named(invoke: Invoke, loaded_project: Path) -> None:
    corrupted = corrupt_table(loaded_project)
    result = invoke("validate")
    assert result.exit_code == 1
    assert "in_range" in result.output and "isin" in result.output
    report = json.loads((loaded_project / "reports" / "validation.json").read_text())
    failed = {(f["column"], f["check"]) for f in report["failures"]}
    assert failed == {("age", "in_range"), ("month", "isin")}
    assert all(f["failure_count"] == 1 and f["samples"] for f in report["failures"])
    assert current_snapshot_id(loaded_project) == corrupted


def test_quarantine_moves_invalid_rows_out(invoke: Invoke, loaded_project: Path) -> None:
    corrupt_table(loaded_project)
    result = invoke("validate", "--quarantine")
    assert result.exit_code == 0, result.output
    config = project_config(loaded_project)
    with open_lake(config) as lake:
        assert len(lake.read(config.lake.table)) == 4_519
        quarantined = lake.read(config.lake.quarantine_table)
    assert len(quarantined) == 2
    assert "7" in quarantined["age"].tolist() and "smarch" in quarantined["month"].tolist()
    assert {"in_range", "isin"} <= set(", ".join(quarantined["_failed_checks"]).split(", "))


def test_an_older_snapshot_can_be_validated(invoke: Invoke, loaded_project: Path) -> None:
    original = current_snapshot_id(loaded_project)
    corrupt_table(loaded_project)
    result = invoke("validate", "--snapshot-id", str(original))
    assert result.exit_code == 0, result.output

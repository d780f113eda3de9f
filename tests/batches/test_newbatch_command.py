"""`cml-mlops newbatch` on a loaded bank.csv project: one new snapshot, reports, refusals that change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from cml_mlops.batches import BatchError, Drift, add_batch
from cml_mlops.cli import cli
from cml_mlops.lake import open_lake
from tests.conftest import bake
from tests.steps.conftest import Invoke, current_snapshot_id, project_config

TABLE_ROWS = 4521


def snapshots(project: Path) -> list[int]:
    config = project_config(project)
    with open_lake(config) as lake:
        return [snapshot.snapshot_id for snapshot in lake.snapshots(config.lake.table)]


def table(project: Path, snapshot_id: int | None = None) -> pd.DataFrame:
    config = project_config(project)
    with open_lake(config) as lake:
        return lake.read(config.lake.table, snapshot_id=snapshot_id)


def set_newbatch(project: Path, **settings: object) -> None:
    path = project / "cml-mlops.yaml"
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    content.setdefault("newbatch", {}).update(settings)
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")


def test_newbatch_appends_one_snapshot_of_the_batch_and_reports_it(invoke: Invoke, loaded_project: Path) -> None:
    before = snapshots(loaded_project)
    result = invoke("newbatch", "--rows", "300", "--seed", "5", "--shift", "age=1", "--flip-labels", "0.1")
    assert result.exit_code == 0, result.output
    after = snapshots(loaded_project)
    assert after[:-1] == before and len(after) == len(before) + 1
    new = after[-1]
    assert len(table(loaded_project)) == TABLE_ROWS + 300
    assert f"appended: snapshot {new} (4,821 rows in the table now)" in result.output
    assert "drift: shift age=+1 std; flip 10% of labels" in result.output
    report = json.loads((loaded_project / "reports" / "batches" / f"{new}.json").read_text())
    assert (report["snapshot_id"], report["parent_snapshot_id"]) == (new, before[-1])
    assert report["source_snapshot_id"] == before[-1]
    assert (report["rows"], report["table_rows"], report["seed"], report["noise"]) == (300, 4821, 5, 0.05)
    assert report["drift"] == {"shift": {"age": 1.0}, "category_mix": {}, "flip_labels": 0.1}
    assert report["effects"]["shift.age"]["mean_change_std"] == pytest.approx(1.0, abs=0.35)
    assert report["contract"] == "RawDataset 1.0.0" and report["dry_run"] is False
    assert (loaded_project / "reports" / "batches" / f"{new}.md").read_text().startswith("# New batch: 300 rows")
    assert json.loads((loaded_project / "reports" / "batches" / "contract.json").read_text())["passed"] is True


def test_the_appended_rows_are_the_seeded_batch_and_reproducible(loaded_project: Path) -> None:
    config = project_config(loaded_project)
    drift = Drift(category_mix={"poutcome": {"success": 0.5}})
    planned = add_batch(config, rows=200, seed=3, drift=drift, dry_run=True)
    again = add_batch(config, rows=200, seed=3, drift=drift, dry_run=True)
    pd.testing.assert_frame_equal(planned.frame, again.frame)
    source = current_snapshot_id(loaded_project)
    done = add_batch(config, rows=200, seed=3, drift=drift)
    assert done.snapshot is not None and done.source_snapshot_id == source
    with open_lake(config) as lake:
        increment = lake.read_increment(config.lake.table, source, done.snapshot.snapshot_id)
    pd.testing.assert_frame_equal(increment, planned.frame)
    assert (increment["poutcome"] == "success").sum() == 100
    assert add_batch(config, rows=200, seed=4, dry_run=True).frame.equals(planned.frame) is False


def test_a_dry_run_writes_nothing(invoke: Invoke, loaded_project: Path) -> None:
    before = snapshots(loaded_project)
    result = invoke("newbatch", "--dry-run", "--rows", "100")
    assert result.exit_code == 0, result.output
    assert "dry run: nothing was written" in result.output and "new batch: 100 rows" in result.output
    assert snapshots(loaded_project) == before and not (loaded_project / "reports" / "batches").exists()


def test_defaults_come_from_the_config(invoke: Invoke, loaded_project: Path) -> None:
    set_newbatch(loaded_project, rows=123, seed=8, noise=0.1, drift={"shift": {"balance": 2.0}})
    result = invoke("newbatch")
    assert result.exit_code == 0, result.output
    assert "new batch: 123 rows" in result.output and "(seed 8, noise 0.1)" in result.output
    assert "drift: shift balance=+2 std" in result.output
    # Options go over the configured drift, column by column.
    result = invoke("newbatch", "--shift", "balance=0", "--shift", "age=-1", "--dry-run")
    assert "drift: shift balance=+0 std; shift age=-1 std" in result.output


def test_the_default_size_is_a_tenth_of_the_table(invoke: Invoke) -> None:
    result = invoke("newbatch", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "new batch: 452 rows" in result.output


def test_a_batch_with_rows_the_contract_refuses_is_not_appended(invoke: Invoke, loaded_project: Path) -> None:
    before = snapshots(loaded_project)
    result = invoke("newbatch", "--category-mix", "job=astronaut:0.2")
    assert result.exit_code == 1
    report = loaded_project / "reports" / "batches" / "contract.md"
    assert "the new batch breaks the contract and was not appended" in result.output
    assert f"still at snapshot {before[-1]}" in result.output and str(report) in result.output
    assert "job: isin" in result.output
    assert snapshots(loaded_project) == before and len(table(loaded_project)) == TABLE_ROWS
    assert "FAIL" in report.read_text() and "astronaut" in report.read_text()
    assert not list((loaded_project / "reports" / "batches").glob("[0-9]*.json"))


def test_a_batch_that_would_break_the_data_set_rules_is_not_appended(invoke: Invoke, loaded_project: Path) -> None:
    # Without noise every row copies a row of the table: too many duplicates for RawDataset.
    before = snapshots(loaded_project)
    result = invoke("newbatch", "--noise", "0", "--rows", "500")
    assert result.exit_code == 1
    assert "few_duplicates" in result.output and snapshots(loaded_project) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shift", "agee=1"], "cannot shift 'agee': not a numeric column; numeric columns: age"),
        (["--shift", "age"], "expected COLUMN=DELTA"),
        (["--category-mix", "poutcome=success:1.5"], "a share must be between 0 and 1"),
        (["--category-mix", "balance=1:0.5"], "cannot change the category mix of 'balance'"),
        (["--flip-labels", "2"], "a share must be between 0 and 1"),
    ],
)
def test_bad_options_exit_1_with_a_clear_message_and_change_nothing(
    invoke: Invoke, loaded_project: Path, args: list[str], message: str
) -> None:
    before = snapshots(loaded_project)
    result = invoke("newbatch", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert snapshots(loaded_project) == before and not (loaded_project / "reports" / "batches").exists()


@pytest.mark.parametrize("args", [["--rows", "0"], ["--noise", "1.5"], ["--rows", "many"]])
def test_bad_option_values_are_usage_errors(invoke: Invoke, args: list[str]) -> None:
    result = invoke("newbatch", *args)
    assert result.exit_code == 2 and "Invalid value" in result.output


def test_without_a_table_newbatch_says_to_load_first(tmp_path: Path) -> None:
    project = bake(tmp_path)
    result = CliRunner().invoke(cli, ["--project-dir", str(project), "newbatch"])
    assert result.exit_code == 1
    assert "has no data to draw a batch from: run `cml-mlops lake load` first" in result.output


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"noise": 2}, "newbatch.noise"),
        ({"rows": 0}, "newbatch.rows"),
        ({"drift": {"flip_labels": 1.5}}, "newbatch.drift.flip_labels"),
        ({"drift": {"shift": {"age": "much"}}}, "newbatch.drift.shift.age"),
        ({"drift": {"shfit": {"age": 1}}}, "newbatch.drift.shfit"),
        ({"drift": {"category_mix": {"poutcome": {"success": 0.7, "failure": 0.7}}}}, "add up to more than 1"),
    ],
)
def test_bad_newbatch_settings_exit_1_naming_the_key(
    invoke: Invoke, loaded_project: Path, settings: dict[str, object], message: str
) -> None:
    set_newbatch(loaded_project, **settings)
    result = invoke("newbatch", "--dry-run")
    assert result.exit_code == 1 and message in result.output


def test_the_library_refuses_a_batch_of_no_rows(loaded_project: Path) -> None:
    with pytest.raises(BatchError, match="rows must be a positive whole number"):
        add_batch(project_config(loaded_project), rows=0)


def test_an_unwritable_report_folder_is_refused_before_the_table_changes(invoke: Invoke, loaded_project: Path) -> None:
    (loaded_project / "reports").mkdir(exist_ok=True)
    (loaded_project / "reports" / "batches").write_text("a file where the folder should be")
    before = snapshots(loaded_project)
    result = invoke("newbatch", "--rows", "50")
    assert result.exit_code == 1 and "cannot write the batch report" in result.output
    assert snapshots(loaded_project) == before

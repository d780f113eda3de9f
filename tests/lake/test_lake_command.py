"""`cml-mlops lake snapshots` and `lake drop`, run through click as a user would."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner, Result

from cml_mlops.cli_support import CleanErrorsGroup, CliState
from cml_mlops.config import load_config
from cml_mlops.lake import Snapshot, arrow_schema, open_lake
from cml_mlops.lake.command import lake as lake_group
from tests.lake.contract import Customers, customers


@click.group(cls=CleanErrorsGroup)
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None) -> None:
    """The top-level group as cml_mlops.cli builds it: project folder in, clean errors out."""
    ctx.obj = CliState(project_dir=project_dir)


cli.add_command(lake_group)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    config = {
        "project": {"name": "Lake command test", "package": "lake_command_test"},
        "data": {"url": "file:///nowhere/bank.zip", "member": "bank.csv"},
        "lake": {"namespace": "bank", "table": "customers"},
        "tracking": {"experiment": "lake-command-test", "model_name": "lake_command_test"},
    }
    (tmp_path / "cml-mlops.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return tmp_path


def load_history(project: Path, table: str = "customers") -> list[Snapshot]:
    with open_lake(load_config(project, environ={})) as lake:
        lake.create_or_replace(table, customers(3), arrow_schema(Customers))
        lake.append(table, customers(2, start=50))
        return lake.snapshots(table)


def run(project: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--project-dir", str(project), "lake", *args], catch_exceptions=False)


def test_snapshots_prints_one_row_per_snapshot_oldest_first(project: Path) -> None:
    first, second = load_history(project)

    result = run(project, "snapshots")

    assert result.exit_code == 0, result.output
    header, rule, *rows = result.output.splitlines()
    assert header.split() == ["id", "parent", "committed", "at", "operation", "added", "rows", "total", "rows"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert [row.split() for row in rows] == [
        [
            str(first.snapshot_id),
            "-",
            *first.committed_at.strftime("%Y-%m-%d %H:%M:%S UTC").split(),
            "append",
            "3",
            "3",
        ],
        [
            str(second.snapshot_id),
            str(first.snapshot_id),
            *second.committed_at.strftime("%Y-%m-%d %H:%M:%S UTC").split(),
            "append",
            "2",
            "5",
        ],
    ]


def test_snapshots_json_is_machine_readable(project: Path) -> None:
    first, second = load_history(project, table="other")

    result = run(project, "snapshots", "--table", "other", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {
            "snapshot_id": s.snapshot_id,
            "parent_id": s.parent_id,
            "committed_at": s.committed_at.isoformat(),
            "operation": "append",
            "added_rows": s.added_rows,
            "total_rows": s.total_rows,
        }
        for s in (first, second)
    ]


def test_snapshots_of_an_unknown_table_is_one_clear_error_line(project: Path) -> None:
    result = run(project, "snapshots")

    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: table bank.customers does not exist in the lake "
        f"(catalog sqlite:///{project / 'lake' / 'catalog.db'}): load data into it first"
    )


def test_drop_refuses_without_yes_and_keeps_the_table(project: Path) -> None:
    load_history(project)

    result = run(project, "drop")

    assert result.exit_code == 2
    assert "add --yes to confirm" in result.output
    with open_lake(load_config(project, environ={})) as lake:
        assert lake.table_exists("customers")


def test_drop_with_yes_removes_the_table(project: Path) -> None:
    load_history(project)

    result = run(project, "drop", "--yes")

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "dropped table bank.customers"
    with open_lake(load_config(project, environ={})) as lake:
        assert not lake.table_exists("customers")
    assert run(project, "drop", "--yes").exit_code == 1, "dropping again is an error"

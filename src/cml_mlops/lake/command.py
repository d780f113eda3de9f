"""`cml-mlops lake ...`: look at the lake's tables and remove them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from cml_mlops.cli_support import CleanErrorsGroup, LazyCommand, pass_config

if TYPE_CHECKING:  # the lake's libraries (pyiceberg, pyarrow, pandas) are imported when a command opens it
    from cml_mlops.config import ProjectConfig
    from cml_mlops.lake import Snapshot

COLUMNS = ("id", "parent", "committed at", "operation", "added rows", "total rows")


# `load` checks the data against the contract, so it lives with `validate` (cml_mlops.data_commands).
LOAD = LazyCommand(
    "cml_mlops.data_commands:load",
    "Check the raw CSV against the contract and write it to the Iceberg table (all or nothing).",
)


@click.group("lake", cls=CleanErrorsGroup, lazy_commands={"load": LOAD})
def lake() -> None:
    """Inspect and manage the Iceberg tables of the project."""


@lake.command("snapshots")
@click.option("--table", default=None, help="Table name in the lake namespace (default: lake.table).")
@click.option("--json", "as_json", is_flag=True, help="Print the snapshots as JSON.")
@pass_config
def snapshots(config: ProjectConfig, table: str | None, as_json: bool) -> None:
    """List the snapshots of a table, oldest first."""
    from cml_mlops.lake import open_lake

    name = table or config.lake.table
    with open_lake(config) as opened:
        found = opened.snapshots(name)
    if as_json:
        click.echo(json.dumps([_as_dict(s) for s in found], indent=2))
        return
    if not found:
        click.echo(f"table {config.lake.namespace}.{name} has no snapshot")
        return
    click.echo(_table([_as_row(s) for s in found]))


@lake.command("drop")
@click.option("--table", default=None, help="Table name in the lake namespace (default: lake.table).")
@click.option("--yes", is_flag=True, help="Confirm: the table, its history and its files are deleted.")
@pass_config
def drop(config: ProjectConfig, table: str | None, yes: bool) -> None:
    """Delete a table with its whole history."""
    name = table or config.lake.table
    qualified = f"{config.lake.namespace}.{name}"
    if not yes:
        raise click.UsageError(f"dropping {qualified} deletes its data and history: add --yes to confirm")
    from cml_mlops.lake import open_lake

    with open_lake(config) as opened:
        opened.drop(name)
    click.echo(f"dropped table {qualified}")


def _as_dict(snapshot: Snapshot) -> dict[str, object]:
    return {
        "snapshot_id": snapshot.snapshot_id,
        "parent_id": snapshot.parent_id,
        "committed_at": snapshot.committed_at.isoformat(),
        "operation": snapshot.operation,
        "added_rows": snapshot.added_rows,
        "total_rows": snapshot.total_rows,
    }


def _as_row(snapshot: Snapshot) -> tuple[str, ...]:
    return (
        str(snapshot.snapshot_id),
        "-" if snapshot.parent_id is None else str(snapshot.parent_id),
        snapshot.committed_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        snapshot.operation,
        str(snapshot.added_rows),
        str(snapshot.total_rows),
    )


def _table(rows: list[tuple[str, ...]]) -> str:
    """A plain aligned text table: numbers right-aligned, text left-aligned."""
    widths = [max(len(value) for value in column) for column in zip(COLUMNS, *rows, strict=True)]
    right = {0, 1, 4, 5}

    def line(values: tuple[str, ...]) -> str:
        cells = [v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))]
        return "  ".join(cells).rstrip()

    return "\n".join([line(COLUMNS), line(tuple("-" * w for w in widths)), *(line(r) for r in rows)])

"""`cml-mlops newbatch`: append a synthetic batch (bootstrap + noise, optional drift) to the lake table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from cml_mlops.batches.append import BatchResult, add_batch
from cml_mlops.batches.drift import drift_from_options
from cml_mlops.cli_support import pass_config
from cml_mlops.config import ProjectConfig

F = TypeVar("F", bound=Callable[..., Any])


def batch_options(func: F) -> F:
    """Options shared by `newbatch` and `lifecycle`: size, seed, noise and drift of the batch."""
    options = [
        click.option("--rows", type=click.IntRange(min=1), default=None,
                     help="Rows in the batch (default: newbatch.rows, else a tenth of the table)."),
        click.option("--seed", type=int, default=None,
                     help="Random seed (default: newbatch.seed); same seed + same snapshot = same batch."),
        click.option("--noise", type=click.FloatRange(0.0, 1.0), default=None,
                     help="Numeric jitter in each column's std, and the chance a category is resampled "
                          "(default: newbatch.noise)."),
        click.option("--shift", "shifts", multiple=True, metavar="COLUMN=DELTA",
                     help="Drift: add DELTA standard deviations of COLUMN (numeric) to every row, clipped to the "
                          "contract's range. Repeatable."),
        click.option("--category-mix", "mixes", multiple=True, metavar="COLUMN=VALUE:SHARE",
                     help="Drift: make VALUE an exact SHARE (0-1) of the batch rows in COLUMN, e.g. "
                          "poutcome=success:0.5. Repeatable."),
        click.option("--flip-labels", type=float, default=None, metavar="SHARE",
                     help="Drift: swap the label of this share (0-1) of the batch rows."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


@click.command("newbatch")
@batch_options
@click.option("--dry-run", is_flag=True, help="Generate and check the batch, print what would happen, write nothing.")
@pass_config
def newbatch(
    config: ProjectConfig,
    rows: int | None,
    seed: int | None,
    noise: float | None,
    shifts: tuple[str, ...],
    mixes: tuple[str, ...],
    flip_labels: float | None,
    dry_run: bool,
) -> None:
    """Append a synthetic batch drawn from the table (bootstrap plus noise), optionally drifted, as one new Iceberg
    snapshot. The batch must pass the data contract first; a refused batch leaves the table unchanged.

    Writes reports/batches/<snapshot>.json and .md, and reports/batches/contract.{json,md}.
    """
    result = add_batch(
        config, rows=rows, seed=seed, noise=noise, drift=drift_from_options(shifts, mixes, flip_labels), dry_run=dry_run
    )
    click.echo(summary_text(result))


def summary_text(result: BatchResult) -> str:
    lines = [
        f"new batch: {result.rows:,} rows drawn from {result.table}@{result.source_snapshot_id} "
        f"(seed {result.seed}, noise {result.noise:g})",
        f"drift: {result.drift.describe()}",
        f"contract {result.contract}: passed",
    ]
    if result.snapshot is None:
        lines.append("dry run: nothing was written")
    else:
        lines.append(f"appended: snapshot {result.snapshot.snapshot_id} ({result.table_rows:,} rows in the table now)")
        lines.append(f"report: {result.report_paths[0]}")
    return "\n".join(lines)

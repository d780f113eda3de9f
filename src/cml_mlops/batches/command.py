"""`cml-mlops newbatch`: append a synthetic batch (bootstrap + noise, optional drift) to the lake table."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import click

from cml_mlops.batches.append import BatchResult, add_batch
from cml_mlops.batches.drift import BatchError, Drift
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


def parse_shift(text: str) -> tuple[str, float]:
    """`COLUMN=DELTA` (DELTA in standard deviations, may be negative) -> (column, delta)."""
    column, separator, delta = text.partition("=")
    number = _number(delta)
    if not separator or not column.strip() or number is None:
        raise BatchError(f"--shift {text!r}: expected COLUMN=DELTA, e.g. age=1.5 (DELTA in standard deviations)")
    return column.strip(), number


def parse_category_mix(text: str) -> tuple[str, str, float]:
    """`COLUMN=VALUE:SHARE` -> (column, value, share); the value may itself contain `:` (the last one separates)."""
    column, separator, rest = text.partition("=")
    value, colon, share = rest.rpartition(":")
    number = _number(share)
    if not separator or not colon or not column.strip() or not value or number is None:
        raise BatchError(f"--category-mix {text!r}: expected COLUMN=VALUE:SHARE, e.g. poutcome=success:0.5")
    return column.strip(), value, number


def drift_from_options(
    shifts: tuple[str, ...] = (), mixes: tuple[str, ...] = (), flip_labels: float | None = None
) -> Drift:
    """The Drift that command-line options ask for (repeatable --shift and --category-mix)."""
    shift: dict[str, float] = {}
    for text in shifts:
        column, delta = parse_shift(text)
        shift[column] = delta
    mix: dict[str, dict[str, float]] = {}
    for text in mixes:
        column, value, share = parse_category_mix(text)
        mix.setdefault(column, {})[value] = share
    return Drift(shift=shift, category_mix=mix, flip_labels=flip_labels or 0.0)


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None

"""`cml-mlops score`: batch-score the lake table at a snapshot into an Iceberg predictions table."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cml_mlops.cli_support import pass_config

if TYPE_CHECKING:
    from cml_mlops.config import ProjectConfig


@click.command("score")
@click.option("--snapshot", "snapshot_id", type=int, default=None, help="Snapshot to score (default: the current one).")
@click.option("--output-table", required=True, help="Iceberg table for the predictions (replaced, history kept).")
@click.option("--version", default=None, help="Registered model version (default: the champion alias).")
@click.option("--alias", default=None, help="Registered model alias to score with (default: champion).")
@pass_config
def score(
    config: ProjectConfig, snapshot_id: int | None, output_table: str, version: str | None, alias: str | None
) -> None:
    """Score every row with the registered model; the predictions table is written in one snapshot."""
    import re

    from cml_mlops.batch_scoring import score_table
    from cml_mlops.config import IDENTIFIER_PATTERN

    if not re.fullmatch(IDENTIFIER_PATTERN, output_table):
        raise click.BadParameter(
            "use letters, digits and underscores, not starting with a digit", param_hint="--output-table"
        )
    if version is not None and alias is not None:
        raise click.UsageError("give --version or --alias, not both")
    result = score_table(config, output_table=output_table, snapshot_id=snapshot_id, version=version, alias=alias)
    click.echo(
        f"scored {result.rows} rows of {config.lake.namespace}.{result.table}@{result.snapshot_id} with model version "
        f"{result.model_version} into {config.lake.namespace}.{result.output_table} "
        f"snapshot={result.output_snapshot.snapshot_id}"
    )

"""`cml-mlops lake load` and `cml-mlops validate`: the contract between the raw data and the lake."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cml_mlops.cli_support import pass_config
from cml_mlops.errors import ContractViolation

if TYPE_CHECKING:  # the contract and lake libraries are imported when a command runs, not for --help
    from cml_mlops.config import ProjectConfig


@click.command("load")  # listed in the `lake` group (cml_mlops.lake.command)
@click.option(
    "--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="CSV to load (default: the one `cml-mlops ingest` fetched).",
)  # fmt: skip
@click.option(
    "--mode", type=click.Choice(["replace", "append"]), default="replace", show_default=True,
    help="replace: the table becomes this file (history kept); append: add the rows as a new snapshot.",
)  # fmt: skip
@click.option("--quarantine", is_flag=True, help="Send rows that fail row checks to <table>_quarantine, load the rest.")
@pass_config
def load(config: ProjectConfig, csv_path: Path | None, mode: str, quarantine: bool) -> None:
    """Check the raw CSV against the contract and write it to the Iceberg table (all or nothing)."""
    from cml_mlops.loading import load_raw_csv

    result = load_raw_csv(config, csv_path=csv_path, mode=mode, quarantine=quarantine)  # type: ignore[arg-type]
    if result.quarantined:
        click.echo(f"quarantined {result.quarantined} rows in {config.lake.quarantine_table}", err=True)
    click.echo(
        f"loaded {result.rows} rows into {config.lake.namespace}.{result.table} "
        f"snapshot={result.snapshot.snapshot_id} report={result.report_paths[1]}"
    )


@click.command("validate")
@click.option("--snapshot-id", type=int, default=None, help="Snapshot to validate (default: the current one).")
@click.option(
    "--quarantine", is_flag=True,
    help="Move rows that fail row checks to <table>_quarantine (a new snapshot without them).",
)  # fmt: skip
@pass_config
def validate(config: ProjectConfig, snapshot_id: int | None, quarantine: bool) -> None:
    """Validate the lake table against the data contract; write reports/validation.{json,md}."""
    from cml_mlops.contracts.report import failure_summary
    from cml_mlops.validation import validate_table

    outcome = validate_table(config, snapshot_id=snapshot_id, quarantine=quarantine)
    report = outcome.report
    if outcome.quarantined:
        click.echo(f"quarantined {outcome.quarantined} rows in {config.lake.quarantine_table}", err=True)
    click.echo(report.to_markdown())
    if not report.passed:
        raise ContractViolation(
            f"snapshot {outcome.snapshot_id} breaks the contract ({outcome.report_paths[1]}): "
            f"{failure_summary(report)}",
            report=report,
        )
    click.echo(
        f"contract {report.contract} {report.contract_version or ''} passed on {report.rows} rows "
        f"of snapshot {outcome.snapshot_id}; reports: {outcome.report_paths[0]}, {outcome.report_paths[1]}"
    )

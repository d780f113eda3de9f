"""`cml-mlops ingest`: fetch the data set and print one summary line."""

from __future__ import annotations

import click

from cml_mlops.cli_support import pass_config
from cml_mlops.config import ProjectConfig
from cml_mlops.ingest import IngestResult, fetch_dataset


@click.command("ingest")
@click.option("--force", is_flag=True, help="Fetch again even when the cached CSV has the configured SHA-256.")
@click.option("--no-progress", is_flag=True, help="Do not draw the download progress bar.")
@pass_config
def ingest(config: ProjectConfig, force: bool, no_progress: bool) -> None:
    """Download the data set, extract its CSV safely and verify its SHA-256."""
    result = fetch_dataset(config, progress=not no_progress, force=force)
    click.echo(summary_line(result))


def summary_line(result: IngestResult) -> str:
    """One greppable line: what happened, where, how big, which checksum, from where."""
    status = "skipped" if result.skipped else "fetched"
    return f"{status} {result.csv_path} bytes={result.bytes} sha256={result.sha256} source={result.source}"

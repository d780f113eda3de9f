"""`cml-mlops eda`: profile a snapshot of the lake table and write the EDA report (HTML and JSON)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from cml_mlops import __version__
from cml_mlops.cli_support import pass_config
from cml_mlops.config import ProjectConfig
from cml_mlops.eda.report import EdaReport, build_eda_report, write_eda_report
from cml_mlops.errors import LakeError
from cml_mlops.lake import open_lake
from cml_mlops.project import load_feature_spec, load_project_module


@click.command("eda")
@click.option(
    "--snapshot-id", type=int, default=None, help="Lake snapshot to profile (default: the table's current one)."
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for eda.html and eda.json (default: <reports.dir>/eda).",
)
@pass_config
def eda(config: ProjectConfig, snapshot_id: int | None, output_dir: Path | None) -> None:
    """Explore the raw data: distributions, target rates, missing values, correlations, leakage candidates."""
    report = build_project_eda_report(config, snapshot_id=snapshot_id)
    directory = output_dir if output_dir is not None else config.path(config.reports.dir) / "eda"
    html_path, json_path = write_eda_report(report, directory)
    for warning in report.profile.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"wrote {html_path}")
    click.echo(f"wrote {json_path}")


def build_project_eda_report(config: ProjectConfig, *, snapshot_id: int | None = None) -> EdaReport:
    """The project's EDA report for a snapshot of its lake table (default: current); what `eda` writes.

    A notebook shows the returned report inline: `build_project_eda_report(load_config())` as a cell's value.
    """
    spec = load_feature_spec(config)
    table = config.lake.table
    with open_lake(config) as lake:
        if snapshot_id is None:
            current = lake.current_snapshot(table)
            if current is None:
                raise LakeError(
                    f"table {config.lake.namespace}.{table} has no data yet: load it first (cml-mlops lake load)"
                )
            snapshot_id = current.snapshot_id
        frame = lake.read(table, snapshot_id=snapshot_id)
    metadata = {
        "project": config.project.name,
        "table": f"{config.lake.namespace}.{table}",
        "snapshot id": str(snapshot_id),
        "rows": f"{len(frame):,}",
        "profile": config.profile,
        "generated at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "cml-mlops": __version__,
    }
    units = column_units(load_project_module(config, "contracts"))
    return build_eda_report(
        frame,
        spec,
        title=f"EDA: {config.project.name}",
        metadata=metadata,
        units=units,
        leakage_auc=config.features.leakage_ceiling,  # the ceiling train and the gate apply
    )


def column_units(contracts: object) -> dict[str, str]:
    """Column -> unit, as the contract declares them (`pa.Field(..., metadata={"unit": "days"})`)."""
    model = getattr(contracts, "RawRecord", None)
    if model is None or not hasattr(model, "to_schema"):
        return {}
    columns = model.to_schema().columns
    return {
        str(name): str(column.metadata["unit"])
        for name, column in columns.items()
        if column.metadata and column.metadata.get("unit")
    }

"""`cml-mlops labels load SOURCE`: ground truth into the prediction log (see `cml_mlops.labels`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cml_mlops.cli_support import StepFailed, pass_config
from cml_mlops.errors import CmlMlopsError

if TYPE_CHECKING:
    from cml_mlops.config import ProjectConfig


@click.group("labels")
def labels() -> None:
    """Ground truth of logged predictions."""


@labels.command("load")
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of a summary.")
@pass_config
def load(config: ProjectConfig, source: str, as_json: bool) -> None:
    """Load outcomes from SOURCE, a CSV file or `iceberg:<table>` of the lake, keyed by prediction_id or by
    monitoring.labels.business_key plus the prediction's time.

    Loading the same labels again adds nothing; labels of predictions the store does not have are reported and
    not inserted. Exit codes: 0 loaded (unknown ids included); 1 the source breaks the labels contract or the
    store cannot be used, and nothing was written.
    """
    from cml_mlops.labels import load_labels
    from cml_mlops.reports.files import dumps_json

    try:
        result = load_labels(config, source)
    except CmlMlopsError as exc:
        raise StepFailed(str(exc), exc.exit_code) from None
    click.echo(dumps_json(result.to_dict()).strip() if as_json else result.summary())

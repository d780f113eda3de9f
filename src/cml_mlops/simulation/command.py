"""`cml-mlops simulate`: realistic traffic to the deployed model (the server captures it) and its ground truth."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import click

from cml_mlops.cli_support import pass_config
from cml_mlops.config import ProjectConfig
from cml_mlops.monitoring.database import describe_store
from cml_mlops.monitoring.store import open_store, replay_spill
from cml_mlops.reports import write_json
from cml_mlops.simulation.errors import SimulationError
from cml_mlops.simulation.runner import SimulationOptions, report_path, run_simulation, spill_message
from cml_mlops.simulation.scenarios import SCENARIOS


def _epoch(value: str | None) -> float | None:
    """ISO 8601 text as epoch seconds; a time without a zone is UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time such as 2026-01-31T08:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


@click.command("simulate")
@click.option(
    "--scenario",
    type=click.Choice(SCENARIOS),
    default=None,
    help="holdout: the served version's test split; batch: rows added to the lake since its training "
    "snapshot; drift-replay: the table's last rows in time order. [default: simulation.scenario]",
)
@click.option(
    "--target",
    type=click.Choice(["local", "cml"]),
    default=None,
    help="Where the model is served. [default: lifecycle.target]",
)
@click.option("--rows", type=click.IntRange(min=1), default=None, help="Send at most this many rows.")
@click.option(
    "--label-share",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Share of predictions that get their ground truth later (delayed labels).",
)
@click.option(
    "--label-delay-seconds",
    type=click.FloatRange(min=0.0),
    default=None,
    help="Simulated seconds from a prediction to its label.",
)
@click.option("--start", default=None, help="Simulated time of the first request, ISO 8601 (default: now).")
@click.option(
    "--interval-seconds",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="Simulated seconds between requests (default: the real clock).",
)
@click.option("--concurrency", type=click.IntRange(1, 256), default=None, help="Requests in flight at once.")
@click.option(
    "--records-per-request",
    type=click.IntRange(1, 10_000),
    default=None,
    help="Records per request; each is still its own logged prediction with its own id.",
)
@click.option(
    "--drift-share",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=None,
    help="drift-replay: the share of the table's last rows to send.",
)
@click.option("--seed", type=int, default=None, help="Seed of the choice of labelled predictions.")
@click.option(
    "--replay-spill",
    "spill",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Only re-send a spill file of an earlier run to the store, then exit.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on stderr.")
@pass_config
def simulate(
    config: ProjectConfig, scenario: str | None, target: str | None, rows: int | None, label_share: float | None,
    label_delay_seconds: float | None, start: str | None, interval_seconds: float | None, concurrency: int | None,
    records_per_request: int | None, drift_share: float | None, seed: int | None, spill: Path | None,
    as_json: bool, progress: bool,
) -> None:  # fmt: skip
    """Send real rows to the deployed model, check that the server captured every answer, then send delayed labels."""
    if spill is not None:
        _replay(config, spill)
        return
    options = SimulationOptions.from_config(
        config, scenario=scenario, target=target, rows=rows, label_share=label_share,
        label_delay_seconds=label_delay_seconds, start=_epoch(start), interval_seconds=interval_seconds,
        concurrency=concurrency, records_per_request=records_per_request, drift_share=drift_share, seed=seed,
        progress=progress,
    )  # fmt: skip
    summary = run_simulation(config, options)
    write_json(report_path(config), summary)
    click.echo(json.dumps(_jsonable(summary), indent=2) if as_json else summary.line())
    problems = []
    if summary.spill_file:
        spilled = (0, summary.labels_spilled, summary.spill_file)
        problems.append(spill_message(*spilled, summary.store, summary.store_error))
    if summary.failed_predictions:
        problems.append(
            f"{summary.failed_predictions} of {summary.rows_sent} predictions failed ({summary.failed_requests} "
            f"requests of {summary.records_per_request} records), e.g. {summary.error_examples[0]}"
        )
    if summary.capture_missing:
        problems.append(
            f"the server answered {summary.predictions_answered} predictions but the store holds only "
            f"{summary.predictions_logged} of them (missing e.g. {', '.join(summary.capture_missing)}): "
            "check the server's /health and its capture spill directory"
        )
    if problems:
        raise SimulationError("; ".join(problems))


def _replay(config: ProjectConfig, path: Path) -> None:
    engine = open_store(config)
    try:
        result = replay_spill(engine, path)
    finally:
        engine.dispose()
    click.echo(
        f"replayed {result.predictions} predictions and {result.labels} labels from {path} into "
        f"{describe_store(config)}; removed the spill file"
    )


def _jsonable(summary: object) -> object:
    from cml_mlops.reports import to_jsonable

    return to_jsonable(summary)

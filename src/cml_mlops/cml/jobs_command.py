"""`cml-mlops cml sync-jobs` and `cml-mlops cml run-job NAME`: the project's CML jobs, through the API v2."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import click

from cml_mlops.cli_support import CleanErrorsGroup, pass_config
from cml_mlops.cml.connect import connect, workspace
from cml_mlops.cml.jobs import JOBS_FILE, RunResult, load_jobs_file, run_job, sync_jobs
from cml_mlops.cml.jobs.api import JobsApi
from cml_mlops.cml.polling import PollSettings
from cml_mlops.config import ProjectConfig


@contextmanager
def _jobs_api(config: ProjectConfig) -> Iterator[tuple[JobsApi, str]]:
    """A client for the project's workspace (cmlapi or HTTP, see cml_mlops.cml.connect) and its project id."""
    found = workspace(config)
    api = connect(found, config.cml)
    try:
        yield cast(JobsApi, api), found.project_id  # both clients implement the job operations
    finally:
        api.close()


@click.group("cml", cls=CleanErrorsGroup)
def cml_group() -> None:
    """The project's CML jobs: create or update them from cml/jobs.yaml, run them and follow their chain."""


@cml_group.command("sync-jobs")
@click.option(
    "--file",
    "spec_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Job spec file (default: {JOBS_FILE} in the project).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be created or updated; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_config
def sync_jobs_command(config: ProjectConfig, spec_file: Path | None, dry_run: bool, as_json: bool) -> None:
    """Create or update the project's CML jobs to match the spec file (idempotent).

    Jobs are matched by name; only the fields the file manages are changed; jobs of the project that the file does
    not name are left alone and listed.
    """
    spec = load_jobs_file(spec_file or config.path(JOBS_FILE), default_runtime=config.cml.runtime_identifier)
    with _jobs_api(config) as (api, project_id):
        report = sync_jobs(api, project_id, spec, dry_run=dry_run)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.to_markdown())


def _show_status(result: RunResult) -> None:
    click.echo(f"{result.name}: run {result.run_id} {result.status}", err=True)


@contextmanager
def _own_status_lines() -> Iterator[None]:
    """The command prints each status change itself: keep the poller's info lines from doubling them."""
    logger = logging.getLogger("cml_mlops.cml.polling")
    level = logger.level
    logger.setLevel(max(logging.WARNING, level))  # transient read failures still show
    try:
        yield
    finally:
        logger.setLevel(level)


@cml_group.command("run-job")
@click.argument("name")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the run and its dependent jobs.")
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), default=3600, show_default=True,
    help="Seconds to wait for the whole chain.",
)  # fmt: skip
@click.option(
    "--poll-interval", type=click.FloatRange(min=0, min_open=True), default=2.0, show_default=True,
    help="First pause between status checks (seconds); it doubles up to 30 s while nothing changes.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_config
def run_job_command(
    config: ProjectConfig, name: str, wait: bool, timeout: float, poll_interval: float, as_json: bool
) -> None:
    """Run the CML job NAME; with --wait, follow it and then the jobs that depend on it, in order.

    Exits 1 when a run ends failed, timed out or stopped (naming the job and the dependent jobs that did not run),
    or when the wait times out (the runs go on in CML).
    """
    polling = PollSettings(interval=poll_interval, max_interval=max(poll_interval, 30.0), timeout=timeout)
    with _jobs_api(config) as (api, project_id), _own_status_lines():
        report = run_job(api, project_id, name, wait=wait, polling=polling, on_status=_show_status)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.to_markdown())
    report.raise_for_failure()

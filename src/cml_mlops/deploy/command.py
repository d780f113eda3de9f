"""`cml-mlops deploy`, `cml-mlops undeploy` and `cml-mlops serving-status`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

import click

from cml_mlops.cli_support import pass_config
from cml_mlops.config import ProjectConfig
from cml_mlops.deploy.base import TARGETS, deploy_version, get_target, resolve_version

F = TypeVar("F", bound=Callable[..., Any])


def target_option(func: F) -> F:
    option = click.option(
        "--target", type=click.Choice(sorted(TARGETS)), default="local", show_default=True,
        help="Where the model is served: local = a model server on this machine.",
    )  # fmt: skip
    return option(func)


@click.command("deploy")
@target_option
@click.option("--version", default=None, help="Model version (default: the `challenger` alias, else the newest).")
@pass_config
def deploy(config: ProjectConfig, target: str, version: str | None) -> None:
    """Serve a gated model version, replacing the served one without downtime; alias it `champion`."""
    chosen = get_target(target, config)
    chosen.preflight()
    number = resolve_version(config, version)
    deployment = deploy_version(config, chosen, number)
    click.echo(
        f"deployed {deployment.model_name} version {deployment.version} to {target}: {deployment.endpoint} "
        f"(pid {deployment.details.get('pid')}); alias champion -> {deployment.version}"
    )


@click.command("undeploy")
@target_option
@pass_config
def undeploy(config: ProjectConfig, target: str) -> None:
    """Stop the model server and remove its state (nothing deployed is not an error)."""
    stopped = get_target(target, config).undeploy()
    if stopped is None:
        click.echo(f"nothing is deployed to {target}")
        return
    click.echo(f"stopped {stopped.model_name} version {stopped.version} at {stopped.endpoint} ({target})")


@click.command("serving-status")
@target_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_config
def serving_status(config: ProjectConfig, target: str, as_json: bool) -> None:
    """What is served and whether it answers. Exit 1 when a deployment is recorded but not healthy."""
    status = get_target(target, config).status()
    if as_json:
        click.echo(json.dumps(asdict(status), indent=2))
    else:
        click.echo(status.message)
    if status.deployment is not None and not status.healthy:
        click.get_current_context().exit(1)

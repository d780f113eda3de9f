"""`cml-mlops deploy`, `cml-mlops undeploy` and `cml-mlops serving-status`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cml_mlops.cli_support import pass_config
from cml_mlops.deploy.base import TARGETS, deploy_version, get_target, resolve_version

if TYPE_CHECKING:
    from cml_mlops.config import ProjectConfig

F = TypeVar("F", bound=Callable[..., Any])


def target_option(func: F) -> F:
    option = click.option(
        "--target", type=click.Choice(sorted(TARGETS)), default="local", show_default=True,
        help="Where the model is served: local = a model server on this machine; cml = a CML Model "
             "(the workspace in cml: / CDSW_* variables).",
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
    click.echo(_details(deployment.details))
    click.echo(
        f"deployed {deployment.model_name} version {deployment.version} to {target}: {deployment.endpoint}; "
        f"alias champion -> {deployment.version}"
    )


HIDDEN = frozenset({"access_key"})  # in the details for programs (e.g. a CML model's key), not for screens


def _shown(details: dict[str, Any]) -> dict[str, Any]:
    return {key: "***" if key in HIDDEN else value for key, value in details.items()}


def _details(details: dict[str, Any]) -> str:
    """The target's own facts (pid and log for local, model/build/deployment ids for cml), one line."""
    return "; ".join(
        f"{key}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
        for key, value in _shown(details).items()
        if value not in (None, "", [])
    )


@click.command("undeploy")
@target_option
@pass_config
def undeploy(config: ProjectConfig, target: str) -> None:
    """Stop serving (local: the model server and its state; cml: the model's active deployments)."""
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
        shown = asdict(status)
        if shown["deployment"] is not None:
            shown["deployment"]["details"] = _shown(shown["deployment"]["details"])
        click.echo(json.dumps(shown, indent=2))
    else:
        click.echo(status.message)
    if status.deployment is not None and not status.healthy:
        click.get_current_context().exit(1)

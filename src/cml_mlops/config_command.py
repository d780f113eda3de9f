"""`cml-mlops config show`: the effective configuration and where each value came from."""

from __future__ import annotations

import json

import click

from cml_mlops.cli_support import CleanErrorsGroup, CliState


@click.group("config", cls=CleanErrorsGroup)
def config_group() -> None:
    """The project configuration (cml-mlops.yaml, its profiles and CML_MLOPS_* variables)."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per setting: key, value, source.")
@click.pass_context
def show(ctx: click.Context, as_json: bool) -> None:
    """Print every setting with its source: default, file, profile <name> or env <VARIABLE>. Secrets are masked."""
    from cml_mlops.config_sources import explain_config, render_settings  # pydantic and yaml: not for --help

    state = ctx.find_object(CliState) or CliState()
    config, settings = explain_config(state.project_dir, state.profile)
    if as_json:
        for setting in settings:
            click.echo(json.dumps({"key": setting.key, "value": setting.value, "source": setting.source}))
        return
    click.echo(f"# {config.root / 'cml-mlops.yaml'}, profile {config.profile}")
    click.echo(render_settings(settings))

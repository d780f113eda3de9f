"""What every CLI command shares: loading the project config once, and turning errors into exit codes."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from cml_mlops.config import ProjectConfig, load_config
from cml_mlops.errors import CmlMlopsError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """Options of the `cml-mlops` group, shared by its commands."""

    project_dir: Path | None = None
    profile: str | None = None
    _config: ProjectConfig | None = field(default=None, repr=False)

    def config(self) -> ProjectConfig:
        if self._config is None:
            self._config = load_config(self.project_dir, self.profile)
        return self._config


def pass_config(func: F) -> F:
    """Give the command the validated ProjectConfig as its first argument."""

    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        state = ctx.find_object(CliState) or CliState()
        return func(state.config(), *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class StepFailed(click.ClickException):
    """A CmlMlopsError as click shows it: `Error: <message>` on stderr and the error's exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class


class CleanErrorsGroup(click.Group):
    """A group whose commands report a CmlMlopsError as one clear line and its exit code (no traceback).

    Subcommands given as `lazy_commands={"name": "module:attribute"}` are imported only when used, so that
    one step does not pay for importing the libraries of all the others.
    """

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            module_name, attribute = self.lazy_commands[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CmlMlopsError as exc:
            raise StepFailed(str(exc), exc.exit_code) from None

"""What every CLI command shares: loading the project config once, and turning errors into exit codes."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from gettext import gettext as _
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cml_mlops.errors import CmlMlopsError

if TYPE_CHECKING:  # the config's validation (pydantic, yaml) is imported when a command first needs it
    from cml_mlops.config import ProjectConfig

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """Options of the `cml-mlops` group, shared by its commands."""

    project_dir: Path | None = None
    profile: str | None = None
    _config: ProjectConfig | None = field(default=None, repr=False)

    def config(self) -> ProjectConfig:
        if self._config is None:
            from cml_mlops.config import load_config

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


@dataclass(frozen=True)
class LazyCommand:
    """A subcommand imported only when it runs: where it lives, and its short help for the command listing.

    `short_help` is the first paragraph of the command's own docstring, copied so that listing the commands
    imports none of them (tests/test_cli_startup.py fails when the two drift apart).
    """

    import_path: str  # "package.module:attribute"
    short_help: str

    def load(self) -> click.Command:
        module_name, attribute = self.import_path.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command


class CleanErrorsGroup(click.Group):
    """A group whose commands report a CmlMlopsError as one clear line and its exit code (no traceback).

    Subcommands given as `lazy_commands={"name": LazyCommand(...)}` are imported only when used, so that
    one step does not pay for importing the libraries of all the others, and `--help` imports none of them.
    """

    def __init__(self, *args: Any, lazy_commands: Mapping[str, LazyCommand] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            self.add_command(self.lazy_commands[cmd_name].load(), cmd_name)
        return super().get_command(ctx, cmd_name)

    def listed_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command as the listing shows it: the loaded one, else a stand-in carrying the table's short help."""
        if cmd_name in self.commands or cmd_name not in self.lazy_commands:
            return self.get_command(ctx, cmd_name)
        return click.Command(cmd_name, help=self.lazy_commands[cmd_name].short_help)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's listing, without importing the lazy commands (their short help comes from the table)."""
        listed = [(name, self.listed_command(ctx, name)) for name in self.list_commands(ctx)]
        shown = [(name, command) for name, command in listed if command is not None and not command.hidden]
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in shown)  # as click.Group.format_commands
        with formatter.section(_("Commands")):  # the same words (and translation) as click
            formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in shown])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CmlMlopsError as exc:
            raise StepFailed(str(exc), exc.exit_code) from None

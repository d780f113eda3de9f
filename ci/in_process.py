"""Run a `cml-mlops` step inside this process: the steps of a job then share one interpreter and its imports.

Every step in its own process pays the interpreter start and the import of its libraries (MLflow, scikit-learn,
pandas, pyiceberg...) again: 3 to 7 s of CPU for most steps of the main job. In one process they are paid once.
A step still gets its own working directory, environment and click context, and its exit code as the console
script would give it. What must outlive a step or be isolated (the model server) is a subprocess of the step.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import click


class LastLine(io.TextIOBase):
    """A text stream that writes through to `stream` and remembers the last non-empty line written."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last_line = ""
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.stream.flush()
        lines = (self._partial + text).split("\n")
        self._partial = lines[-1]
        for line in reversed(lines):
            if line.strip():
                self.last_line = line.strip()
                break
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


@contextlib.contextmanager
def step_context(cwd: Path, env: dict[str, str]) -> Iterator[None]:
    """The step's working directory and environment, restored afterwards."""
    old_cwd, old_env = Path.cwd(), dict(os.environ)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(old_env)


def invoke_cli(args: list[str]) -> int:
    """`cml-mlops ARGS` through click's API, with the exit code and error line the console script gives."""
    from cml_mlops.cli import cli

    try:
        with cli.make_context("cml-mlops", list(args)) as ctx:
            cli.invoke(ctx)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 1
    return 0


@contextlib.contextmanager
def teed_output() -> Iterator[LastLine]:
    """stdout and stderr through one LastLine (logging handlers made by a step keep writing to it)."""
    tee = LastLine(sys.__stdout__ or sys.stdout)
    old = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = tee
    try:
        yield tee
    finally:
        sys.stdout, sys.stderr = old

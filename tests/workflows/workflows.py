"""GitHub workflows as data: their `run:` steps, checked against nox sessions and the `cml-mlops` CLI, and run here.

The rule the checks enforce: every `run:` step is one command, and that command is a nox session of the project
(`nox -s NAME`), a `cml-mlops` command with valid arguments, or one of the few plumbing lines listed in `PLUMBING`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import yaml

from ci.lifecycle import REPO_ROOT

BIN = Path(sys.executable).parent
# click >= 8.2 raises this (its message is the whole help text) when a group gets no subcommand.
NO_ARGS_IS_HELP: type[Exception] = getattr(click.exceptions, "NoArgsIsHelpError", click.exceptions.Exit)
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# Shell syntax that would put more than one command, or logic, in a step (operators are checked unquoted, below).
SUBSTITUTION = re.compile(r"`|\$\(|\n")
OPERATOR = re.compile(r"[();<>|&]+")
# Lines that are neither a nox session nor a cml-mlops command, and do no work of their own.
PLUMBING = {
    "pip bootstrap": re.compile(r"python -m pip install( \S+)+"),
    "fail the job": re.compile(r"exit 1"),
    "repository script": re.compile(r"bash ci/[\w-]+\.sh"),
}


@dataclass(frozen=True)
class Step:
    """One step of a job, with the environment GitHub would give it (workflow, job and step `env:`, in order)."""

    workflow: Path
    job: str
    index: int
    raw: Mapping[str, Any]
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def run(self) -> str | None:
        value = self.raw.get("run")
        return None if value is None else str(value)

    @property
    def uses(self) -> str | None:
        value = self.raw.get("uses")
        return None if value is None else str(value)

    def __str__(self) -> str:
        return f"{self.workflow.name}:{self.job}[{self.index}] {self.run or self.uses}"


def load(path: Path) -> dict[str, Any]:
    """A workflow as a mapping; YAML 1.1 reads the `on:` key as True, so it is put back under "on"."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:
        data["on"] = data.pop(True)
    return dict(data)


def triggers(workflow: Mapping[str, Any]) -> set[str]:
    on = workflow["on"]
    return {on} if isinstance(on, str) else set(on)


def workflow_files(root: Path) -> list[Path]:
    return sorted((root / ".github" / "workflows").glob("*.y*ml"))


def steps(path: Path, job: str | None = None) -> Iterator[Step]:
    workflow = load(path)
    for job_id, spec in workflow["jobs"].items():
        if job is not None and job_id != job:
            continue
        for index, raw in enumerate(spec.get("steps", [])):
            env = {**workflow.get("env", {}), **spec.get("env", {}), **raw.get("env", {})}
            yield Step(path, job_id, index, raw, {key: str(value) for key, value in env.items()})


def nox_sessions(project: Path) -> set[str]:
    """Every session the project's noxfile defines, as `nox --list` shows them (default and others)."""
    result = subprocess.run(
        [str(BIN / "nox"), "--list"], cwd=project, capture_output=True, text=True, timeout=60, check=True
    )
    return {match.group(1) for match in re.finditer(r"^[*-] (\S+)", result.stdout, flags=re.MULTILINE)}


def cli_problem(args: Sequence[str]) -> str | None:
    """Why `cml-mlops ARGS` would be refused by the CLI's own parser (None if it parses), without running it."""
    from cml_mlops.cli import cli

    command: click.Command = cli
    name, remaining, context = "cml-mlops", list(args), None
    try:
        while True:
            context = command.make_context(name, remaining, parent=context)
            if not isinstance(command, click.Group):
                return None
            rest = [*getattr(context, "_protected_args", []), *context.args]
            if not rest:
                return f"`cml-mlops {shlex.join(args)}` names no command of the group {name!r}"
            found, subcommand, remaining = command.resolve_command(context, rest)
            if subcommand is None or found is None:
                return f"no command {rest[0]!r}"
            command, name = subcommand, found
    except NO_ARGS_IS_HELP:
        return f"`cml-mlops {shlex.join(args)}` names no command of the group {name!r}"
    except click.ClickException as exc:
        return f"`cml-mlops {shlex.join(args)}`: {exc.format_message()}"
    except ImportError as exc:  # a lazily registered command whose module does not exist (yet)
        return f"`cml-mlops {shlex.join(args)}`: the command's module cannot be imported ({exc})"


def nox_problem(args: Sequence[str], sessions: set[str]) -> str | None:
    """Why `nox ARGS` is not a run of existing sessions (None if it is), using nox's own argument parser."""
    from nox._options import options

    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            parsed = options.parse_args(list(args))
    except SystemExit:
        return f"`nox {shlex.join(args)}`: {errors.getvalue().strip().splitlines()[-1]}"
    if not parsed.sessions or parsed.keywords or parsed.tags:
        return f"`nox {shlex.join(args)}` must name its sessions with -s"
    unknown = sorted(set(parsed.sessions) - sessions)
    return f"`nox {shlex.join(args)}`: no session {', '.join(unknown)} in the noxfile" if unknown else None


def step_problem(step: Step, sessions: set[str]) -> str | None:
    """Why a `run:` step breaks the rule (None if it follows it)."""
    script = (step.run or "").strip()
    if EXPRESSION.search(script):
        return f"{step}: `${{{{ }}}}` inside run: (pass values through env:)"
    if SUBSTITUTION.search(script) or any(OPERATOR.fullmatch(token) for token in shell_tokens(script)):
        return f"{step}: more than one command or shell logic in one step"
    argv = shlex.split(script)
    if not argv:
        return f"{step}: empty run:"
    if argv[0] == "nox":
        return nox_problem(argv[1:], sessions)
    if argv[0] == "cml-mlops":
        return cli_problem(argv[1:])
    if any(pattern.fullmatch(script) for pattern in PLUMBING.values()):
        return None
    return f"{step}: neither a nox session nor a cml-mlops command"


def shell_tokens(script: str) -> list[str]:
    """The words of a command line as the shell splits them, with unquoted operators (`&&`, `|`, `>`) on their own."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def run_problems(root: Path) -> list[str]:
    """Every `run:` step of the workflows under `root` that breaks the rule, with the reason."""
    sessions = nox_sessions(root)
    problems = []
    for path in workflow_files(root):
        for step in steps(path):
            if step.run is None:
                continue
            problem = step_problem(step, sessions)
            if problem is None and step.run.startswith("bash ") and not (root / shlex.split(step.run)[1]).is_file():
                problem = f"{step}: the script does not exist"
            if problem:
                problems.append(problem)
    return problems


def resolve(value: str, context: Mapping[str, str]) -> str:
    """Substitute the `${{ name }}` expressions of an env value from `context`.

    Like GitHub, an unset secret or variable is the empty string; any other expression must be in `context`.
    """

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith(("secrets.", "vars.")):
            return context.get(name, "")
        return context[name]

    return EXPRESSION.sub(value_of, value)


def run_job(
    path: Path, job: str, project: Path, context: Mapping[str, str], env: Mapping[str, str] | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """Run a job's `run:` steps in `project` as GitHub would, with nox on this interpreter instead of new venvs.

    `uses:` steps (checkout, setup-python, artifacts) are GitHub's plumbing and skipped, as is the pip bootstrap;
    expressions in `env:` come from `context` (e.g. "secrets.CDSW_APIV2_KEY"). Stops at the first failing step.
    """
    results = []
    base = {**os.environ, **(env or {}), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for step in steps(path, job):
        if step.run is None or PLUMBING["pip bootstrap"].fullmatch(step.run.strip()):
            continue
        argv = shlex.split(step.run)
        if argv[0] == "nox":
            argv = [str(BIN / "nox"), "--no-venv", "--no-install", *argv[1:]]
        step_env = {**base, **{key: resolve(value, context) for key, value in step.env.items()}}
        result = subprocess.run(argv, cwd=project, env=step_env, capture_output=True, text=True, timeout=1800)
        results.append(result)
        if result.returncode != 0:
            break
    return results


REPO_WORKFLOWS = workflow_files(REPO_ROOT)

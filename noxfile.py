"""Task runner: every CI step is one of these sessions, and runs the same way on a laptop."""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")


def install(session: nox.Session, *groups: str) -> None:
    """The library (editable) plus dependency groups of pyproject.toml, the same lists tox reads."""
    session.install("-e", ".", *(req for group in groups for req in nox.project.dependency_groups(PYPROJECT, group)))


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite; pytest arguments go after `--` (e.g. `-- -m "not slow"` for the quick tier)."""
    install(session, "test")
    session.run("bash", "ci/ensure_postgres.sh", external=True)
    session.run("pytest", *(session.posargs or ["-n", "2", "--dist", "loadfile"]))


@nox.session
def e2e(session: nox.Session) -> None:
    """The full lifecycle end to end (tests marked `e2e`) against PostgreSQL: CI runs it nightly and on main."""
    install(session, "test")
    session.run("bash", "ci/ensure_postgres.sh", external=True)
    session.run("pytest", "-m", "e2e", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and types: ruff (lint + format) and mypy."""
    install(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session
def bake(session: nox.Session) -> None:
    """Generate a project for every template option under build/bake/ and run each project's own tests."""
    install(session, "test")
    session.run("python", "-m", "ci.bake", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: generate the default project in build/demo/ and run its lifecycle on embedded defaults."""
    install(session, "test")
    session.run("python", "-m", "ci.demo", *session.posargs, env={"PYTHONUNBUFFERED": "1"})


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks against their baselines; JSON results go to benchmarks/results/."""
    install(session, "test", "bench")
    session.run("bash", "ci/ensure_postgres.sh", external=True)
    session.run(
        "python",
        "-m",
        "benchmarks",
        *session.posargs,
        env={"PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED", "0")},
    )

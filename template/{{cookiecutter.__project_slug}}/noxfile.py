"""Every CI step of this project is one of these sessions: `nox -s NAME` does on a laptop what the workflow does.

The GitHub workflows in .github/workflows/ call these sessions and nothing else (apart from installing nox), so a
failed check can be reproduced with the same command. `nox --list` shows them all.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
# `reports.dir` of cml-mlops.yaml (a test keeps them equal): the workflows upload from here and download to here.
REPORTS = ROOT / "reports"
SUMMARY = ROOT / "build" / "summary.md"
ALERT = REPORTS / "monitoring" / "alert.md"  # written by `cml-mlops summary alert` with the monitoring report
ALERT_TITLE = "Monitoring checks failed"

# The `cml-mlops` commands behind each lifecycle session, in order.
STEPS: dict[str, list[list[str]]] = {
    "contracts": [["ingest", "--no-progress"], ["lake", "load"], ["validate"]],
    "train_gate": [["train", "--no-progress"], ["gate"]],
    "deploy": [["deploy", "--target", "cml"], ["cml", "sync-jobs"]],
    "smoke": [["serving-status", "--target", "cml"]],
    "monitor": [["monitor"], ["report"]],
    # In the workspace, where the lake and the registry live: the job chain newbatch -> retrain -> redeploy.
    "retrain": [["cml", "sync-jobs"], ["cml", "run-job", "newbatch", "--wait"]],
}


def install(session: nox.Session, *groups: str, project: bool = True) -> None:
    """This project (editable, with the cml-mlops library) and dependency groups of pyproject.toml."""
    requirements = [req for group in groups for req in nox.project.dependency_groups(PYPROJECT, group)]
    session.install(*(["-e", "."] if project else []), *requirements)


def run_steps(session: nox.Session) -> None:
    """Run the session's `cml-mlops` commands in order; the first failure stops the session."""
    for step in STEPS[session.name]:
        session.run("cml-mlops", *step)


@nox.session
def lint(session: nox.Session) -> None:
    """Style: ruff lint and format check."""
    install(session, "lint", project=False)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Types: mypy on src/."""
    install(session, "lint")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """The project's unit and property tests (pytest arguments go after `--`)."""
    install(session, "test")
    session.run("pytest", *session.posargs)


@nox.session
def contracts(session: nox.Session) -> None:
    """Fetch the data set, load it into the lake through the data contract, validate what the table holds."""
    install(session)
    run_steps(session)


@nox.session
def train_gate(session: nox.Session) -> None:
    """Train, then gate the new version against the champion; metrics and verdict go to build/summary.md."""
    install(session)
    started = time.time()
    try:
        run_steps(session)
    finally:  # also when the gate fails: the summary explains why
        session.run("cml-mlops", "summary", "training", "--since", str(started), "--output", str(SUMMARY))


@nox.session
def deploy(session: nox.Session) -> None:
    """Deploy the gated version to CML through the CML API, then sync the CML jobs from cml/jobs.yaml."""
    install(session)
    run_steps(session)


@nox.session
def smoke(session: nox.Session) -> None:
    """Smoke-test the CML deployment: the model is deployed and answers."""
    install(session)
    run_steps(session)


@nox.session
def monitor(session: nox.Session) -> None:
    """Monitoring checks on the prediction log (CML_MLOPS_MONITORING_DSN), then the HTML dashboard."""
    install(session)
    checks, dashboard = STEPS["monitor"]
    try:
        session.run("cml-mlops", *checks)
    finally:  # the dashboard and the issue text show what failed, so they are written either way
        session.run("cml-mlops", *dashboard)
        session.run("cml-mlops", "summary", "alert")


@nox.session
def retrain(session: nox.Session) -> None:
    """Run the CML job chain newbatch -> retrain (gated) -> redeploy in the workspace and follow it to the end."""
    install(session)
    run_steps(session)


@nox.session(venv_backend="none")
def comment(session: nox.Session) -> None:
    """Post build/summary.md on the pull request (updating the previous one); needs the gh CLI and GH_TOKEN."""
    if not SUMMARY.is_file():
        session.error(f"{SUMMARY.relative_to(ROOT)} is missing: run `nox -s train_gate` first")
    pull_request = [os.environ["PR_NUMBER"]] if os.environ.get("PR_NUMBER") else []  # else: the branch's PR
    session.run(
        "gh", "pr", "comment", *pull_request, "--body-file", str(SUMMARY), "--edit-last", "--create-if-none",
        external=True,
    )  # fmt: skip


@nox.session(venv_backend="none")
def alert(session: nox.Session) -> None:
    """Open the monitoring issue, or comment on the open one (never a second); needs the gh CLI and GH_TOKEN."""
    body = ALERT
    if not body.is_file():
        session.error(f"{body.relative_to(ROOT)} is missing: run `nox -s monitor` first")
    found = session.run(
        "gh", "issue", "list", "--state", "open", "--search", f'"{ALERT_TITLE}" in:title', "--json", "number,title",
        "--jq", f'.[] | select(.title == "{ALERT_TITLE}") | .number',
        silent=True, external=True,
    )  # fmt: skip
    numbers = str(found or "").split()
    if numbers:
        session.run("gh", "issue", "comment", numbers[0], "--body-file", str(body), external=True)
    else:
        session.run("gh", "issue", "create", "--title", ALERT_TITLE, "--body-file", str(body), external=True)


@nox.session(venv_backend="none")
def dispatch_retrain(session: nox.Session) -> None:
    """Start the retrain workflow on GitHub when monitoring alerted (not for a missing profile or no data)."""
    report = REPORTS / "monitoring" / "monitoring.json"
    status = json.loads(report.read_text(encoding="utf-8"))["status"] if report.is_file() else "no report"
    if status != "alert":
        session.skip(f"monitoring status {status!r}: retraining is for alerts only")
    session.run("gh", "workflow", "run", "retrain.yml", external=True)

"""The scripts CML jobs and AMP sessions run: `run_steps` for real, and every script's steps are real commands."""

from __future__ import annotations

import ast
import shutil
import sys
import zipfile
from pathlib import Path

import click
import pytest

from cml_mlops.cli import cli
from cml_mlops.cml.amp import load_amp_file
from cml_mlops.cml.jobs import load_jobs_file
from cml_mlops.cml.steps import JobStepFailed, run_steps, step_command
from cml_mlops.monitoring.job import MONITOR_STEP, REPORT_STEP


def sample_csv(bank_zip: Path, target: Path) -> Path:
    with zipfile.ZipFile(bank_zip) as archive, archive.open("bank.csv") as source, target.open("wb") as out:
        shutil.copyfileobj(source, out)
    return target


@pytest.mark.slow  # three cml-mlops processes
def test_steps_run_in_order_and_stop_at_the_first_failure(baked_project: Path, bank_zip: Path, tmp_path: Path) -> None:
    csv = sample_csv(bank_zip, tmp_path / "bank.csv")
    first, last = tmp_path / "first.py", tmp_path / "last.py"
    steps = [
        ["contract", "draft", str(csv), "--output", str(first)],
        ["contract", "draft", str(tmp_path / "missing.csv")],
        ["contract", "draft", str(csv), "--output", str(last)],
    ]
    with pytest.raises(JobStepFailed) as caught:
        run_steps(steps, profile="local", project_dir=baked_project)
    message = str(caught.value)
    assert "`cml-mlops contract draft" in message and "missing.csv` exited with code 2" in message
    assert f"not run: cml-mlops contract draft {csv} --output {last}" in message
    assert first.is_file() and "class RawRecord" in first.read_text(encoding="utf-8")
    assert not last.exists()


def test_steps_that_pass_return_what_ran(baked_project: Path, tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    assert run_steps([["--version"]], profile="local", project_dir=baked_project) == ["cml-mlops --version"]
    out = capfd.readouterr().out
    assert out.startswith("$ cml-mlops --version\n") and "cml-mlops, version" in out


def test_the_profile_is_prod_unless_the_environment_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CML_MLOPS_PROFILE", raising=False)
    assert step_command(["train"]) == [sys.executable, "-m", "cml_mlops", "--profile", "prod", "train"]
    monkeypatch.setenv("CML_MLOPS_PROFILE", "ci")
    assert step_command(["train"])[3:5] == ["--profile", "ci"]
    assert step_command(["train"], profile="local", project_dir=Path("/p"))[3:] == [
        "--profile", "local", "--project-dir", "/p", "train",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="no steps"):
        run_steps([])


def script_steps(path: Path) -> list[list[str]]:
    """The literal argument of the script's `run_steps(...)` call, read without running the script."""
    calls = [
        node
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run_steps"
    ]
    assert len(calls) == 1, f"{path}: expected one run_steps(...) call"
    steps = ast.literal_eval(calls[0].args[0])
    assert isinstance(steps, list) and steps
    return steps


def parse_command(args: list[str]) -> click.Command:
    """Resolve `cml-mlops ARGS` down to its command and parse its options, as click would, without running it."""
    command: click.Command = cli
    context = cli.make_context("cml-mlops", ["--profile", "prod"])
    rest = list(args)
    while isinstance(command, click.Group):
        name, sub, rest = command.resolve_command(context, rest)
        assert name is not None and sub is not None, f"no command in `cml-mlops {' '.join(args)}`"
        if isinstance(sub, click.Group):  # its subcommand is resolved on the next turn
            context = sub.make_context(name, [], parent=context, resilient_parsing=True)
        else:
            context = sub.make_context(name, rest, parent=context)
        command = sub
    return command


def project_scripts(project: Path) -> list[Path]:
    spec = load_jobs_file(project / "cml" / "jobs.yaml", default_runtime="rt")
    amp = load_amp_file(project / ".project-metadata.yaml")
    scripts = [*spec.scripts(), *amp.referenced_files()]
    return [project / script for script in dict.fromkeys(scripts) if script.startswith("cml/scripts/")]


@pytest.mark.slow  # imports every command module
def test_every_job_and_session_script_runs_cml_mlops_commands_that_exist(baked_project: Path) -> None:
    scripts = project_scripts(baked_project)
    assert {path.name for path in scripts} >= {"newbatch.py", "retrain.py", "redeploy.py", "monitor.py"}
    # The monitor job runs its two steps itself, to keep monitor's exit code (cml_mlops.monitoring.job).
    steps = {path.name: script_steps(path) for path in scripts if path.name not in ("install.py", "monitor.py")}
    steps["monitor.py"] = [list(MONITOR_STEP), list(REPORT_STEP)]
    assert "run_monitor_job()" in (baked_project / "cml" / "scripts" / "monitor.py").read_text(encoding="utf-8")
    assert steps["redeploy.py"] == [["deploy", "--target", "cml"]]
    for name, script in steps.items():
        for step in script:
            assert parse_command(step).callback is not None, f"{name}: {step}"


def test_the_install_script_needs_nothing_but_the_standard_library(baked_project: Path) -> None:
    tree = ast.parse((baked_project / "cml" / "scripts" / "install.py").read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported and imported <= set(sys.stdlib_module_names)

"""Bake a project and run `cml-mlops` steps in it, timing each: shared by `nox -s demo` and `nox -s bake`."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cookiecutter.main import cookiecutter

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = REPO_ROOT / "template"
CLI = [sys.executable, "-m", "cml_mlops"]


def cml(*args: str) -> list[str]:
    """The command line of `cml-mlops ARGS` in this interpreter."""
    return [*CLI, *args]


@dataclass
class StepResult:
    name: str
    returncode: int
    seconds: float
    last_line: str
    expected: int = 0  # some steps must fail, e.g. monitoring after drift was injected
    user_cpu_seconds: float = 0.0  # of the step's process and the children it waited for (not a detached server)

    @property
    def ok(self) -> bool:
        return self.returncode == self.expected

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "exit_code": self.returncode,
            "expected_exit_code": self.expected,
            "ok": self.ok,
            "wall_seconds": round(self.seconds, 3),
            "user_cpu_seconds": round(self.user_cpu_seconds, 3),
        }


def user_cpu() -> float:
    """User CPU seconds of this process and its finished children: on a shared machine, the figure that load
    does not inflate (wall time does)."""
    return sum(resource.getrusage(who).ru_utime for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


@dataclass(frozen=True)
class Step:
    """One planned step: a name, its command line and the exit code that means it did its job."""

    name: str
    command: list[str]
    expected: int = 0


def template_variables() -> dict[str, object]:
    """cookiecutter.json as written: prompts (public keys) with their defaults or choices."""
    raw = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    return {key: value for key, value in raw.items() if not key.startswith("_")}


# The custom preset has no default data set: its bakes name one (a CSV in a folder of a zip, no checksum).
CUSTOM_DATASET = {"dataset_url": "https://example.org/cells.zip", "dataset_member": "tables/cells.csv"}


def choice_matrix() -> list[dict[str, str]]:
    """One bake per choice of every choice prompt (the others at their defaults), read from cookiecutter.json."""
    return [
        {name: choice, **(CUSTOM_DATASET if choice == "custom" else {})}
        for name, value in template_variables().items()
        if isinstance(value, list)
        for choice in value
    ]


def bake_project(output_dir: Path, *, fresh: bool = False, **context: str) -> Path:
    """Generate a project whose cml-mlops requirement points at this checkout."""
    context = {"cml_mlops_requirement": f"cml-mlops @ {REPO_ROOT.as_uri()}", **context}
    if fresh and output_dir.exists():
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    # Keep downloaded data and the lake between runs: the steps themselves decide what to redo.
    return Path(
        cookiecutter(
            str(TEMPLATE_DIR),
            no_input=True,
            output_dir=str(output_dir),
            extra_context=context,
            overwrite_if_exists=True,
        )
    )


def run_step(
    project: Path,
    name: str,
    command: list[str],
    env: dict[str, str] | None = None,
    expected: int = 0,
    *,
    in_process: bool = False,
) -> StepResult:
    """Run a command in the project, streaming its output, and time it.

    in_process: a `cml-mlops` command runs in this interpreter (ci/in_process.py), any other in its own process.
    """
    is_cli = command[: len(CLI)] == CLI
    shown = " ".join(["cml-mlops", *command[len(CLI) :]] if is_cli else command)
    print(f"\n=== {name}: {shown}", flush=True)
    started, cpu_before = time.perf_counter(), user_cpu()
    if in_process and is_cli:
        returncode, last_line = _in_this_process(project, command[len(CLI) :], env)
    else:
        returncode, last_line = _in_a_subprocess(project, command, env)
    seconds, cpu = time.perf_counter() - started, user_cpu() - cpu_before
    print(f"=== {name}: {seconds:.1f} s wall, {cpu:.1f} s user CPU", flush=True)
    return StepResult(name, returncode, seconds, last_line, expected, cpu)


def _in_a_subprocess(project: Path, command: list[str], env: dict[str, str] | None) -> tuple[int, str]:
    process = subprocess.Popen(
        command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    last_line = ""
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.strip():
            last_line = line.strip()
    return process.wait(), last_line


def _in_this_process(project: Path, args: list[str], env: dict[str, str] | None) -> tuple[int, str]:
    from ci.in_process import invoke_cli, step_context, teed_output

    with teed_output() as output, step_context(project, dict(os.environ) if env is None else env):
        returncode = invoke_cli(args)
    return returncode, output.last_line


def run_steps(
    project: Path,
    steps: list[tuple[str, list[str]]] | list[Step],
    env: dict[str, str] | None = None,
    *,
    in_process: bool = False,
) -> list[StepResult]:
    """Run the steps in order, stopping at the first that does not end as expected (later steps need it)."""
    results = []
    for planned in steps:
        step = planned if isinstance(planned, Step) else Step(*planned)
        result = run_step(project, step.name, step.command, env, step.expected, in_process=in_process)
        results.append(result)
        if not result.ok:
            break
    return results


def print_summary(title: str, results: list[StepResult], planned: int) -> None:
    print(f"\n{title}")
    print(f"{'step':<18} {'status':<8} {'seconds':>8} {'user CPU':>8}  last output")
    for result in results:
        # An expected non-zero exit (a monitoring alert the demo provokes) shows as ok(1).
        if not result.ok:
            status = f"FAIL({result.returncode})"
        else:
            status = f"ok({result.returncode})" if result.returncode else "ok"
        print(
            f"{result.name:<18} {status:<8} {result.seconds:>8.2f} {result.user_cpu_seconds:>8.2f}  "
            f"{result.last_line[:90]}"
        )
    for _ in range(planned - len(results)):
        print(f"{'-':<18} {'skipped':<8}")
    wall, cpu = sum(r.seconds for r in results), sum(r.user_cpu_seconds for r in results)
    print(f"{'steps total':<18} {'':<8} {wall:>8.2f} {cpu:>8.2f}")

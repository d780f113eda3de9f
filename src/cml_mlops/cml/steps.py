"""What the scripts of CML jobs and AMP sessions run: `cml-mlops` commands in sequence, stopping at a failure.

Each step runs as its own `python -m cml_mlops` process (memory is returned between steps, and a step's exit
code is exactly the command's), inside the project the script is started in (CML starts jobs and sessions in
the project folder). The profile is `prod` unless `CML_MLOPS_PROFILE` says otherwise.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from cml_mlops.config import PROFILE_ENV
from cml_mlops.errors import CmlMlopsError

DEFAULT_PROFILE = "prod"


class JobStepFailed(CmlMlopsError):
    """A step of a job script exited non-zero; the steps after it did not run."""


def step_command(step: Sequence[str], *, profile: str | None = None, project_dir: Path | None = None) -> list[str]:
    """The command line of one step: `python -m cml_mlops --profile P [--project-dir D] STEP...`."""
    chosen = profile or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    where = ["--project-dir", str(project_dir)] if project_dir is not None else []
    return [sys.executable, "-m", "cml_mlops", "--profile", chosen, *where, *step]


def run_steps(
    steps: Sequence[Sequence[str]], *, profile: str | None = None, project_dir: Path | None = None
) -> list[str]:
    """Run each `cml-mlops` step in order; JobStepFailed (naming the step and the skipped ones) at the first failure.

    Returns the steps run, as text. Output goes straight to this process's stdout/stderr (the job's log).
    """
    if not steps:
        raise ValueError("no steps to run")
    done: list[str] = []
    for index, step in enumerate(steps):
        text = "cml-mlops " + shlex.join(step)
        print(f"$ {text}", flush=True)
        code = subprocess.run(step_command(step, profile=profile, project_dir=project_dir), check=False).returncode
        if code != 0:
            skipped = ["cml-mlops " + shlex.join(s) for s in steps[index + 1 :]]
            after = f"; not run: {', '.join(skipped)}" if skipped else ""
            raise JobStepFailed(f"`{text}` exited with code {code}{after}")
        done.append(text)
    return done

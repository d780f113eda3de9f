"""The scheduled monitor as a CML job runs it: the checks on the captured prediction log, then the dashboard.

The job reads the store the model service captures into (`CML_MLOPS_MONITORING_DSN`, an environment variable of
the CML project) and the reference profiles of the served versions in the workspace's MLflow (the job runs as
the project, which can read its registry). The dashboard is drawn whatever the checks say, since it shows what
failed; the job's exit code is the monitor's (`cml_mlops.monitoring.outcome`), so an alert, a missing profile
and "no data yet" are told apart in the job's history.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from cml_mlops.cml.steps import step_command

MONITOR_STEP = ("monitor", "--no-progress")
REPORT_STEP = ("report", "--no-progress")


def run_monitor_job(*, profile: str | None = None, project_dir: Path | None = None) -> int:
    """Run `monitor`, then `report`; return monitor's exit code (the report's own failure is only logged)."""
    codes = []
    for step in (MONITOR_STEP, REPORT_STEP):
        print(f"$ cml-mlops {shlex.join(step)}", flush=True)
        command = step_command(step, profile=profile, project_dir=project_dir)
        codes.append(subprocess.run(command, check=False).returncode)
    if codes[1] != 0:
        print(f"the dashboard could not be written (exit code {codes[1]})", flush=True)
    return codes[0]

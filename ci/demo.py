"""The main job: generate the default project under build/demo/ and run its whole lifecycle on embedded defaults.

Build the lake, train, gate and deploy; send simulated traffic and monitor it; append a drifted batch and send it,
so that monitoring raises a drift alert; let the lifecycle retrain, gate and redeploy; monitor the new traffic; write
the dashboard.

`--target cml` deploys to CML instead of the local model server: to the workspace in the project's `cml:` config
and the CDSW_* variables when `cml.workspace_url` is set, else to the CML API emulator, started here (in this
process) with a throw-away API key and pointed at by the CDSW_* variables of the steps.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ci.lifecycle import REPO_ROOT, Step, StepResult, bake_project, cml, print_summary, run_steps, user_cpu

SCORE = [sys.executable, "-m", "ci.score_sample"]
EMULATOR_PROJECT = "demo-proj-0000-0001"
EMULATOR_STEP_SECONDS = 0.2  # statuses move on like a (very fast) workspace's


# Simulated traffic: 200 requests an hour, so a few seconds of real sending span many hourly windows.
TRAFFIC_START = datetime(2026, 1, 5, tzinfo=timezone.utc)
TRAFFIC_HOURS = 8
TRAFFIC_ROWS = 200 * TRAFFIC_HOURS


def _phase_start(phase: int) -> datetime:
    return TRAFFIC_START + timedelta(hours=phase * TRAFFIC_HOURS)


def _simulate(scenario: str, phase: int, target: str) -> list[str]:
    return cml(
        "simulate", "--scenario", scenario, "--target", target, "--rows", str(TRAFFIC_ROWS),
        "--start", _iso(_phase_start(phase)), "--interval-seconds", str(3600 / 200),
        "--label-share", "1.0", "--label-delay-seconds", "60", "--records-per-request", "20", "--no-progress",
    )  # fmt: skip


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _monitor(phase: int, name: str) -> list[str]:
    # The simulated range only: the server also captured the score step's and the smoke tests' rows, at real time.
    return cml(
        "monitor", "--window", "1h", "--no-progress", "--since", _iso(_phase_start(phase)),
        "--until", _iso(_phase_start(phase + 1)), "--output-dir", f"reports/monitoring/{name}",
    )  # fmt: skip


def steps(keep_serving: bool, target: str = "local") -> list[Step]:
    """The lab's lifecycle: build, deploy, serve traffic, drift, alert, retrain, redeploy, recover."""
    planned = [
        Step("download", cml("ingest", "--no-progress")),
        Step("lake", cml("lake", "load")),
        Step("validate", cml("validate")),
        Step("eda", cml("eda")),
        Step("train", cml("train", "--no-progress")),
        Step("gate", cml("gate")),
        Step("deploy", cml("deploy", "--target", target)),
        Step("score", [*SCORE, "--target", target]),
        Step("traffic", _simulate("holdout", 0, target)),
        Step("monitor", _monitor(0, "1-baseline")),
        Step("drifted batch", cml("newbatch", *DRIFT)),
        Step("drifted traffic", _simulate("batch", 1, target)),
        # Monitoring must catch the drift (exit code 1 is this step's success) and run the lifecycle: retrain on
        # the lake with the new batch, gate against the champion, redeploy (lifecycle.target).
        Step("alert, retrain", [*_monitor(1, "2-drift"), "--retrain-on-alert"], expected=1),
        Step("new traffic", _simulate("holdout", 2, target)),
        Step("monitor again", _monitor(2, "3-recovered")),
        Step(
            "dashboard",
            cml("report", "--window", "1h", "--since", _iso(TRAFFIC_START), "--until", _iso(_phase_start(3))),
        ),
    ]
    return planned if keep_serving else [*planned, Step("undeploy", cml("undeploy", "--target", target))]


# A batch whose customers differ from the training data: older, richer, reached by telephone, often after a
# successful earlier campaign.
DRIFT = [
    "--rows", "4000", "--seed", "3", "--shift", "age=2", "--shift", "balance=3",
    "--category-mix", "poutcome=success:0.5", "--category-mix", "contact=telephone:0.8",
]  # fmt: skip


@contextlib.contextmanager
def cml_workspace(project: Path, env: dict[str, str]) -> Iterator[str]:
    """The workspace the CML steps use: the configured one, else an emulator serving the project's models."""
    from cml_mlops.config import load_config

    if load_config(project, environ=env).cml.workspace_url:
        yield "the workspace in cml.workspace_url"
        return
    from cml_mlops.cml.emulator import CmlEmulator, EmulatorState
    from cml_mlops.cml.emulator.model_service import project_loader

    key = secrets.token_urlsafe(24)  # throw-away, never printed
    state = EmulatorState(step_seconds=EMULATOR_STEP_SECONDS, project_id=EMULATOR_PROJECT)
    with CmlEmulator(state, api_key=key, model_loader=project_loader(project)) as emulator:
        env.update(
            CDSW_API_URL=f"{emulator.url}/api/v1", CDSW_APIV2_KEY=key, CDSW_PROJECT_ID=EMULATOR_PROJECT,
            CML_MLOPS_CML_POLL_INTERVAL_SECONDS=str(EMULATOR_STEP_SECONDS),
        )  # fmt: skip
        yield f"the CML API emulator at {emulator.url}"


def write_timing(project: Path, results: list[StepResult], planned: int, wall: float, cpu: float) -> Path:
    """reports/main_job.json: each step's wall and user CPU seconds, and the whole job's (bake included)."""
    path = project / "reports" / "main_job.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "passed": all(r.ok for r in results) and len(results) == planned,
        "total_wall_seconds": round(wall, 3),
        "total_user_cpu_seconds": round(cpu, 3),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "cores": os.cpu_count(),
        "steps": [r.to_dict() for r in results],
        "skipped": planned - len(results),
    }
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return path


def main() -> int:
    started, cpu_before = time.perf_counter(), user_cpu()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output-dir", type=Path, default=REPO_ROOT / "build" / "demo")
    parser.add_argument("--fresh", action="store_true", help="delete the previous demo project first")
    parser.add_argument("--keep-serving", action="store_true", help="leave the model deployed at the end")
    parser.add_argument("--target", choices=("local", "cml"), default="local", help="where the model is deployed")
    parser.add_argument(
        "--engine", choices=("pyiceberg", "spark"), default="pyiceberg", help="lake engine (spark: local Spark)"
    )
    parser.add_argument(
        "--isolated", action="store_true",
        help="run every step in its own process (default: the cml-mlops steps share this one, imports paid once)",
    )  # fmt: skip
    args = parser.parse_args()
    project = bake_project(args.output_dir, fresh=args.fresh)
    print(f"generated {project}")
    env = dict(os.environ)
    # The local server requires an access key; a throw-away one for the demo, never printed.
    env.setdefault("CML_MLOPS_SERVING_ACCESS_KEY", secrets.token_urlsafe(24))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["CML_MLOPS_LIFECYCLE_TARGET"] = args.target  # where a retrained version is redeployed
    env["CML_MLOPS_LAKE_ENGINE"] = args.engine  # every step reads and writes the lake through this engine
    planned = steps(args.keep_serving, args.target)
    with contextlib.ExitStack() as stack:
        if args.target == "cml":
            where = stack.enter_context(cml_workspace(project, env))
            if args.keep_serving and "emulator" in where:
                parser.error("--keep-serving needs a CML workspace: the emulator stops with the demo")
            print(f"deploying to {where}")
        results = run_steps(project, planned, env, in_process=not args.isolated)
        if not args.keep_serving and len(results) < len(planned):
            # A step failed before the end: stop serving anyway, so that no model server outlives the job.
            run_steps(project, planned[-1:], env, in_process=not args.isolated)
    print_summary(f"Demo lifecycle of {project} (target {args.target}, engine {args.engine})", results, len(planned))
    wall, cpu = time.perf_counter() - started, user_cpu() - cpu_before
    timing = write_timing(project, results, len(planned), wall, cpu)
    print(f"main job total: {wall:.1f} s wall, {cpu:.1f} s user CPU (load average {os.getloadavg()[0]:.1f}); {timing}")
    if all(result.ok for result in results) and len(results) == len(planned):
        print(f"\nall {len(planned)} steps passed; reports under {project / 'reports'}")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())

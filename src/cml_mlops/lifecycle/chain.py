"""The automated lifecycle: new batch -> retrain (gated against the champion) -> redeploy when the gate passed.

A preflight comes first (the deployment target can deploy, there is a version to challenge), so a chain that could
not finish does not start by changing the lake. A failed gate is a normal ending: the champion keeps serving and the
summary says why. An error in a step stops the chain: the summary records the step and what state it left, and
LifecycleError carries the same message. Each step keeps its own guarantees (a refused batch leaves the table, a
failed deploy leaves the served version), so after any failure the champion is still what is served.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cml_mlops.batches import Drift, add_batch
from cml_mlops.config import ProjectConfig
from cml_mlops.deploy.base import DeploymentTarget, deploy_version, get_target
from cml_mlops.errors import CmlMlopsError
from cml_mlops.lifecycle.summary import LifecycleSummary, write_summary
from cml_mlops.registry import alias_version
from cml_mlops.retraining import RetrainResult, find_baseline, run_retrain
from cml_mlops.tracking import CHAMPION

Echo = Callable[[str], None]


class LifecycleError(CmlMlopsError):
    """A step of the lifecycle failed; the message names it and the state it left. `summary` has the details."""

    def __init__(self, message: str, summary: LifecycleSummary, summary_path: Path | None) -> None:
        super().__init__(message)
        self.summary = summary
        self.summary_path = summary_path


def run_lifecycle(
    config: ProjectConfig,
    *,
    target: str | None = None,
    new_batch: bool | None = None,
    rows: int | None = None,
    seed: int | None = None,
    noise: float | None = None,
    drift: Drift | None = None,
    force: bool = False,
    progress: bool = True,
    echo: Echo | None = None,
) -> LifecycleSummary:
    """Run the chain; unset options come from `lifecycle` and `newbatch` in the config.

    `new_batch=False` retrains on whatever arrived in the lake by other means (what scheduled retraining after a
    drift alert uses). Writes reports/lifecycle/summary.{json,md}; raises LifecycleError when a step fails.
    """
    say = echo or (lambda _text: None)
    name = target or config.lifecycle.target
    summary = LifecycleSummary(target=name)
    started = time.perf_counter()
    reports = config.path(config.reports.dir)
    step = "preflight"
    try:
        say("lifecycle: preflight (deployment target, version to challenge)")
        deployment_target = _preflight(config, name, summary)
        step = "newbatch"
        if new_batch if new_batch is not None else config.lifecycle.new_batch:
            say("lifecycle: new batch")
            _new_batch(config, summary, rows=rows, seed=seed, noise=noise, drift=drift)
        else:
            summary.record(step, "skipped", "retraining on the data already in the lake")
        step = "retrain"
        say("lifecycle: retrain and gate")
        retrained = run_retrain(config, force=force, progress=progress)
        summary.retrain, summary.new_version = retrained.to_dict(), retrained.version
        summary.record(step, "done", _retrain_detail(retrained))
        step = "deploy"
        _deploy_if_passed(config, deployment_target, retrained, summary, say)
    except CmlMlopsError as exc:
        summary.failed_step = step
        summary.end("failed", f"step {step} failed: {exc}")
        summary.record(step, "failed", str(exc))
        summary.seconds = round(time.perf_counter() - started, 3)
        path = _write_quietly(summary, reports)
        message = f"lifecycle stopped at step {step}: {str(exc).rstrip('.')}. State: {_state(summary)}"
        raise LifecycleError(message, summary, path) from exc
    summary.seconds = round(time.perf_counter() - started, 3)
    write_summary(summary, reports)
    return summary


def _preflight(config: ProjectConfig, name: str, summary: LifecycleSummary) -> DeploymentTarget:
    """The target, checked; the champion now; the version to challenge (RetrainError when there is none)."""
    champion = alias_version(config, CHAMPION)
    summary.champion_before = summary.champion_after = None if champion is None else str(champion.version)
    deployment_target = get_target(name, config)
    deployment_target.preflight()
    baseline = find_baseline(config)
    summary.record("preflight", "done", f"target {name} ready; challenging {baseline.describe()}")
    return deployment_target


def _new_batch(config: ProjectConfig, summary: LifecycleSummary, **options: Any) -> None:
    batch = add_batch(config, **options)
    assert batch.snapshot is not None  # not a dry run
    summary.batch_snapshot_id = batch.snapshot.snapshot_id
    drifted = f"drift: {batch.drift.describe()}"
    summary.record("newbatch", "done", f"{batch.rows:,} rows -> snapshot {summary.batch_snapshot_id} ({drifted})")


def _deploy_if_passed(
    config: ProjectConfig, target: DeploymentTarget, retrained: RetrainResult, summary: LifecycleSummary, say: Echo
) -> None:
    """Deploy the retrained version when its gate passed; otherwise record why the champion stays."""
    if retrained.status == "up_to_date":
        reason = f"no rows arrived since snapshot {retrained.previous_snapshot_id}, so nothing was retrained"
        summary.end("up_to_date", f"{reason}; {_serving(summary)}")
        summary.record("deploy", "skipped", "nothing new to deploy")
        return
    if not retrained.gate_passed or retrained.version is None:
        reason = f"version {retrained.version} failed its gate ({_failures(retrained)}), so it was not deployed"
        summary.end("kept_champion", f"{reason}; {_serving(summary)}")
        summary.record("deploy", "skipped", f"gate failed; report: {retrained.gate_report}")
        return
    say(f"lifecycle: deploy version {retrained.version} to {target.name}")
    deployment = deploy_version(config, target, retrained.version)
    summary.champion_after = deployment.version
    summary.end(
        "deployed", f"version {deployment.version} passed its gate and serves at {deployment.endpoint} as the champion"
    )
    summary.record("deploy", "done", f"version {deployment.version} at {deployment.endpoint}; champion -> it")


def _retrain_detail(result: RetrainResult) -> str:
    increment = f"+{result.increment_rows:,} rows since snapshot {result.previous_snapshot_id}"
    if result.gate is None:
        return f"nothing trained ({increment})"
    verdict = "passed" if result.gate.passed else "FAILED"
    against = f"champion {result.gate.champion_version}" if result.gate.champion_version else "no champion"
    return f"version {result.version} on snapshot {result.snapshot_id} ({increment}); gate {verdict} vs {against}"


def _failures(result: RetrainResult) -> str:
    checks = [] if result.gate is None else result.gate.failed_checks
    return "; ".join(f"{check.kind}: {check.name}" for check in checks) or "nothing was checked"


def _serving(summary: LifecycleSummary) -> str:
    if summary.champion_before is None:
        return "no version is deployed yet"
    return f"champion version {summary.champion_before} keeps serving"


def _state(summary: LifecycleSummary) -> str:
    """What the failed chain left behind, for the error message."""
    parts = []
    if summary.batch_snapshot_id is not None:
        parts.append(f"the new batch stays in the lake as snapshot {summary.batch_snapshot_id}")
    else:
        parts.append("the lake is unchanged")
    if summary.new_version is not None:
        parts.append(f"version {summary.new_version} is registered but not deployed")
    elif summary.failed_step == "retrain":
        parts.append("a version registered by the failed retrain has no passed gate record, so it is never deployed")
    parts.append(_serving(summary))
    return "; ".join(parts) + "."


def _write_quietly(summary: LifecycleSummary, reports: Path) -> Path | None:
    """The summary of a failed chain: best effort, so the step's own error is the one the user sees."""
    try:
        return write_summary(summary, reports)
    except CmlMlopsError:
        return None

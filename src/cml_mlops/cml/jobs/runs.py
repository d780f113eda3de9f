"""Run a CML job and follow it, then the runs of its dependent jobs (found through `parent_id`), in order.

CML starts a dependent job itself when its parent's run succeeds; this module only starts the first run and
watches. A child's new run is recognised as one that was not there before the chain started (no clock
comparisons). A run that ends in anything but ENGINE_SUCCEEDED stops its branch: the report names the job and
the dependent jobs that did not run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from cml_mlops.cml.client import CmlClient
from cml_mlops.cml.errors import CmlApiError
from cml_mlops.cml.jobs.api import JobsApi, JsonDict
from cml_mlops.cml.polling import PollSettings, PollTimeout, poll
from cml_mlops.errors import CmlMlopsError

SUCCEEDED = "ENGINE_SUCCEEDED"
FAILED_STATUSES = frozenset({"ENGINE_FAILED", "ENGINE_TIMEDOUT", "ENGINE_STOPPED", "ENGINE_SKIPPED"})
ACTIVE_STATUSES = frozenset({"ENGINE_SCHEDULING", "ENGINE_STARTING", "ENGINE_RUNNING", "ENGINE_STOPPING"})
DEFAULT_POLLING = PollSettings(interval=2.0, max_interval=30.0, timeout=3600.0)  # timeout: for the whole chain


class JobRunError(CmlMlopsError):
    """A job could not be started, or a run of the chain did not succeed."""


@dataclass(frozen=True)
class RunResult:
    name: str
    job_id: str
    run_id: str
    status: str

    @property
    def finished(self) -> bool:
        return self.status == SUCCEEDED or self.status in FAILED_STATUSES

    @property
    def ok(self) -> bool:
        return self.status == SUCCEEDED


@dataclass
class ChainReport:
    """The runs of one `run_job`, in the order they were followed, and the jobs that did not run."""

    project_id: str
    job: str
    waited: bool
    runs: list[RunResult] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)  # job -> why it did not run

    @property
    def failed(self) -> RunResult | None:
        return next((run for run in self.runs if run.status in FAILED_STATUSES), None)

    @property
    def succeeded(self) -> bool:
        return self.waited and self.failed is None and not self.not_run

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "succeeded": self.succeeded}

    def to_markdown(self) -> str:
        lines = [
            f"# Run of CML job {self.job} (project {self.project_id})",
            "",
            "| job | run | status |",
            "|---|---|---|",
        ]
        lines += [f"| {run.name} | {run.run_id} | {run.status} |" for run in self.runs]
        lines += [f"| {name} | - | did not run: {self.notes[name]} |" for name in self.not_run]
        if not self.waited:
            lines += ["", "Started without waiting: its dependent jobs start in CML when it succeeds."]
        return "\n".join(lines) + "\n"

    def raise_for_failure(self) -> None:
        failed = self.failed
        if failed is None:
            return
        message = f"job {failed.name!r} run {failed.run_id} ended {failed.status}"
        blocked = [name for name in self.not_run if self.notes[name] == _blocked_by(failed)]
        if blocked:
            message += f"; the jobs that depend on it did not run: {', '.join(blocked)}"
        raise JobRunError(message)


def _blocked_by(result: RunResult) -> str:
    return f"{result.name} ended {result.status}"


StatusCallback = Callable[[RunResult], None]


@dataclass(frozen=True)
class _Clock:
    """The chain's one deadline, shared by every wait in it."""

    settings: PollSettings
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    end: float

    def wait(self, read: Callable[[], JsonDict], what: str, final: set[str]) -> JsonDict:
        remaining = self.end - self.clock()
        if remaining <= 0:
            raise PollTimeout(f"{what}: not waited for, the {self.settings.timeout:g} s of the chain are over", None)
        settings = PollSettings(self.settings.interval, self.settings.max_interval, remaining)
        return poll(read, what=what, final=final, settings=settings, clock=self.clock, sleep=self.sleep)


class _Chain:
    def __init__(self, client: JobsApi, project_id: str, on_status: StatusCallback | None, report: ChainReport) -> None:
        self.client, self.project_id = client, project_id
        self.on_status = on_status or (lambda result: None)
        self.report = report
        self.jobs: list[JsonDict] = []
        self.before: dict[str, str | None] = {}  # job id -> newest run id before the chain started

    def load(self, name: str) -> JsonDict:
        self.jobs = list(CmlClient.iterate(self.client.list_jobs, self.project_id, page_size=100))
        matches = [job for job in self.jobs if job["name"] == name]
        if not matches:
            raise JobRunError(
                f"no job named {name!r} in project {self.project_id}: run `cml-mlops cml sync-jobs` first"
            )
        if len(matches) > 1:
            raise JobRunError(f"{len(matches)} jobs named {name!r} in project {self.project_id}: delete the extras")
        return matches[0]

    def children(self, job: JsonDict) -> list[JsonDict]:
        found = [child for child in self.jobs if child.get("parent_id") == job["id"]]
        return sorted(found, key=lambda child: (child.get("created_at") or "", child["name"]))

    def subtree(self, job: JsonDict) -> list[JsonDict]:
        found = []
        for child in self.children(job):
            found += [child, *self.subtree(child)]
        return found

    def newest_run(self, job: JsonDict) -> JsonDict | None:
        page = self.client.list_job_runs(self.project_id, job["id"], sort="-created_at", page_size=1)
        runs = page.get("job_runs") or []
        return runs[0] if runs else None

    def check_idle(self, jobs: list[JsonDict]) -> None:
        """Remember each job's newest run, refusing to start when one is still active (CML allows one)."""
        for job in jobs:
            newest = self.newest_run(job)
            if newest is not None and newest.get("status") in ACTIVE_STATUSES:
                raise JobRunError(
                    f"job {job['name']!r} already has an active run ({newest['id']}, {newest['status']}): "
                    "wait for it to finish or stop it in CML, then run again"
                )
            self.before[job["id"]] = newest["id"] if newest else None

    def result(self, job: JsonDict, run: JsonDict) -> RunResult:
        return RunResult(job["name"], job["id"], run["id"], str(run.get("status") or "ENGINE_UNKNOWN"))

    def follow(self, job: JsonDict, run: JsonDict, clock: _Clock) -> None:
        result = self.wait_finished(job, run, clock)
        self.report.runs.append(result)
        if not result.ok:
            self.skip(self.subtree(job), _blocked_by(result))
            return
        for child in self.children(job):
            if child.get("paused"):
                self.skip([child, *self.subtree(child)], f"{child['name']} is paused in CML")
                continue
            self.follow(child, self.wait_started(child, clock), clock)

    def skip(self, jobs: list[JsonDict], why: str) -> None:
        for job in jobs:
            self.report.not_run.append(job["name"])
            self.report.notes[job["name"]] = why

    def wait_finished(self, job: JsonDict, run: JsonDict, clock: _Clock) -> RunResult:
        seen = [self.result(job, run)]
        self.on_status(seen[0])

        def read() -> JsonDict:
            latest = self.client.get_job_run(self.project_id, job["id"], run["id"])
            result = self.result(job, latest)
            if result.status != seen[-1].status:
                seen.append(result)
                self.on_status(result)
            return latest

        if not seen[0].finished:
            final = {SUCCEEDED, *FAILED_STATUSES}
            clock.wait(read, f"job {job['name']!r} run {run['id']}", final)
        return seen[-1]

    def wait_started(self, job: JsonDict, clock: _Clock) -> JsonDict:
        """The run CML started for `job` after its parent succeeded: one that was not there before."""

        def read() -> JsonDict:
            newest = self.newest_run(job)
            if newest is not None and newest["id"] != self.before.get(job["id"]):
                return {"status": "started", "run": newest}
            return {"status": "not started"}

        return dict(clock.wait(read, f"job {job['name']!r} (to start after its parent)", {"started"})["run"])


def run_job(
    client: JobsApi,
    project_id: str,
    name: str,
    *,
    wait: bool = True,
    polling: PollSettings = DEFAULT_POLLING,
    on_status: StatusCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ChainReport:
    """Start job `name`; with `wait`, follow it and its dependent jobs to their end.

    `polling.timeout` bounds the whole chain (PollTimeout past it; the runs go on in CML). A run that fails
    does not raise: the report says so (`failed`, `not_run`, `raise_for_failure()`).
    """
    report = ChainReport(project_id=project_id, job=name, waited=wait)
    chain = _Chain(client, project_id, on_status, report)
    try:
        job = chain.load(name)
        chain.check_idle([job, *chain.subtree(job)])
        run = client.create_job_run({"project_id": project_id, "job_id": job["id"]}, project_id, job["id"])
        if not wait:
            result = chain.result(job, run)
            chain.on_status(result)
            report.runs.append(result)
            return report
        chain.follow(job, run, _Clock(polling, clock, sleep, clock() + polling.timeout))
    except PollTimeout as exc:
        done = ", ".join(f"{r.name} {r.status}" for r in report.runs) or "none"
        raise PollTimeout(f"{exc}; finished before: {done}; the runs go on in CML", exc.last) from None
    except CmlApiError as exc:
        raise JobRunError(f"run of job {name!r} in project {project_id}: {exc}") from None
    return report

"""Make a CML project's jobs match the spec file: create what is missing, update what differs, nothing else.

Idempotent: a second sync sends no write. Jobs are matched by exact name (the API's name filter matches
"contains", so the sync lists every job and compares names itself). Jobs of the project that the file does not
name are left alone and listed. Parents are created before their children so that `parent_id` can be set.
Only the fields the spec manages are compared and sent; `paused` and everything else stays as set in CML.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from cml_mlops.cml.client import CmlClient
from cml_mlops.cml.errors import CmlApiError
from cml_mlops.cml.jobs.api import JobsApi, JsonDict
from cml_mlops.cml.jobs.spec import JobSpec, JobsSpec
from cml_mlops.errors import CmlMlopsError

Action = Literal["create", "update", "unchanged"]
PAST = {"create": "created", "update": "updated", "unchanged": "unchanged"}
FUTURE = {"create": "would create", "update": "would update", "unchanged": "unchanged"}


class JobSyncError(CmlMlopsError):
    """The project's jobs could not be listed or changed; says what was already applied."""


@dataclass(frozen=True)
class JobSync:
    """What the sync did (or, in a dry run, would do) to one job; `changes` maps a field to [current, wanted]."""

    name: str
    action: Action
    job_id: str | None
    changes: dict[str, list[Any]] = field(default_factory=dict)
    summary: str = ""


@dataclass
class SyncReport:
    project_id: str
    dry_run: bool
    jobs: list[JobSync] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)  # jobs of the project that the file does not name

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_markdown(self) -> str:
        words = FUTURE if self.dry_run else PAST
        title = f"# CML jobs of project {self.project_id}" + (" (dry run: nothing changed)" if self.dry_run else "")
        lines = [title, "", "| job | action | details |", "|---|---|---|"]
        for job in self.jobs:
            details = job.summary or ", ".join(
                f"{k}: {_show(old)} -> {_show(new)}" for k, (old, new) in job.changes.items()
            )
            lines.append(f"| {job.name} | {words[job.action]} | {details} |")
        if self.unmanaged:
            lines += ["", f"Not in the spec file, left alone: {', '.join(self.unmanaged)}"]
        return "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    if value in ("", None, {}):
        return "(none)"
    return json.dumps(value) if isinstance(value, dict) else str(value)


def _wanted(job: JobSpec, parent_id: str) -> dict[str, Any]:
    """The managed fields of `job` as the API takes them."""
    fields: dict[str, Any] = {
        "script": job.script,
        "arguments": job.arguments,
        "runtime_identifier": job.runtime_identifier,
        "runtime_addon_identifiers": list(job.runtime_addon_identifiers),
        "cpu": job.cpu,
        "memory": job.memory,
        "nvidia_gpu": job.nvidia_gpu,
        "timeout": job.timeout,
        "kill_on_timeout": job.kill_on_timeout,
        "environment": dict(job.environment),
        "schedule": job.schedule or "",
        "parent_id": parent_id,
    }
    if job.schedule:
        fields["timezone"] = job.timezone  # only meaningful, and only compared, for scheduled jobs
    return fields


def _current(job: JsonDict) -> dict[str, Any]:
    """The managed fields of an API job, normalised (int64 as text, environment as a JSON string)."""
    environment = job.get("environment") or "{}"
    return {
        "script": job.get("script") or "",
        "arguments": job.get("arguments") or "",
        "runtime_identifier": job.get("runtime_identifier") or "",
        "runtime_addon_identifiers": list(job.get("runtime_addon_identifiers") or []),
        "cpu": float(job.get("cpu") or 0),
        "memory": float(job.get("memory") or 0),
        "nvidia_gpu": int(job.get("nvidia_gpu") or 0),
        "timeout": int(job.get("timeout") or 0),
        "kill_on_timeout": bool(job.get("kill_on_timeout")),
        "environment": json.loads(environment) if isinstance(environment, str) else dict(environment),
        "schedule": job.get("schedule") or "",
        "parent_id": job.get("parent_id") or "",
        "timezone": job.get("timezone") or "",
    }


def _same(old: Any, new: Any) -> bool:
    if isinstance(new, float) and isinstance(old, (int, float)):
        return math.isclose(old, new, rel_tol=1e-9)
    return bool(old == new)


class _Sync:
    def __init__(self, client: JobsApi, project_id: str, spec: JobsSpec, dry_run: bool) -> None:
        self.client, self.project_id, self.spec, self.dry_run = client, project_id, spec, dry_run
        self.report = SyncReport(project_id=project_id, dry_run=dry_run)
        self.ids: dict[str, str | None] = {}  # job name -> id (None: to be created in a dry run)
        self.names_by_id: dict[str, str] = {}

    def run(self) -> SyncReport:
        existing = self._existing()
        for job in self.spec.in_dependency_order():
            try:
                self.report.jobs.append(self._sync_one(job, existing.get(job.name)))
            except CmlApiError as exc:
                raise JobSyncError(f"job {job.name!r}: {exc}; {self._applied()}") from None
        return self.report

    def _existing(self) -> dict[str, JsonDict]:
        try:
            jobs = list(CmlClient.iterate(self.client.list_jobs, self.project_id, page_size=100))
        except CmlApiError as exc:
            raise JobSyncError(f"cannot list the jobs of project {self.project_id!r}: {exc}") from None
        counts = Counter(job["name"] for job in jobs)
        wanted = {job.name for job in self.spec.jobs}
        doubled = sorted(name for name in wanted if counts[name] > 1)
        if doubled:
            raise JobSyncError(
                "; ".join(f"{counts[n]} jobs named {n!r} in project {self.project_id}" for n in doubled)
                + ": delete the extra ones in CML, then sync again (nothing was changed)"
            )
        self.names_by_id = {job["id"]: job["name"] for job in jobs}
        self.report.unmanaged = sorted({job["name"] for job in jobs} - wanted)
        return {job["name"]: job for job in jobs if job["name"] in wanted}

    def _parent_name(self, parent_id: str) -> str:
        if not parent_id:
            return ""
        return self.names_by_id.get(parent_id, f"(deleted job {parent_id})")

    def _sync_one(self, job: JobSpec, found: JsonDict | None) -> JobSync:
        parent_id = ""
        if job.parent is not None:
            parent_id = self.ids[job.parent] or f"(new job {job.parent})"
        wanted = _wanted(job, parent_id)
        if found is None:
            return self._create(job, wanted)
        current = _current(found)
        changes: dict[str, list[Any]] = {}
        for key, value in wanted.items():
            if not _same(current.get(key), value):
                if key == "parent_id":
                    changes["parent"] = [self._parent_name(current[key]), job.parent or ""]
                else:
                    changes[key] = [current.get(key), value]
        self.ids[job.name] = found["id"]
        if not changes:
            return JobSync(job.name, "unchanged", found["id"])
        if not self.dry_run:
            api_keys = ["parent_id" if key == "parent" else key for key in changes]
            self.client.update_job({key: wanted[key] for key in api_keys}, self.project_id, found["id"])
        return JobSync(job.name, "update", found["id"], changes)

    def _create(self, job: JobSpec, wanted: dict[str, Any]) -> JobSync:
        summary = f"script {job.script}, " + (
            f"parent {job.parent}"
            if job.parent
            else f"schedule {job.schedule} ({job.timezone})"
            if job.schedule
            else "manual"
        )
        if self.dry_run:
            self.ids[job.name] = None
            return JobSync(job.name, "create", None, summary=summary)
        body = {key: value for key, value in wanted.items() if value not in ("", None)}
        body.update(project_id=self.project_id, name=job.name)
        created = self.client.create_job(body, self.project_id)
        self.ids[job.name] = created["id"]
        self.names_by_id[created["id"]] = job.name
        return JobSync(job.name, "create", created["id"], summary=summary)

    def _applied(self) -> str:
        done = [f"{PAST[j.action]} {j.name}" for j in self.report.jobs if j.action != "unchanged"]
        if not done:
            return "nothing was changed"
        return f"already applied: {', '.join(done)}; run the sync again to finish (it continues from there)"


def sync_jobs(client: JobsApi, project_id: str, spec: JobsSpec, *, dry_run: bool = False) -> SyncReport:
    """Create or update the project's jobs to match `spec` (in a dry run, only report what would change)."""
    return _Sync(client, project_id, spec, dry_run).run()

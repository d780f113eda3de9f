"""In-memory CML workspace: the objects behind the emulated API v2 and their status lifecycles.

Each operation method is named after its `cmlapi` method and takes (path params, query, body) -> JSON dict.
Statuses advance lazily when an object is read: with `step_seconds == 0` every read moves it one step
(so tests never sleep); otherwise one step per `step_seconds` of elapsed time.
"""

from __future__ import annotations

import functools
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cml_mlops.json_types import JsonDict

DEFAULT_PAGE_SIZE = 10
REGION_CRN = "crn:cdp:ml:us-west-1:00000000-0000-0000-0000-000000000000:workspace:11111111-1111-1111-1111-111111111111"

# gRPC codes of the runtimeError body, by HTTP status (grpc-gateway's standard mapping).
GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 500: 13, 503: 14}

BUILD_OK = ("pending", "pushing", "built")
BUILD_FAIL = ("pending", "build failed")
DEPLOY_OK = ("deploying", "deployed")
DEPLOY_STUCK = ("deploying",)  # fault: never becomes ready
RUN_OK = ("ENGINE_STARTING", "ENGINE_RUNNING", "ENGINE_SUCCEEDED")
RUN_FAIL = ("ENGINE_STARTING", "ENGINE_RUNNING", "ENGINE_FAILED")
DEPLOY_ACTIVE = frozenset({"pending", "deploying", "deployed", "stopping"})
RUN_ACTIVE = frozenset({"ENGINE_SCHEDULING", "ENGINE_STARTING", "ENGINE_RUNNING", "ENGINE_STOPPING"})

USER = {"username": "emulator", "name": "CML Emulator", "email": "emulator@example.invalid"}
RUNTIME_REPO = "docker.repository.cloudera.com/cloudera/cdsw"
RUNTIMES = [
    {
        "image_identifier": f"{RUNTIME_REPO}/ml-runtime-pbj-{editor}-python{v}-standard:2025.06.1-b5",
        "editor": "Workbench" if editor == "workbench" else "JupyterLab",
        "kernel": f"Python {v}",
        "edition": "Standard",
        "description": "Standard edition Python runtime",
        "full_version": "2025.06.1-b5",
        "status": "ENABLED",
        "register_user_id": 0,
    }
    for editor in ("workbench", "jupyterlab")
    for v in ("3.10", "3.11", "3.12")
]


class ApiFault(Exception):
    """An API error the server turns into a runtimeError body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> JsonDict:
        return {"error": self.message, "code": GRPC_CODES.get(self.status, 2), "message": self.message, "details": []}


@dataclass
class Faults:
    """Failures to inject; operations are named by their `cmlapi` method names."""

    rate_limited: dict[str, int] = field(default_factory=dict)  # op -> its first N calls answer 429
    retry_after: float = 1.0  # Retry-After seconds sent with those 429s
    failing_calls: dict[str, dict[int, int]] = field(default_factory=dict)  # op -> {call number: HTTP status}
    slow: dict[str, float] = field(default_factory=dict)  # op (or "*") -> seconds to wait before answering
    failing_builds: int = 0  # the next N builds end in "build failed"
    stuck_deployments: int = 0  # the next N deployments stay "deploying" forever
    failing_jobs: set[str] = field(default_factory=set)  # runs of jobs with these names end ENGINE_FAILED
    dropped_calls: dict[str, set[int]] = field(default_factory=dict)  # op -> call numbers closed unanswered
    # op -> {call number: HTTP status}: the call takes effect, then answers 5xx (a lost response; retried creates
    # then make duplicates unless the caller looks first)
    failing_after_apply: dict[str, dict[int, int]] = field(default_factory=dict)


@dataclass
class _EmulatedProgress:
    kind: str
    obj: JsonDict
    pending: list[str]
    changed: float


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _short_id() -> str:
    # Projects, jobs, runs and registered models look like k9yi-cww6-iw3w-buq0.
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def _lookup(obj: JsonDict, dotted: str) -> Any:
    value: Any = obj
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _matches(obj: JsonDict, filters: JsonDict, aliases: dict[str, str]) -> bool:
    for key, want in filters.items():
        have = _lookup(obj, aliases.get(key, key))
        if have is None:
            return False
        if isinstance(have, str) and isinstance(want, str):
            if want not in have:  # text keys match by "contains"
                return False
        elif str(have).lower() != str(want).lower():
            return False
    return True


def _sort_key(item: JsonDict, name: str) -> tuple[int, float, str]:
    value = _lookup(item, name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")  # numbers sort numerically (version numbers past 9)
    return (1, 0.0, "" if value is None else str(value))


def _int(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiFault(400, f"invalid {name}: {raw!r}") from exc
    if value < 0:
        raise ApiFault(400, f"invalid {name}: {raw!r}")
    return value


def _float(body: JsonDict, name: str, default: float) -> float:
    try:
        return float(body.get(name, default))
    except (TypeError, ValueError) as exc:
        raise ApiFault(400, f"invalid {name}: {body.get(name)!r}") from exc


def paginate(items: list[JsonDict], query: dict[str, str], key: str, aliases: dict[str, str] | None = None) -> JsonDict:
    """Filter, sort and cut one page like the API: `<key>` array + `next_page_token` ("" when done)."""
    raw_filter = query.get("search_filter", "")
    filters: Any = {}
    if raw_filter:
        try:
            filters = json.loads(raw_filter)
        except ValueError as exc:
            raise ApiFault(400, f"search_filter is not valid JSON: {raw_filter!r}") from exc
        if not isinstance(filters, dict):
            raise ApiFault(400, "search_filter must be a JSON object")
    selected = [item for item in items if _matches(item, filters, aliases or {})]
    for spec in reversed([s.strip() for s in query.get("sort", "").split(",") if s.strip()]):
        name = spec.lstrip("+-")
        name = (aliases or {}).get(name, name)
        selected.sort(key=functools.partial(_sort_key, name=name), reverse=spec.startswith("-"))
    size = _int(query, "page_size", DEFAULT_PAGE_SIZE) or DEFAULT_PAGE_SIZE
    start = _int(query, "page_token", 0)
    end = start + size
    return {key: selected[start:end], "next_page_token": str(end) if end < len(selected) else ""}


class EmulatorState:
    """Objects of one emulated workspace; every public operation holds the lock."""

    def __init__(
        self,
        *,
        step_seconds: float = 0.0,
        faults: Faults | None = None,
        project_id: str = "emul-ator-proj-0001",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.step_seconds = step_seconds
        self.faults = faults or Faults()
        self.clock = clock
        self.lock = threading.RLock()
        self.projects: dict[str, JsonDict] = {}
        self.registered: dict[str, JsonDict] = {}  # model_id -> RegisteredModel without versions
        self.versions: dict[str, list[JsonDict]] = {}  # model_id -> versions, oldest first
        self.models: dict[str, JsonDict] = {}
        self.builds: dict[str, JsonDict] = {}
        self.deployments: dict[str, JsonDict] = {}
        self.jobs: dict[str, JsonDict] = {}
        self.runs: dict[str, JsonDict] = {}
        self._progress: dict[str, _EmulatedProgress] = {}
        self.add_project(project_id, "emulated-project")

    # -- helpers ---------------------------------------------------------------------------------------------

    def add_project(self, project_id: str, name: str, description: str = "") -> JsonDict:
        now = _now()
        project = {
            "id": project_id,
            "name": name,
            "owner": USER,
            "creator": USER,
            "description": description,
            "visibility": "private",
            "default_engine_type": "ml_runtime",
            "created_at": now,
            "updated_at": now,
            "creation_status": "success",
            "permissions": {"admin": True, "business_user": True, "inherit": False, "operator": True, "read": True},
            "shared_memory_limit": 0,
            "environment": "{}",
            "slug": f"emulator/{name}",
        }
        self.projects[project_id] = project
        return project

    def _track(self, kind: str, obj: JsonDict, pending: tuple[str, ...]) -> None:
        self._progress[obj["id"]] = _EmulatedProgress(kind, obj, list(pending), self.clock())

    def advance(self, obj: JsonDict) -> JsonDict:
        """Move `obj` along its lifecycle (one step per read, or per elapsed `step_seconds`)."""
        progress = self._progress.get(obj.get("id", ""))
        if progress is None:
            return obj
        steps = 1
        if self.step_seconds > 0:
            steps = int((self.clock() - progress.changed) // self.step_seconds)
        for _ in range(steps):
            if not progress.pending:
                break
            obj["status"] = progress.pending.pop(0)
            obj["updated_at"] = _now()
            progress.changed = progress.changed + self.step_seconds if self.step_seconds > 0 else self.clock()
            self._on_status(progress.kind, obj)
        return obj

    def _on_status(self, kind: str, obj: JsonDict) -> None:
        status, now = obj["status"], _now()
        if kind == "build" and status == "built":
            obj["built_at"] = now
            config = obj.pop("_auto_deploy", None)
            if config is not None:
                self._new_deployment(config, obj)
        elif kind == "deployment" and status == "stopped":
            obj["stopped_at"] = now
        elif kind == "run":
            stamp = {"ENGINE_STARTING": "starting_at", "ENGINE_RUNNING": "running_at"}.get(status, "finished_at")
            obj[stamp] = now
            if status == "ENGINE_SUCCEEDED":
                # Dependent jobs start when their parent's run succeeds.
                for child in list(self.jobs.values()):
                    if (
                        child.get("parent_id") == obj["job_id"]
                        and not child["paused"]  # a paused job is not triggered
                        and not self._active_run(child["id"])
                    ):
                        self._new_run(child, {})

    def _project(self, params: dict[str, str]) -> JsonDict:
        project = self.projects.get(params["project_id"])
        if project is None:
            raise ApiFault(404, f"project not found: {params['project_id']}")
        return project

    @staticmethod
    def _get(table: dict[str, JsonDict], key: str, what: str, **owner: str) -> JsonDict:
        obj = table.get(key)
        if obj is None or any(obj.get(k) != v for k, v in owner.items()):
            raise ApiFault(404, f"{what} not found: {key}")
        return obj

    @staticmethod
    def public(obj: JsonDict) -> JsonDict:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _list(self, objs: list[JsonDict], query: dict[str, str], key: str, **kw: Any) -> JsonDict:
        page = paginate([self.advance(o) for o in objs], query, key, **kw)
        page[key] = [self.public(o) for o in page[key]]
        return page

    # -- projects and runtimes -------------------------------------------------------------------------------

    def list_projects(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        return self._list(list(self.projects.values()), query, "projects")

    def get_project(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        return self._project(params)

    def list_runtimes(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        return self._list([dict(r) for r in RUNTIMES], query, "runtimes")

    # -- model registry --------------------------------------------------------------------------------------

    def _registered_view(self, model: JsonDict, versions: list[JsonDict]) -> JsonDict:
        return {**model, "count": len(self.versions[model["model_id"]]), "model_versions": versions}

    def create_registered_model(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        name = str(body.get("model_name") or "")
        if not name:
            raise ApiFault(400, "model_name is required")
        if body.get("project_id") and body["project_id"] not in self.projects:
            raise ApiFault(404, f"project not found: {body['project_id']}")
        now = _now()
        model = next((m for m in self.registered.values() if m["name"] == name), None)
        if model is None:  # an existing name gets a new version instead
            model_id = _short_id()
            model = {
                "model_id": model_id,
                "name": name,
                "description": body.get("description", ""),
                "owner": USER,
                "permission": "OWNER",
                "visibility": body.get("visibility", "PRIVATE"),
                "created_at": now,
                "updated_at": now,
            }
            self.registered[model_id] = model
            self.versions[model_id] = []
        versions = self.versions[model["model_id"]]
        number = len(versions) + 1
        versions.append(
            {
                "model_id": model["model_id"],
                "model_version_id": _short_id(),
                "version_name": f"{name}-v{number}",
                "number": number,
                "notes": body.get("notes", ""),
                "user": USER,
                "created_at": now,
                "updated_at": now,
                "status": "REGISTERED",  # real values UNCONFIRMED
                "model_version_metadata": {
                    "mlops_type": "MLFLOW",
                    "project_id": body.get("project_id", ""),
                    "model_path": body.get("model_path", ""),
                    "mlflow_metadata": {
                        "experiment_id": body.get("experiment_id", ""),
                        "run_id": body.get("run_id", ""),
                        "metrics": [],
                        "params": [],
                        "tags": [],
                    },
                },
                "tags": list(body.get("tags") or []),
                "error_message": "",
            }
        )
        model["updated_at"] = now
        return self._registered_view(model, list(reversed(versions)))  # newest first, as public code assumes

    def list_registered_models(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        views = [{**m, "count": len(self.versions[m["model_id"]])} for m in self.registered.values()]
        return self._list(views, query, "models", aliases={"model_name": "name"})

    def get_registered_model(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        model = self._get(self.registered, params["model_id"], "registered model")
        newest_first = list(reversed(self.versions[model["model_id"]]))
        page = paginate(newest_first, query, "model_versions", aliases={"version_number": "number"})
        return {**self._registered_view(model, page["model_versions"]), "next_page_token": page["next_page_token"]}

    def get_registered_model_version(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        model = self._get(self.registered, params["model_id"], "registered model")
        for version in self.versions[model["model_id"]]:
            if version["model_version_id"] == params["version_id"]:
                return version
        raise ApiFault(404, f"registered model version not found: {params['version_id']}")

    def delete_registered_model_version(
        self, params: dict[str, str], query: dict[str, str], body: JsonDict
    ) -> JsonDict:
        version = self.get_registered_model_version(params, query, body)
        version_id = version["model_version_id"]
        users = [b["id"] for b in self.builds.values() if b["registered_model_version_id"] == version_id]
        if users:  # real semantics UNCONFIRMED; refusing keeps the emulator from serving a deleted version
            raise ApiFault(400, f"registered model version {params['version_id']} is used by model builds {users}")
        self.versions[version["model_id"]].remove(version)
        return {}

    def _find_version(self, version_id: str) -> JsonDict | None:
        return next((v for vs in self.versions.values() for v in vs if v["model_version_id"] == version_id), None)

    # -- models ----------------------------------------------------------------------------------------------

    def create_model(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        project = self._project(params)
        if not body.get("name"):
            raise ApiFault(400, "name is required")
        registered_id = body.get("registered_model_id", "")
        if registered_id and registered_id not in self.registered:
            raise ApiFault(404, f"registered model not found: {registered_id}")
        model_id, now = str(uuid.uuid4()), _now()
        model = {
            "id": model_id,
            "name": body["name"],
            "description": body.get("description", ""),
            "creator": USER,
            "access_key": "m" + secrets.token_hex(16),
            "deletion_status": "",
            "created_at": now,
            "updated_at": now,
            "crn": f"{REGION_CRN}/{model_id}",
            "auth_enabled": not bool(body.get("disable_authentication", False)),
            "project": {
                "public_identifier": project["id"],
                "name": project["name"],
                "default_project_engine": project["default_engine_type"],
                "slug": project["slug"],
            },
            "registered_model_id": registered_id,
            "visibility": body.get("visibility", "private"),
            "default_resources": {"cpu_millicores": "1000", "memory_mb": "2048", "nvidia_gpus": "0"},
            "default_replication_policy": {"type": "fixed", "num_replicas": "1"},
            "run_as": int(body.get("run_as") or 0),
            "_project_id": project["id"],
        }
        self.models[model_id] = model
        return self.public(model)

    def _refuse_active_deployments(self, what: str, deployments: list[JsonDict]) -> None:
        # The current status, not advanced: a check must not move deployments along.
        active = [d["id"] for d in deployments if d["status"] in DEPLOY_ACTIVE]
        if active:
            raise ApiFault(400, f"{what} has active deployments {active}: stop them first")

    def _forget(self, table: dict[str, JsonDict], ids: list[str]) -> None:
        for object_id in ids:
            table.pop(object_id, None)
            self._progress.pop(object_id, None)

    def delete_model(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        model = self.get_model(params, query, body)
        deployments = [d for d in self.deployments.values() if d["model_id"] == model["id"]]
        self._refuse_active_deployments(f"model {model['id']}", deployments)
        self._forget(self.deployments, [d["id"] for d in deployments])
        self._forget(self.builds, [b["id"] for b in self.builds.values() if b["model_id"] == model["id"]])
        self._forget(self.models, [model["id"]])
        return {}

    def list_models(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        self._project(params)
        mine = [m for m in self.models.values() if m["_project_id"] == params["project_id"]]
        return self._list(mine, query, "models")

    def get_model(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        self._project(params)
        return self.public(self._get(self.models, params["model_id"], "model", _project_id=params["project_id"]))

    # -- builds ----------------------------------------------------------------------------------------------

    def create_model_build(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        self.get_model(params, query, body)
        if not (body.get("runtime_identifier") or body.get("kernel")):
            raise ApiFault(400, "runtime_identifier is required for ML Runtime projects")
        version_id = body.get("registered_model_version_id", "")
        if version_id:
            if self._find_version(version_id) is None:
                raise ApiFault(404, f"registered model version not found: {version_id}")
        elif not (body.get("file_path") and body.get("function_name")):
            raise ApiFault(400, "file_path and function_name are required unless registered_model_version_id is set")
        build_id, now = str(uuid.uuid4()), _now()
        build = {
            "id": build_id,
            "model_id": params["model_id"],
            "creator": USER,
            "comment": body.get("comment", ""),
            "file_path": body.get("file_path", ""),
            "function_name": body.get("function_name", ""),
            "engine_image": "",
            "kernel": body.get("kernel", ""),
            "created_at": now,
            "updated_at": now,
            "status": "queued",
            "deletion_status": "",
            "crn": f"{REGION_CRN}/{build_id}",
            "built_at": "",
            "runtime_identifier": body.get("runtime_identifier", ""),
            "runtime_addon_identifiers": list(body.get("runtime_addon_identifiers") or []),
            "registered_model_version_id": version_id,
            "model_root_dir": body.get("model_root_dir", ""),
            "build_script_path": body.get("build_script_path", ""),
            "_project_id": params["project_id"],
        }
        if body.get("auto_deploy_model"):
            build["_auto_deploy"] = dict(body.get("auto_deployment_config") or {})
        failing = self.faults.failing_builds > 0
        self.faults.failing_builds -= int(failing)
        self.builds[build_id] = build
        self._track("build", build, BUILD_FAIL if failing else BUILD_OK)
        return self.public(build)

    def _build(self, params: dict[str, str]) -> JsonDict:
        self.get_model(params, {}, {})
        return self._get(self.builds, params["build_id"], "model build", model_id=params["model_id"])

    def list_model_builds(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        self.get_model(params, query, body)
        mine = [b for b in self.builds.values() if b["model_id"] == params["model_id"]]
        return self._list(mine, query, "model_builds")

    def get_model_build(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        return self.public(self.advance(self._build(params)))

    def delete_model_build(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        build = self._build(params)
        deployments = [d for d in self.deployments.values() if d["build_id"] == build["id"]]
        self._refuse_active_deployments(f"model build {build['id']}", deployments)
        self._forget(self.deployments, [d["id"] for d in deployments])
        self._forget(self.builds, [build["id"]])
        return {}

    # -- deployments -----------------------------------------------------------------------------------------

    def _new_deployment(self, body: JsonDict, build: JsonDict) -> JsonDict:
        deployment_id, now = str(uuid.uuid4()), _now()
        environment = body.get("environment") or {}
        if not isinstance(environment, dict):
            raise ApiFault(400, "environment must be an object of strings")
        deployment = {
            "project_id": build["_project_id"],
            "model_id": build["model_id"],
            "build_id": build["id"],
            "id": deployment_id,
            "cpu": _float(body, "cpu", 1.0),
            "memory": _float(body, "memory", 2.0),
            "nvidia_gpu": int(body.get("nvidia_gpus") or 0),
            "environment": json.dumps(environment),  # a JSON string in responses
            "created_at": now,
            "updated_at": now,
            "stopped_at": "",
            "crn": f"{REGION_CRN}/{deployment_id}",
            "deployer": USER,
            "status": "pending",
            "replicas": int(body.get("replicas") or 1),
            "_secrets": _secrets(body),  # write-only: mounted into the replica, never returned
        }
        stuck = self.faults.stuck_deployments > 0
        self.faults.stuck_deployments -= int(stuck)
        self.deployments[deployment_id] = deployment
        self._track("deployment", deployment, DEPLOY_STUCK if stuck else DEPLOY_OK)
        return deployment

    def create_model_deployment(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        build = self._build(params)
        if build["status"] != "built":
            raise ApiFault(400, f"model build {build['id']} is not built (status {build['status']!r})")
        return self._new_deployment(body, build)

    def _deployment(self, params: dict[str, str]) -> JsonDict:
        self._build(params)
        deployment_id = params["deployment_id"]
        return self.advance(self._get(self.deployments, deployment_id, "model deployment", build_id=params["build_id"]))

    def list_model_deployments(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        self._build(params)
        mine = [d for d in self.deployments.values() if d["build_id"] == params["build_id"]]
        return self._list(mine, query, "model_deployments")

    def get_model_deployment(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        return self._deployment(params)

    def stop_model_deployment(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        deployment = self._deployment(params)
        if deployment["status"] not in ("stopping", "stopped", "failed"):
            deployment["status"], deployment["updated_at"] = "stopping", _now()
            self._track("deployment", deployment, ("stopped",))
        return deployment

    def restart_model_deployment(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        deployment = self._deployment(params)
        deployment.update(status="pending", updated_at=_now(), stopped_at="")
        self._track("deployment", deployment, DEPLOY_OK)
        return deployment

    # -- jobs ------------------------------------------------------------------------------------------------

    def _job_fields(self, job: JsonDict, body: JsonDict) -> None:
        if "environment" in body:
            if not isinstance(body["environment"], dict):
                raise ApiFault(400, "environment must be an object of strings")
            job["environment"] = json.dumps(body["environment"])
        for name in ("cpu", "memory"):
            if name in body:
                job[name] = _float(body, name, 1.0)
        if "timeout" in body:
            job["timeout"] = str(int(body["timeout"] or 0))  # int64 -> string
        for name in (
            "name",
            "script",
            "arguments",
            "kernel",
            "runtime_identifier",
            "paused",
            "kill_on_timeout",
            "timezone",
        ):
            if name in body:
                job[name] = body[name]
        if "nvidia_gpu" in body:
            job["nvidia_gpu"] = int(body["nvidia_gpu"] or 0)
        if "runtime_addon_identifiers" in body:
            job["runtime_addon_identifiers"] = [str(a) for a in body["runtime_addon_identifiers"] or []]
        parent = body.get("parent_id") or body.get("parent_job_id")
        if "parent_id" in body or "parent_job_id" in body:
            if parent and (parent == job["id"] or parent not in self.jobs):
                raise ApiFault(400, f"invalid parent job: {parent}")
            job["parent_id"] = parent or ""
        if "schedule" in body:
            job["schedule"] = body["schedule"] or ""
        if job["parent_id"] and job["schedule"]:
            raise ApiFault(400, "a job cannot have both a schedule and a parent job")
        job["type"] = "dependent" if job["parent_id"] else "cron" if job["schedule"] else "manual"

    def create_job(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        project = self._project(params)
        if not body.get("name") or not body.get("script"):
            raise ApiFault(400, "name and script are required")
        now = _now()
        job: JsonDict = {
            "id": _short_id(),
            "name": "",
            "script": "",
            "cpu": 1.0,
            "memory": 1.0,
            "nvidia_gpu": 0,
            "arguments": "",
            "kernel": "",
            "type": "manual",
            "parent_id": "",
            "schedule": "",
            "english_schedule": "",
            "paused": False,
            "timeout": "0",
            "timezone": body.get("timezone", "America/Los_Angeles"),
            "environment": "{}",
            "runtime_identifier": "",
            "runtime_addon_identifiers": [],
            "kill_on_timeout": False,
            "created_at": now,
            "updated_at": now,
            "creator": USER,
            "owner": USER,
            "project": {"public_identifier": project["id"], "name": project["name"], "slug": project["slug"]},
            "engine_image_id": "",
            "_project_id": project["id"],
        }
        self._job_fields(job, body)
        self.jobs[job["id"]] = job
        return self.public(job)

    def _job(self, params: dict[str, str]) -> JsonDict:
        self._project(params)
        return self._get(self.jobs, params["job_id"], "job", _project_id=params["project_id"])

    def list_jobs(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        self._project(params)
        mine = [j for j in self.jobs.values() if j["_project_id"] == params["project_id"]]
        return self._list(mine, query, "jobs")

    def get_job(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        return self.public(self._job(params))

    def update_job(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        job = self._job(params)
        updated = dict(job)
        self._job_fields(updated, {k: v for k, v in body.items() if k not in ("id", "project_id")})
        updated["updated_at"] = _now()
        job.update(updated)  # validated first: a rejected update leaves the job unchanged
        return self.public(job)

    def delete_job(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        job = self._job(params)
        del self.jobs[job["id"]]  # dependents stay (with a dangling parent_id), as in CML
        return {}

    # -- job runs --------------------------------------------------------------------------------------------

    def _active_run(self, job_id: str) -> bool:
        # Reads the current status without advancing: a check must not move runs along.
        return any(r["job_id"] == job_id and r["status"] in RUN_ACTIVE for r in self.runs.values())

    def _new_run(self, job: JsonDict, body: JsonDict) -> JsonDict:
        now = _now()
        environment = json.loads(job["environment"])
        environment.update(body.get("environment") or {})
        run = {
            "project_id": job["_project_id"],
            "job_id": job["id"],
            "id": _short_id(),
            "status": "ENGINE_SCHEDULING",
            "created_at": now,
            "scheduling_at": now,
            "starting_at": "",
            "running_at": "",
            "finished_at": "",
            "kernel": job["kernel"],
            "cpu": job["cpu"],
            "memory": job["memory"],
            "nvidia_gpu": job["nvidia_gpu"],
            "arguments": body.get("arguments") or job["arguments"],
            "environment": json.dumps(environment),
            "creator": USER,
            "runtime_identifier": job["runtime_identifier"],
        }
        self.runs[run["id"]] = run
        self._track("run", run, RUN_FAIL if job["name"] in self.faults.failing_jobs else RUN_OK)
        return run

    def create_job_run(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        job = self._job(params)
        if self._active_run(job["id"]):
            raise ApiFault(400, f"job {job['id']} already has an active run")
        return self._new_run(job, body)

    def list_job_runs(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        job = self._job(params)
        return self._list([r for r in self.runs.values() if r["job_id"] == job["id"]], query, "job_runs")

    def get_job_run(self, params: dict[str, str], query: dict[str, str], body: JsonDict) -> JsonDict:
        job = self._job(params)
        return self.advance(self._get(self.runs, params["run_id"], "job run", job_id=job["id"]))


def _secrets(body: JsonDict) -> dict[str, str]:
    secrets = body.get("deployment_secrets") or {}
    if not isinstance(secrets, dict) or not all(isinstance(v, str) for v in secrets.values()):
        raise ApiFault(400, "deployment_secrets must be an object of strings")
    return dict(secrets)

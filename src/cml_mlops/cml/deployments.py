"""The CML objects behind a deployed model version, found before they are created, so that re-runs add nothing.

What marks an object as made for MLflow model version V of model N (trained in run R):
- its CML Model Registry version carries the tag `cml_mlops.source` = "N version V (run R)";
- its model build's comment is "cml-mlops: N version V (run R)", followed by " script FILE:FUNCTION" for a
  script-built model (the default: the project's cml_model.py answers our contract) and nothing for a build
  from the registry (which answers labels only).
The CML Model (one per model name) is found by its name. Lists are matched exactly on the client side (the
API's text filters mean "contains"), objects with a `deletion_status` are ignored, and the oldest match wins.

A create may have been retried by the client after an answer that was lost (a 5xx after the object was made):
when the client retried, the objects are looked up again and duplicates (all made by us, as none existed
before) are removed, keeping the oldest.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from cml_mlops.cml.api import CmlApi
from cml_mlops.cml.client import CmlClient
from cml_mlops.cml.errors import CmlApiError
from cml_mlops.json_types import JsonDict

log = logging.getLogger(__name__)

SOURCE_TAG = "cml_mlops.source"
BUILD_COMMENT_PREFIX = "cml-mlops: "
BUILT = "built"
BUILD_FINAL = frozenset({"built", "build failed", "timedout"})
# Still on its way to a final status (the order of these is UNCONFIRMED; "succeeded" precedes pushing, it seems).
BUILD_UNFINISHED = frozenset({"queued", "pending", "succeeded", "pushing", "unknown"})
DEPLOYED = "deployed"
DEPLOY_FINAL = frozenset({"deployed", "failed", "stopped"})
# Deployments that serve or are on their way to (CML counts deploying/deployed/stopping as active).
ACTIVE = frozenset({"pending", "deploying", "deployed", "stopping"})
PAGE_SIZE = 100
_COMMENT = re.compile(r"^cml-mlops: (?P<name>.+) version (?P<version>\S+) \(run (?P<run>[^)]*)\)( script \S+)?$")


@dataclass(frozen=True)
class ScriptEntry:
    """A script-built model's entry point: the project file and the function CML calls with each request."""

    file_path: str
    function_name: str

    def __str__(self) -> str:
        return f"{self.file_path}:{self.function_name}"


@dataclass(frozen=True)
class Source:
    """The MLflow model version to deploy: what the CML Model Registry needs, and its identity marker."""

    model_name: str
    version: str
    run_id: str
    experiment_id: str
    model_path: str

    @property
    def marker(self) -> str:
        return f"{self.model_name} version {self.version} (run {self.run_id})"

    @property
    def build_comment(self) -> str:
        """The comment of a registry build of this version."""
        return BUILD_COMMENT_PREFIX + self.marker

    def comment(self, script: ScriptEntry | None) -> str:
        """The build comment: it records the version, and the entry point of a script-built model."""
        return self.build_comment + (f" script {script}" if script is not None else "")


def version_from_comment(comment: str) -> str | None:
    """The MLflow version a build made by cml-mlops serves (from its comment), else None."""
    match = _COMMENT.match(comment or "")
    return match.group("version") if match else None


def active(by_build: dict[str, list[JsonDict]]) -> list[JsonDict]:
    """The active deployments among those listed per build."""
    return [d for listed in by_build.values() for d in listed if d.get("status") in ACTIVE]


def _live(obj: JsonDict) -> bool:
    return not obj.get("deletion_status")


def _oldest_first(objs: list[JsonDict]) -> list[JsonDict]:
    return sorted(objs, key=lambda o: (str(o.get("created_at", "")), str(o.get("id", ""))))


def _has_tag(version: JsonDict, key: str, value: str) -> bool:
    tags = version.get("tags") or []
    return any(isinstance(t, dict) and t.get("key") == key and t.get("value") == value for t in tags)


@dataclass(frozen=True)
class Placed:
    """A CML object the flow uses, and whether this run made it."""

    obj: JsonDict
    created: bool


class ModelObjects:
    """Find-or-create of the objects of one CML model in one project."""

    def __init__(self, api: CmlApi, project_id: str) -> None:
        self.api = api
        self.project_id = project_id

    def _create(self, create: Callable[[], JsonDict]) -> tuple[JsonDict, bool]:
        """Run a create; True when the client had to retry it (it may have been applied more than once)."""
        before = self.api.retry_count
        made = create()
        return made, self.api.retry_count > before

    def _drop_extras(self, kind: str, extras: list[JsonDict], remove: Callable[[JsonDict], object]) -> None:
        for extra in extras:
            log.warning("removing duplicate %s %s left by a retried create", kind, extra.get("id"))
            try:
                remove(extra)
            except CmlApiError as exc:
                log.warning("could not remove duplicate %s %s: %s", kind, extra.get("id"), exc)

    # -- registry --------------------------------------------------------------------------------------------

    def registered_model(self, name: str) -> JsonDict | None:
        found = [
            m
            for m in CmlClient.iterate(
                self.api.list_registered_models, search_filter={"model_name": name}, page_size=PAGE_SIZE
            )
            if m.get("name") == name
        ]
        return _oldest_first(found)[0] if found else None

    def registry_versions(self, model_id: str, source: Source) -> list[JsonDict]:
        """Versions of the registered model made for `source`, lowest number first."""
        versions = CmlClient.iterate(self.api.get_registered_model, model_id, page_size=PAGE_SIZE)
        mine = [v for v in versions if _has_tag(v, SOURCE_TAG, source.marker)]
        return sorted(mine, key=lambda v: int(v.get("number") or 0))

    def register(self, name: str, source: Source) -> tuple[JsonDict, Placed]:
        """(registered model, its version for `source`): found, else registered (an existing name adds a version)."""
        model = self.registered_model(name)
        if model is not None:
            found = self.registry_versions(model["model_id"], source)
            if found:
                return model, Placed(found[0], created=False)
        body = {
            "project_id": self.project_id,
            "experiment_id": source.experiment_id,
            "run_id": source.run_id,
            "model_path": source.model_path,
            "model_name": name,
            "tags": [{"key": SOURCE_TAG, "value": source.marker}],
            "description": f"MLflow model {source.model_name}, registered by cml-mlops",
            "visibility": "PRIVATE",
        }
        made, retried = self._create(lambda: self.api.create_registered_model(body))
        # The order of model_versions in the answer is UNCONFIRMED: pick ours by its tag.
        mine = [v for v in made.get("model_versions") or [] if _has_tag(v, SOURCE_TAG, source.marker)]
        if retried or not mine:
            mine = self.registry_versions(made["model_id"], source)
            if not mine:
                raise CmlApiError(0, f"registered {name} but found no version tagged {source.marker!r}")
            self._drop_extras(
                "registered model version", mine[1:],
                lambda v: self.api.delete_registered_model_version(v["model_id"], v["model_version_id"]),
            )  # fmt: skip
        return made, Placed(mine[0], created=True)

    # -- models ----------------------------------------------------------------------------------------------

    def models(self, name: str) -> list[JsonDict]:
        listed = CmlClient.iterate(
            self.api.list_models, self.project_id, search_filter={"name": name}, page_size=PAGE_SIZE
        )
        return _oldest_first([m for m in listed if m.get("name") == name and _live(m)])

    def ensure_model(self, name: str, registered_model_id: str, description: str) -> Placed:
        found = self.models(name)
        if found:
            return Placed(found[0], created=False)
        body = {
            "project_id": self.project_id,
            "name": name,
            "description": description,
            "disable_authentication": False,
            "registered_model_id": registered_model_id,
        }
        made, retried = self._create(lambda: self.api.create_model(body, self.project_id))
        if retried:
            found = self.models(name)
            self._drop_extras("model", found[1:], lambda m: self.api.delete_model(self.project_id, m["id"]))
            made = found[0] if found else made
        return Placed(made, created=True)

    # -- builds ----------------------------------------------------------------------------------------------

    def builds(self, model_id: str) -> list[JsonDict]:
        listed = CmlClient.iterate(self.api.list_model_builds, self.project_id, model_id, page_size=PAGE_SIZE)
        return _oldest_first([b for b in listed if _live(b)])

    def create_build(
        self,
        model_id: str,
        source: Source,
        version_id: str,
        runtime: str,
        existing: set[str],
        script: ScriptEntry | None = None,
    ) -> JsonDict:
        """A new build of the registered version (from the registry, or the project's `script` serving it);
        `existing`: ids of the builds there before (not duplicates)."""
        comment = source.comment(script)
        body: JsonDict = {"project_id": self.project_id, "model_id": model_id, "comment": comment,
                          "runtime_identifier": runtime}  # fmt: skip
        if script is None:
            body["registered_model_version_id"] = version_id
        else:
            body.update(file_path=script.file_path, function_name=script.function_name)
        made, retried = self._create(lambda: self.api.create_model_build(body, self.project_id, model_id))
        if retried:
            mine = [b for b in self.builds(model_id) if b.get("comment") == comment and b["id"] not in existing]
            if mine:
                self._drop_extras("model build", mine[1:], lambda b: self.delete_build(model_id, b["id"]))
                made = mine[0]
        return made

    def get_build(self, model_id: str, build_id: str) -> JsonDict:
        return self.api.get_model_build(self.project_id, model_id, build_id)

    def delete_build(self, model_id: str, build_id: str) -> None:
        self.api.delete_model_build(self.project_id, model_id, build_id)

    # -- deployments -----------------------------------------------------------------------------------------

    def deployments(self, model_id: str, build_id: str) -> list[JsonDict]:
        listed = CmlClient.iterate(
            self.api.list_model_deployments, self.project_id, model_id, build_id, page_size=PAGE_SIZE
        )
        return _oldest_first(list(listed))

    def deployments_by_build(self, model_id: str, builds: list[JsonDict]) -> dict[str, list[JsonDict]]:
        """The deployments of each built build (only those can have deployments)."""
        return {b["id"]: self.deployments(model_id, b["id"]) for b in builds if b.get("status") == BUILT}

    def active_deployments(self, model_id: str, builds: list[JsonDict]) -> list[JsonDict]:
        return active(self.deployments_by_build(model_id, builds))

    def create_deployment(
        self, model_id: str, build_id: str, resources: JsonDict, existing: set[str], extra: JsonDict | None = None
    ) -> JsonDict:
        """A new deployment of the build; `existing`: ids of its deployments there before (not duplicates);
        `extra`: its environment and (write-only) deployment_secrets."""
        body = {"project_id": self.project_id, "model_id": model_id, "build_id": build_id, **resources, **(extra or {})}
        made, retried = self._create(
            lambda: self.api.create_model_deployment(body, self.project_id, model_id, build_id)
        )
        if retried:
            listed = self.deployments(model_id, build_id)
            active = [d for d in listed if d.get("status") in ACTIVE and d["id"] not in existing]
            if active:
                self._drop_extras("model deployment", active[1:], self.stop)
                made = active[0]
        return made

    def get_deployment(self, deployment: JsonDict) -> JsonDict:
        return self.api.get_model_deployment(
            self.project_id, deployment["model_id"], deployment["build_id"], deployment["id"]
        )

    def stop(self, deployment: JsonDict) -> JsonDict:
        return self.api.stop_model_deployment(
            self.project_id, deployment["model_id"], deployment["build_id"], deployment["id"]
        )

    def restart(self, deployment: JsonDict) -> JsonDict:
        return self.api.restart_model_deployment(
            self.project_id, deployment["model_id"], deployment["build_id"], deployment["id"]
        )

"""One deploy of a model version to CML: register, model, build, deployment, smoke test, stop the old ones.

Every object is found before it is made (see cml/deployments.py), so a re-run for the same version makes
nothing new and only finishes what an interrupted run left. The previous deployments are touched last, after
the new one answered its smoke test. When a step fails, what this run started and is not complete is undone
(its deployment stopped; its build deleted unless it built, since a re-run reuses a built build), the
previous deployments keep serving, and DeployError says what failed, what was cleaned up and what was kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cml_mlops.cml.deployment_env import MODEL_VERSION_ENV, REGISTERED_VERSION_ENV
from cml_mlops.cml.deployments import (
    ACTIVE,
    BUILD_FINAL,
    BUILD_UNFINISHED,
    BUILT,
    DEPLOY_FINAL,
    DEPLOYED,
    ModelObjects,
    ScriptEntry,
    Source,
    active,
    version_from_comment,
)
from cml_mlops.cml.errors import CmlApiError
from cml_mlops.cml.model_service import ModelAnswer, ModelServiceClient, ModelServiceError
from cml_mlops.cml.polling import PollSettings, poll
from cml_mlops.deploy.base import DeployError
from cml_mlops.errors import CmlMlopsError
from cml_mlops.json_types import JsonDict
from cml_mlops.serving.answers import Answer, AnswerError, read_answers

log = logging.getLogger(__name__)

NOT_RUNNING = frozenset({"stopped", "failed"})


class CmlStatusFailed(CmlMlopsError):
    """A CML object reached a final status that is a failure (build failed, deployment failed...)."""


@dataclass(frozen=True)
class RunSettings:
    """What the deploy needs from `cml:` in the config (see CmlSection)."""

    model_name: str  # of the CML Model and the CML Model Registry entry
    runtime_identifier: str
    resources: JsonDict  # cpu, memory (GB), replicas of new deployments
    build_poll: PollSettings
    deploy_poll: PollSettings
    script: ScriptEntry | None = None  # None: build from the CML Model Registry (answers labels only)
    # Write-only deployment secrets (the prediction log's DSN), mounted under /etc/deployment-secrets/.
    deployment_secrets: JsonDict = field(default_factory=dict, repr=False)


@dataclass
class Ledger:
    """What a run did, for the rollback, the messages and the report."""

    created: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    cleaned_up: list[str] = field(default_factory=list)
    cleanup_failed: list[str] = field(default_factory=list)


@dataclass
class CmlDeployResult:
    model: JsonDict
    build: JsonDict
    deployment: JsonDict
    registered_model_id: str
    registry_version: JsonDict
    answer: ModelAnswer


def check_prediction(answer: ModelAnswer, version: str, *, versioned: bool = True) -> Answer:
    """The one prediction of a smoke test; ModelServiceError unless there is exactly one, answered by `version`.

    `versioned`: the answer must name its model version (our contract). A build from the registry answers
    labels only; its version is the one its build was made from.
    """
    try:
        (prediction,) = read_answers(answer, 1)
    except AnswerError as exc:
        raise ModelServiceError(200, f"the answer is not one prediction: {exc}") from None
    if prediction.model_version is None and versioned:
        raise ModelServiceError(200, "the answer does not say which model version answered (model_version)")
    if prediction.model_version is not None and prediction.model_version != version:
        raise ModelServiceError(200, f"the answer came from model version {prediction.model_version}, not {version}")
    return prediction


class CmlDeployRun:
    """Deploys `source` through `objects`; `caller(model)` calls the model's service (the smoke test)."""

    def __init__(
        self,
        objects: ModelObjects,
        settings: RunSettings,
        source: Source,
        smoke_request: JsonDict,
        caller: Callable[[JsonDict], ModelServiceClient],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.objects = objects
        self.settings = settings
        self.source = source
        self.smoke_request = smoke_request
        self.caller = caller
        self.clock = clock
        self.sleep = sleep
        self.ledger = Ledger()
        self.step = "start"
        self.previous: list[JsonDict] | None = None  # active deployments before this run (None: not read yet)
        self.build_versions: dict[str, str | None] = {}  # build id -> MLflow version it serves
        self.model_calls = 0
        self._started_builds: list[JsonDict] = []  # made (or adopted unfinished) by this run
        self._started_deployments: list[JsonDict] = []
        self._status: dict[str, str] = {}  # last status seen per build/deployment id
        self._stopped: set[str] = set()  # previous deployments this run stopped
        self._listed_builds: set[str] = set()  # builds read at the start

    def execute(self) -> CmlDeployResult:
        try:
            return self._steps()
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, CmlMlopsError):
                raise DeployError(self.failure_message(exc)) from None
            raise

    # -- the steps -------------------------------------------------------------------------------------------

    def _steps(self) -> CmlDeployResult:
        name, objects = self.settings.model_name, self.objects
        self.step = "register the version in the CML Model Registry"
        registered, version = objects.register(name, self.source)
        number = version.obj.get("number")
        self._note(version.created, f"registered model version {number} of {name} ({version.obj['model_version_id']})")
        self.step = "find or create the CML model"
        placed = objects.ensure_model(name, registered["model_id"], f"MLflow model {self.source.model_name}")
        model = placed.obj
        self._note(placed.created, f"model {name} ({model['id']})")
        if not model.get("auth_enabled", True):
            log.warning("model %s has authentication disabled; cml-mlops creates models with it enabled", name)
        self.step = "read the model's builds and deployments"
        builds = [] if placed.created else objects.builds(model["id"])
        self.build_versions = {b["id"]: version_from_comment(str(b.get("comment", ""))) for b in builds}
        self._listed_builds = {b["id"] for b in builds}
        by_build = objects.deployments_by_build(model["id"], builds)
        self.previous = active(by_build)
        self.step = "build"
        build = self._build(model["id"], builds, version.obj["model_version_id"])
        self.step = "deploy"
        listed = by_build.get(build["id"])
        environment = {MODEL_VERSION_ENV: self.source.version, REGISTERED_VERSION_ENV: str(number or "")}
        deployment = self._deployment(model["id"], build, listed, environment)
        self.step = "smoke test"
        answer = self._smoke(model)
        self.step = "stop the previous deployments"
        for old in self.previous:
            if old["id"] != deployment["id"] and old.get("status") != "stopping":
                stopped = objects.stop(old)
                self._stopped.add(old["id"])
                self.ledger.stopped.append(f"deployment {old['id']} ({self._describe(old)}): {stopped.get('status')}")
        self.step = "done"
        return CmlDeployResult(model, build, deployment, registered["model_id"], version.obj, answer)

    def _build(self, model_id: str, builds: list[JsonDict], version_id: str) -> JsonDict:
        comment = self.source.comment(self.settings.script)
        mine = [b for b in builds if b.get("comment") == comment and b.get("status") in BUILD_UNFINISHED | {BUILT}]
        ready = [b for b in mine if b.get("status") == BUILT]
        if ready:
            self._note(False, f"model build {ready[0]['id']} (built)")
            return ready[0]
        if mine:  # an earlier run's build still on its way: wait for it instead of building again
            build = mine[0]
            self._note(False, f"model build {build['id']} (was {build.get('status')!r})")
        else:
            existing = {b["id"] for b in builds}
            build = self.objects.create_build(
                model_id, self.source, version_id, self.settings.runtime_identifier, existing, self.settings.script
            )
            self._note(True, f"model build {build['id']}")
        self._started_builds.append(build)
        self.build_versions[build["id"]] = self.source.version
        final = self._poll(
            lambda: self.objects.get_build(model_id, build["id"]), f"model build {build['id']}", BUILD_FINAL,
            self.settings.build_poll, build["id"],
        )  # fmt: skip
        if final.get("status") != BUILT:
            raise CmlStatusFailed(f"model build {build['id']} ended with status {final.get('status')!r}")
        return final

    def _deployment(
        self, model_id: str, build: JsonDict, listed: list[JsonDict] | None, environment: dict[str, str]
    ) -> JsonDict:
        """Serve `build`: its deployment with the configured resources if one serves, else restarted, else new.

        `listed`: its deployments as read at the start (None: not read then, e.g. it was still building).
        """
        resources = self.settings.resources
        if listed is None:  # a build made by this run has no deployments; one that was building may have some
            listed = self.objects.deployments(model_id, build["id"]) if build["id"] in self._listed_builds else []
        matching = [d for d in listed if _same_resources(d, resources)]
        by_status = {status: [d for d in matching if d.get("status") == status] for status in ACTIVE | NOT_RUNNING}
        if by_status[DEPLOYED]:
            serving = by_status[DEPLOYED][-1]
            self._note(False, f"deployment {serving['id']} (deployed)")
            return serving
        pending = by_status["pending"] + by_status["deploying"]
        if pending:
            deployment = pending[-1]
            self._note(False, f"deployment {deployment['id']} (was {deployment.get('status')!r})")
        elif by_status["stopped"]:
            deployment = self.objects.restart(by_status["stopped"][-1])
            self._note(False, f"deployment {deployment['id']} (restarted)")
        else:
            existing = {d["id"] for d in listed}
            extra: JsonDict = {"environment": environment}
            if self.settings.deployment_secrets:
                extra["deployment_secrets"] = dict(self.settings.deployment_secrets)
            deployment = self.objects.create_deployment(model_id, build["id"], resources, existing, extra)
            self._note(True, f"deployment {deployment['id']}")
        self._started_deployments.append(deployment)
        final = self._poll(
            lambda: self.objects.get_deployment(deployment), f"deployment {deployment['id']}", DEPLOY_FINAL,
            self.settings.deploy_poll, deployment["id"],
        )  # fmt: skip
        if final.get("status") != DEPLOYED:
            raise CmlStatusFailed(f"deployment {deployment['id']} ended with status {final.get('status')!r}")
        return final

    def _smoke(self, model: JsonDict) -> ModelAnswer:
        client = self.caller(model)
        try:
            answer = client.call(self.smoke_request)
        finally:
            self.model_calls += client.request_count
            client.close()
        check_prediction(answer, self.source.version, versioned=self.settings.script is not None)
        log.info("smoke test passed: %s", str(answer.prediction)[:200])
        return answer

    def _poll(
        self, read: Callable[[], JsonDict], what: str, final: frozenset[str], settings: PollSettings, object_id: str
    ) -> JsonDict:
        def read_and_note() -> JsonDict:
            current = read()
            self._status[object_id] = str(current.get("status", ""))
            return current

        return poll(read_and_note, what=what, final=final, settings=settings, clock=self.clock, sleep=self.sleep)

    # -- failure ---------------------------------------------------------------------------------------------

    def _rollback(self) -> None:
        """Undo what this run started and did not finish; never raises (failures are reported)."""
        ledger = self.ledger
        for deployment in reversed(self._started_deployments):
            status = self._status.get(deployment["id"], str(deployment.get("status", "")))
            if status in NOT_RUNNING:
                continue
            try:
                self.objects.stop(deployment)
                ledger.cleaned_up.append(f"stopped the new deployment {deployment['id']}")
            except CmlApiError as exc:
                ledger.cleanup_failed.append(f"stopping deployment {deployment['id']} failed ({exc}): stop it in CML")
        for build in self._started_builds:
            status = self._status.get(build["id"], str(build.get("status", "")))
            if status == BUILT:
                continue  # complete: the next run for this version deploys it without building again
            try:
                self.objects.delete_build(build["model_id"], build["id"])
                ledger.cleaned_up.append(f"deleted the unfinished model build {build['id']} ({status or 'new'})")
            except CmlApiError as exc:
                ledger.cleanup_failed.append(f"deleting model build {build['id']} failed ({exc}): delete it in CML")

    def failure_message(self, error: BaseException) -> str:
        ledger = self.ledger
        what = f"{self.source.model_name} version {self.source.version}"
        parts = [f"deploying {what} to CML failed at step '{self.step}': {error}"]
        parts.append("cleaned up: " + ("; ".join(ledger.cleaned_up) or "nothing needed cleaning up"))
        if ledger.cleanup_failed:
            parts.append("NOT cleaned up: " + "; ".join(ledger.cleanup_failed))
        kept = [c for c in ledger.created if not c.startswith("deployment ")]
        kept = [c for c in kept if not any(b["id"] in c for b in self._started_builds if self._unbuilt(b))]
        if kept:
            parts.append("kept for the next run: " + "; ".join(kept))
        if self.previous is None:
            parts.append("no deployment was touched")
        elif self.previous:
            kept_serving = [d for d in self.previous if d["id"] not in self._stopped]
            serving = ", ".join(f"deployment {d['id']} ({self._describe(d)})" for d in kept_serving)
            parts.append(f"still serving as before: {serving or 'none (the previous deployments were stopped)'}")
        else:
            parts.append("nothing was deployed before, so nothing serves")
        return ". ".join(parts)

    def _unbuilt(self, build: JsonDict) -> bool:
        return self._status.get(build["id"], str(build.get("status", ""))) != BUILT

    def _describe(self, deployment: JsonDict) -> str:
        version = self.build_versions.get(str(deployment.get("build_id")))
        return f"version {version}" if version else f"build {deployment.get('build_id')}"

    def _note(self, created: bool, what: str) -> None:
        (self.ledger.created if created else self.ledger.reused).append(what)
        log.info("%s %s", "created" if created else "found", what)


def _same_resources(deployment: JsonDict, resources: JsonDict) -> bool:
    try:
        return (
            float(deployment.get("cpu") or 0) == float(resources["cpu"])
            and float(deployment.get("memory") or 0) == float(resources["memory"])
            and int(deployment.get("replicas") or 0) == int(resources["replicas"])
        )
    except (TypeError, ValueError):
        return False

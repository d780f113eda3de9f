"""The `cml` target: a model version served by a CML Model, through the CML API v2 (a workspace or the emulator).

`deploy` registers the MLflow version in the CML Model Registry, finds or creates the CML Model (authentication
enabled), builds the registered version with `cml.runtime_identifier`, deploys the build with `cml.cpu`,
`cml.memory_gb` and `cml.replicas`, smoke-tests it through the model service with a record built from the
contract, then stops the previous deployments (see cml_run.py for idempotency and rollback). `undeploy` stops
the model's active deployments; `status` reports the serving one and whether its model service answers.
Where the workspace is and the API key: see cml/connect.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from cml_mlops.cml.api import CmlApi
from cml_mlops.cml.connect import Workspace, connect, workspace
from cml_mlops.cml.deployment_env import DSN_ENV
from cml_mlops.cml.deployments import DEPLOYED, ModelObjects, ScriptEntry, Source, version_from_comment
from cml_mlops.cml.model_service import ModelServiceClient, model_service_url
from cml_mlops.cml.polling import PollSettings
from cml_mlops.config import ProjectConfig
from cml_mlops.deploy.base import DeployError, Deployment, DeploymentStatus, DeploymentTarget
from cml_mlops.deploy.cml_report import deploy_report, write_deploy_report
from cml_mlops.deploy.cml_run import CmlDeployRun, RunSettings, check_prediction
from cml_mlops.deploy.smoke import smoke_record
from cml_mlops.errors import CmlMlopsError, ConfigError
from cml_mlops.json_types import JsonDict
from cml_mlops.registry import get_version
from cml_mlops.tracking import MODEL_ARTIFACT, Tag, configure_mlflow


def split_request(record: JsonDict) -> JsonDict:
    """One record as MLflow's `dataframe_split`: what registry-built CML models take."""
    return {"dataframe_split": {"columns": list(record), "data": [list(record.values())]}}


def script_entry(config: ProjectConfig) -> ScriptEntry | None:
    """The project file and function of a script-built model; None when CML builds from the registry."""
    cml = config.cml
    if cml.build_from == "registry":
        return None
    file_path = cml.model_file.strip() or f"src/{config.project.package}/cml_model.py"
    if not config.path(file_path).is_file():
        raise DeployError(
            f"cml.model_file {file_path} does not exist in the project: script-built CML models call its "
            f"{cml.model_function}() (or set cml.build_from: registry)"
        )
    return ScriptEntry(file_path, cml.model_function)


def smoke_request(config: ProjectConfig, record: JsonDict) -> JsonDict:
    """What the smoke test sends: the record itself to our model function, `dataframe_split` to a registry build."""
    return split_request(record) if config.cml.build_from == "registry" else record


class CmlTarget(DeploymentTarget):
    name = "cml"

    def __init__(
        self,
        config: ProjectConfig,
        *,
        api: CmlApi | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(config)
        self._api = api  # given: used as is and left open (tests, benchmarks); else one client per command
        self._environ = environ
        self._clock = clock
        self._sleep = sleep
        self.last_api_requests = 0  # API requests of the last deploy (the benchmark reads it)

    @property
    def model_name(self) -> str:
        """The CML Model's (and registry entry's) name."""
        return self.config.cml.model_name.strip() or self.config.tracking.model_name

    def preflight(self) -> None:
        self._workspace()
        if not self.config.cml.runtime_identifier.strip():
            raise DeployError(
                "cml.runtime_identifier is empty: set it in cml-mlops.yaml to the runtime image that builds models "
                "(e.g. docker.repository.cloudera.com/cloudera/cdsw/ml-runtime-pbj-workbench-python3.10-standard:...)"
            )

    def _workspace(self) -> Workspace:
        try:
            return workspace(self.config, self._environ)
        except ConfigError as exc:
            raise DeployError(str(exc)) from None

    def _open(self, found: Workspace) -> CmlApi:
        return self._api if self._api is not None else connect(found, self.config.cml, sleep=self._sleep)

    def _close(self, api: CmlApi) -> None:
        if api is not self._api:
            api.close()

    def _caller(self, found: Workspace, model: JsonDict) -> ModelServiceClient:
        url = self.config.cml.model_service_url.strip() or model_service_url(found.url)
        return ModelServiceClient(
            url, str(model.get("access_key") or ""), found.api_key.get_secret_value(), verify=found.verify,
            timeout=self.config.cml.request_timeout_seconds, sleep=self._sleep,
        )  # fmt: skip

    def _settings(self) -> RunSettings:
        cml = self.config.cml
        dsn = self.config.monitoring.dsn
        secrets = {DSN_ENV: dsn.get_secret_value()} if dsn is not None and dsn.get_secret_value().strip() else {}
        interval = cml.poll_interval_seconds
        ceiling = max(cml.poll_max_interval_seconds, interval)
        return RunSettings(
            model_name=self.model_name,
            runtime_identifier=cml.runtime_identifier.strip(),
            resources={"cpu": cml.cpu, "memory": cml.memory_gb, "replicas": cml.replicas},
            build_poll=PollSettings(interval, ceiling, cml.build_timeout_seconds),
            deploy_poll=PollSettings(interval, ceiling, cml.deploy_timeout_seconds),
            script=script_entry(self.config),
            deployment_secrets=secrets,
        )

    def source(self, version: str) -> Source:
        """The MLflow facts the CML Model Registry needs about `version`."""
        found = get_version(self.config, version)
        run_id = found.run_id or (found.tags or {}).get(Tag.RUN_ID, "")
        if not run_id:
            raise DeployError(f"version {version} has no training run: the CML Model Registry needs its run id")
        experiment_id = configure_mlflow(self.config).get_run(run_id).info.experiment_id
        return Source(self.config.tracking.model_name, str(found.version), run_id, experiment_id, MODEL_ARTIFACT)

    # -- the target interface --------------------------------------------------------------------------------

    def deploy(self, version: str) -> Deployment:
        self.preflight()
        found = self._workspace()
        source = self.source(version)
        request = smoke_request(self.config, smoke_record(self.config, version))
        settings = self._settings()
        api = self._open(found)
        started, before = self._clock(), api.request_count
        run = CmlDeployRun(
            ModelObjects(api, found.project_id), settings, source, request,
            lambda model: self._caller(found, model), clock=self._clock, sleep=self._sleep,
        )  # fmt: skip
        try:
            result = run.execute()
        except DeployError as exc:
            self._write_report(run, api.request_count - before, started, str(exc))
            raise
        finally:
            self._close(api)
        self.last_api_requests = api.request_count - before
        self._write_report(run, self.last_api_requests, started, None)
        details = {
            **self._details(found, result.model, result.deployment),
            "registered_model_id": result.registered_model_id,
            "registered_model_version": result.registry_version.get("number"),
            "created": run.ledger.created,
            "stopped_previous": run.ledger.stopped,
            "api_requests": self.last_api_requests,
        }
        return self._record(found, source.version, details)

    def undeploy(self) -> Deployment | None:
        found = self._workspace()
        api = self._open(found)
        try:
            objects = ModelObjects(api, found.project_id)
            located = self._serving(objects)
            if located is None:
                return None
            model, active, chosen, version = located
            for deployment in active:
                if deployment.get("status") != "stopping":
                    objects.stop(deployment)
            details = {**self._details(found, model, chosen), "stopped": [d["id"] for d in active]}
            return self._record(found, version or "unknown", details)
        finally:
            self._close(api)

    def status(self) -> DeploymentStatus:
        found = self._workspace()
        api = self._open(found)
        try:
            located = self._serving(ModelObjects(api, found.project_id))
            if located is None:
                return DeploymentStatus(
                    self.name, None, False,
                    f"nothing is deployed to CML: model {self.model_name} has no active deployment "
                    f"in project {found.project_id}",
                )  # fmt: skip
            model, active, chosen, version = located
            deployment = self._record(found, version or "unknown", self._details(found, model, chosen))
            healthy, verdict = self._answers(found, model, chosen, version)
            others = f"; {len(active) - 1} more active deployment(s)" if len(active) > 1 else ""
            message = (
                f"{'serving' if healthy else 'NOT healthy:'} {self.config.tracking.model_name} version "
                f"{deployment.version} on CML: deployment {chosen['id']} ({chosen.get('status')}) of model "
                f"{self.model_name} at {deployment.endpoint}; {verdict}{others}"
            )
            return DeploymentStatus(self.name, deployment, healthy, message)
        finally:
            self._close(api)

    def model_client(self) -> ModelServiceClient:
        """A client of the model's service (whatever deployment serves it); the caller closes it."""
        found = self._workspace()
        api = self._open(found)
        try:
            models = ModelObjects(api, found.project_id).models(self.model_name)
        finally:
            self._close(api)
        if not models:
            raise DeployError(f"no CML model named {self.model_name} in project {found.project_id}: deploy first")
        return self._caller(found, models[0])

    # -- pieces ----------------------------------------------------------------------------------------------

    def _serving(self, objects: ModelObjects) -> tuple[JsonDict, list[JsonDict], JsonDict, str | None] | None:
        """(model, its active deployments, the one serving, the MLflow version it serves), or None."""
        models = objects.models(self.model_name)
        if not models:
            return None
        model = models[0]
        builds = objects.builds(model["id"])
        active = sorted(objects.active_deployments(model["id"], builds), key=lambda d: str(d.get("created_at", "")))
        if not active:
            return None
        deployed = [d for d in active if d.get("status") == DEPLOYED]
        chosen = (deployed or active)[-1]
        comments = {b["id"]: str(b.get("comment", "")) for b in builds}
        return model, active, chosen, version_from_comment(comments.get(chosen["build_id"], ""))

    def _answers(
        self, found: Workspace, model: JsonDict, deployment: JsonDict, version: str | None
    ) -> tuple[bool, str]:
        if deployment.get("status") != DEPLOYED:
            return False, f"it is {deployment.get('status')!r}, not deployed"
        if version is None:
            return False, "its build was not made by cml-mlops, so there is no record to check it with"
        client = self._caller(found, model)
        try:
            answer = client.call(smoke_request(self.config, smoke_record(self.config, version)))
            answered = check_prediction(answer, version, versioned=self.config.cml.build_from == "script")
        except CmlMlopsError as exc:  # the service's answer, or no record to send (version not in MLflow)
            return False, f"the model service does not answer correctly: {exc}"
        finally:
            client.close()
        return True, f"the model service answers as version {answered.model_version or version}"

    def _details(self, found: Workspace, model: JsonDict, deployment: JsonDict) -> JsonDict:
        return {
            "project_id": found.project_id,
            "model": self.model_name,
            "model_id": model["id"],
            # Names the model in calls to the model service (the API key is the credential); never printed.
            "access_key": model.get("access_key"),
            "build_id": deployment.get("build_id"),
            "deployment_id": deployment.get("id"),
            "deployment_crn": deployment.get("crn"),
            "status": deployment.get("status"),
        }

    def _record(self, found: Workspace, version: str, details: JsonDict) -> Deployment:
        url = self.config.cml.model_service_url.strip() or model_service_url(found.url)
        return Deployment(self.name, self.config.tracking.model_name, version, url, details)

    def _write_report(self, run: CmlDeployRun, requests: int, started: float, error: str | None) -> None:
        report = deploy_report(run, api_requests=requests, seconds=self._clock() - started, error=error)
        write_deploy_report(self.config, report)

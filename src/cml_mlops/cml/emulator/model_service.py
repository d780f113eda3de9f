"""The emulated model service: `POST /model` answered with the deployed model's real predictions.

A workspace serves its models at `https://modelservice.<domain>/model`; the emulator is reached by address
(127.0.0.1), which has no `modelservice.` name, so it answers `POST /model` on its API listener, where
`cml_mlops.cml.model_service.model_service_url` looks for it (see there).

A request names its model by access key (`accessKey` in the envelope, or the query) and, as the model has
authentication enabled, carries `Authorization: Bearer <API key>`. Of its deployments in status `deployed`,
the one that became ready last answers.
- A script-built model (build with `file_path`/`function_name`, the cml-mlops default) runs the project's
  file in its own process with the deployment's environment and secrets (see script_model.py), and answers
  its function's return: `{"success": true, "response": <return>}`.
- A registry-built model scores with the MLflow model of its build's registered model version, found by the
  version's MLflow run id in the project the emulator was started for, and answers as CML's registry builds
  do (cml-production.md, section 1): metrics-wrapped, `{"success": true, "response": {"model_deployment_crn":
  ..., "prediction": [<label>, ...], "uuid": ...}}`: labels only, one per row, no probability, no version.
Failures answer `{"success": false, "errors": [{"message": ...}]}` with a 4xx/5xx status.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cml_mlops.cml.emulator.script_model import ScriptModel, ScriptModelError
from cml_mlops.cml.emulator.state import EmulatorState, JsonDict
from cml_mlops.config import ProjectConfig, load_config
from cml_mlops.errors import CmlMlopsError

if TYPE_CHECKING:  # scoring pulls in pandas, pandera and MLflow: imported when a model is first called
    from cml_mlops.serving.scoring import Scorer

log = logging.getLogger(__name__)

MAX_BATCH_ROWS = 10_000  # the serving default; CML itself limits requests to 5 MB


class ScorerLoader:
    """A registered model version (as the registry API returns it) -> the scorer of its MLflow model; `root`:
    the project folder script-built models run in."""

    def __init__(self, load: Callable[[JsonDict], Scorer], root: Path | None = None) -> None:
        self._load = load
        self.root = root

    def __call__(self, version: JsonDict) -> Scorer:
        return self._load(version)


class ModelLoadError(CmlMlopsError):
    """The deployed registered model version has no loadable MLflow model here."""


def project_loader(project_dir: Path, profile: str | None = None) -> ScorerLoader:
    """Load registry versions from the MLflow registry of the cml-mlops project in `project_dir`."""
    return config_loader(load_config(project_dir, profile))


def config_loader(config: ProjectConfig) -> ScorerLoader:
    """Load registry versions from the MLflow registry of `config`'s project, once per MLflow run."""
    loaded: dict[str, Scorer] = {}
    lock = threading.Lock()

    def load(version: JsonDict) -> Scorer:
        metadata = (version.get("model_version_metadata") or {}).get("mlflow_metadata") or {}
        run_id = str(metadata.get("run_id") or "")
        if not run_id:
            raise ModelLoadError(f"registered model version {version.get('model_version_id')} has no MLflow run id")
        with lock:  # one load per run, however many requests arrive while it loads
            if run_id not in loaded:
                loaded[run_id] = _scorer(config, run_id)
            return loaded[run_id]

    return ScorerLoader(load, config.root)


def _scorer(config: ProjectConfig, run_id: str) -> Scorer:
    from cml_mlops.registry import version_of_run
    from cml_mlops.serving.scoring import load_scorer

    found = version_of_run(config, run_id)
    if found is None:
        raise ModelLoadError(f"no version of {config.tracking.model_name} was registered from MLflow run {run_id}")
    return load_scorer(config, version=found.version)


def _failure(status: int, *messages: str) -> tuple[int, JsonDict]:
    return status, {"success": False, "errors": [{"message": message} for message in messages]}


class _NoAnswer(Exception):
    def __init__(self, status: int, payload: JsonDict) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload


class ModelService:
    """Answers model calls for the models of one emulated workspace."""

    def __init__(self, state: EmulatorState, api_key: str, loader: ScorerLoader | None) -> None:
        self.state = state
        self._api_key = api_key
        self.loader = loader
        self._scripts: dict[str, ScriptModel] = {}  # deployment id -> its running replica
        self._scripts_lock = threading.Lock()

    def close(self) -> None:
        """Stop every script model's process (each writes what it captured before it exits)."""
        with self._scripts_lock:
            running, self._scripts = list(self._scripts.values()), {}
        for script in running:
            script.close()

    def answer(self, query: dict[str, str], body: Any, authorization: str) -> tuple[int, JsonDict]:
        if not isinstance(body, dict):
            return _failure(400, 'the body must be a JSON object {"accessKey": ..., "request": ...}')
        access_key = str(body.get("accessKey") or query.get("accessKey") or "")
        if not access_key:
            return _failure(401, "accessKey missing: send the model's access key in the envelope or the query")
        try:
            with self.state.lock:
                deployment, build = self._serving(access_key, authorization)
        except _NoAnswer as exc:
            return exc.status, exc.payload
        if build.get("file_path"):
            return self._run_script(deployment, build, body.get("request"))
        with self.state.lock:
            version = self.state._find_version(build.get("registered_model_version_id", ""))
        if version is None:
            return _failure(503, "the build's registered model version is gone")
        if self.loader is None:
            return _failure(503, "the emulator was started without a project to load models from (--project-dir)")
        try:
            scorer = self.loader(version)
        except Exception as exc:  # a model that cannot load: the deployment is unhealthy, not the request bad
            log.warning("model of registered version %s failed to load: %s", version.get("model_version_id"), exc)
            return _failure(503, f"the model failed to load: {exc}")
        return self._score(scorer, body.get("request"), str(deployment.get("crn", "")))

    def _run_script(self, deployment: JsonDict, build: JsonDict, request: Any) -> tuple[int, JsonDict]:
        root = getattr(self.loader, "root", None)
        if root is None:
            return _failure(503, "the emulator was started without a project to run models from (--project-dir)")
        with self._scripts_lock:
            script = self._scripts.get(deployment["id"])
            if script is None:
                environment = json.loads(deployment.get("environment") or "{}")
                secrets = dict(deployment.get("_secrets") or {})
                script = ScriptModel(root, build["file_path"], build["function_name"], environment, secrets)
                self._scripts[deployment["id"]] = script
        try:
            status, answer = script.call(request)
        except ScriptModelError as exc:
            return _failure(503, f"the model replica is not running: {exc}")
        if status != 200:
            return status, {"success": False, "errors": answer}
        return 200, {"success": True, "response": answer}

    def _serving(self, access_key: str, authorization: str) -> tuple[JsonDict, JsonDict]:
        """(the model's serving deployment, its build); _NoAnswer with the failure to answer."""
        state = self.state
        model = next(
            (m for m in state.models.values() if hmac.compare_digest(m["access_key"].encode(), access_key.encode())),
            None,
        )
        if model is None:
            raise _NoAnswer(*_failure(404, "no model has this access key"))
        expected = f"Bearer {self._api_key}"
        if model["auth_enabled"] and not hmac.compare_digest(authorization.encode(), expected.encode()):
            raise _NoAnswer(*_failure(401, "authentication required: send 'Authorization: Bearer <API key>'"))
        deployments = [d for d in state.deployments.values() if d["model_id"] == model["id"]]
        if state.step_seconds > 0:  # statuses move with time there; with step 0 only API reads move them
            deployments = [state.advance(d) for d in deployments]
        # The deployment that became ready last takes the traffic (how CML routes between two is UNCONFIRMED).
        serving = sorted((d for d in deployments if d["status"] == "deployed"), key=lambda d: d["updated_at"])
        if not serving:
            raise _NoAnswer(*_failure(503, f"model {model['name']} has no deployment in status 'deployed'"))
        return serving[-1], state.builds[serving[-1]["build_id"]]

    @staticmethod
    def _score(scorer: Scorer, request: Any, deployment_crn: str) -> tuple[int, JsonDict]:
        from cml_mlops.serving.scoring import score_request
        from cml_mlops.serving.validation import InvalidRequest

        if not isinstance(request, dict):
            return _failure(400, "the envelope needs a 'request' object: one record, or dataframe_split/records")
        try:
            # pyfunc predict(): the label of each row (a record is one row).
            predictions = score_request(scorer, request, max_batch_rows=MAX_BATCH_ROWS)
            rows = predictions.get("predictions", [predictions])
            labels = [row["label"] for row in rows]
        except InvalidRequest as exc:
            return exc.status, {"success": False, "errors": [error.to_dict() for error in exc.errors]}
        except Exception as exc:  # a broken model: a 500, as CML answers a model function that raises
            log.warning("scoring failed: %s", exc)
            return _failure(500, f"the model failed while scoring: {exc}")
        response = {"model_deployment_crn": deployment_crn, "prediction": labels, "uuid": str(uuid.uuid4())}
        return 200, {"success": True, "response": response}

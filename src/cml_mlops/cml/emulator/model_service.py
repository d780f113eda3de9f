"""The emulated model service: `POST /model` answered with the deployed model's real predictions.

A workspace serves its models at `https://modelservice.<domain>/model`; the emulator is reached by address
(127.0.0.1), which has no `modelservice.` name, so it answers `POST /model` on its API listener, where
`cml_mlops.cml.model_service.model_service_url` looks for it (see there).

A request names its model by access key (`accessKey` in the envelope, or the query) and, as the model has
authentication enabled, carries `Authorization: Bearer <API key>`. Of its deployments in status `deployed`,
the one that became ready last answers; it scores with the MLflow model of its build's registered model
version, found by the version's MLflow run id in the project the emulator was started for, through the
library's own scoring code. Registry
models answer metrics-wrapped: `{"success": true, "response": {"uuid": ..., "prediction": ...}}`, where the
prediction is what the local model server answers: a prediction object for one record, and
`{"model_version": ..., "predictions": [...]}` for `dataframe_split`/`dataframe_records`.
Failures answer `{"success": false, "errors": [{"message": ...}]}` with a 4xx/5xx status.
"""

from __future__ import annotations

import hmac
import logging
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cml_mlops.cml.emulator.state import EmulatorState, JsonDict
from cml_mlops.config import ProjectConfig, load_config
from cml_mlops.errors import CmlMlopsError

if TYPE_CHECKING:  # scoring pulls in pandas, pandera and MLflow: imported when a model is first called
    from cml_mlops.serving.scoring import Scorer

log = logging.getLogger(__name__)

MAX_BATCH_ROWS = 10_000  # the serving default; CML itself limits requests to 5 MB

# A registered model version (as the registry API returns it) -> the scorer of its MLflow model.
ScorerLoader = Callable[[JsonDict], "Scorer"]


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

    return load


def _scorer(config: ProjectConfig, run_id: str) -> Scorer:
    from cml_mlops.registry import version_of_run
    from cml_mlops.serving.scoring import load_scorer

    found = version_of_run(config, run_id)
    if found is None:
        raise ModelLoadError(f"no version of {config.tracking.model_name} was registered from MLflow run {run_id}")
    return load_scorer(config, version=found.version)


def _failure(status: int, *messages: str) -> tuple[int, JsonDict]:
    return status, {"success": False, "errors": [{"message": message} for message in messages]}


class ModelService:
    """Answers model calls for the models of one emulated workspace."""

    def __init__(self, state: EmulatorState, api_key: str, loader: ScorerLoader | None) -> None:
        self.state = state
        self._api_key = api_key
        self.loader = loader

    def answer(self, query: dict[str, str], body: Any, authorization: str) -> tuple[int, JsonDict]:
        if not isinstance(body, dict):
            return _failure(400, 'the body must be a JSON object {"accessKey": ..., "request": ...}')
        access_key = str(body.get("accessKey") or query.get("accessKey") or "")
        if not access_key:
            return _failure(401, "accessKey missing: send the model's access key in the envelope or the query")
        with self.state.lock:
            found = self._serving_version(access_key, authorization)
        if isinstance(found, tuple):
            return found
        if self.loader is None:
            return _failure(503, "the emulator was started without a project to load models from (--project-dir)")
        try:
            scorer = self.loader(found)
        except Exception as exc:  # a model that cannot load: the deployment is unhealthy, not the request bad
            log.warning("model of registered version %s failed to load: %s", found.get("model_version_id"), exc)
            return _failure(503, f"the model failed to load: {exc}")
        return self._score(scorer, body.get("request"))

    def _serving_version(self, access_key: str, authorization: str) -> JsonDict | tuple[int, JsonDict]:
        """The registered model version the model's serving deployment runs, or the failure to answer."""
        state = self.state
        model = next(
            (m for m in state.models.values() if hmac.compare_digest(m["access_key"].encode(), access_key.encode())),
            None,
        )
        if model is None:
            return _failure(404, "no model has this access key")
        expected = f"Bearer {self._api_key}"
        if model["auth_enabled"] and not hmac.compare_digest(authorization.encode(), expected.encode()):
            return _failure(401, "authentication required: send 'Authorization: Bearer <API key>'")
        deployments = [d for d in state.deployments.values() if d["model_id"] == model["id"]]
        if state.step_seconds > 0:  # statuses move with time there; with step 0 only API reads move them
            deployments = [state.advance(d) for d in deployments]
        # The deployment that became ready last takes the traffic (how CML routes between two is UNCONFIRMED).
        serving = sorted((d for d in deployments if d["status"] == "deployed"), key=lambda d: d["updated_at"])
        if not serving:
            return _failure(503, f"model {model['name']} has no deployment in status 'deployed'")
        build = state.builds[serving[-1]["build_id"]]
        version = state._find_version(build.get("registered_model_version_id", ""))
        if version is None:
            return _failure(501, "the emulator serves models built from the Model Registry only")
        return version

    @staticmethod
    def _score(scorer: Scorer, request: Any) -> tuple[int, JsonDict]:
        from cml_mlops.serving.scoring import score_request
        from cml_mlops.serving.validation import InvalidRequest

        if not isinstance(request, dict):
            return _failure(400, "the envelope needs a 'request' object: one record, or dataframe_split/records")
        try:
            # The local model server's answers: a record -> its prediction; a batch -> version + predictions.
            prediction = score_request(scorer, request, max_batch_rows=MAX_BATCH_ROWS)
        except InvalidRequest as exc:
            return exc.status, {"success": False, "errors": [error.to_dict() for error in exc.errors]}
        except Exception as exc:  # a broken model: a 500, as CML answers a model function that raises
            log.warning("scoring failed: %s", exc)
            return _failure(500, f"the model failed while scoring: {exc}")
        return 200, {"success": True, "response": {"uuid": str(uuid.uuid4()), "prediction": prediction}}

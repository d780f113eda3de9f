"""The function behind a script-built CML model: `predict(args)` answers like POST /model of the local server.

A generated project's `src/<package>/cml_model.py` wraps a `ModelFunction` in CML's `@cml_model` decorator.
`args` is the envelope's `request`: one record (field -> value), answered by its prediction
`{"prediction_id", "probability", "label", "model_version"}`, or a batch (`dataframe_records` /
`dataframe_split`), answered by `{"model_version", "predictions": [...]}`. Bad input raises InvalidRequest
naming the field (CML reports the function's exception as the request's failure).

Which version: `CML_MLOPS_MODEL_VERSION` when the deployment sets it (the deployer knows what it deploys),
else the `champion` alias, else the `challenger` (the first deployment, before any champion exists).
The model loads on the first call, once: importing the file stays cheap.

Every prediction served is captured into the prediction log (see cml_mlops.serving.capture), unless
`capture.enabled` is false. Its store: `CML_MLOPS_MONITORING_DSN` from the environment, else from the
deployment secret of that name (a file in /etc/deployment-secrets/, or `CML_MLOPS_DEPLOYMENT_SECRETS_DIR`),
else the project's SQLite file. Inside CML, `cml.metrics_v1.track_metric` gets each prediction too.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cml_mlops.cml.deployment_env import MODEL_VERSION_ENV, with_secrets
from cml_mlops.config import ProjectConfig, load_config
from cml_mlops.errors import CmlMlopsError
from cml_mlops.monitoring.store.records import PredictionRecord
from cml_mlops.registry import alias_version
from cml_mlops.serving.capture import Capture, Sink
from cml_mlops.serving.scoring import Scorer, load_scorer, score_request
from cml_mlops.serving.validation import InvalidRequest
from cml_mlops.tracking import CHALLENGER, CHAMPION

__all__ = ["MODEL_VERSION_ENV", "ModelFunction", "ModelFunctionError", "track_metric_sink"]

log = logging.getLogger(__name__)


class ModelFunctionError(CmlMlopsError):
    """The model function has no version to serve."""


class ModelFunction:
    """Scores requests with one registered version of the project's model, loaded on first use."""

    def __init__(
        self, project_dir: Path, *, profile: str | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        self.project_dir = project_dir
        self.profile = profile
        self._environ = environ
        self._lock = threading.Lock()
        self._loaded: tuple[ProjectConfig, Scorer] | None = None
        self.capture: Capture | None = None

    def _version(self, config: ProjectConfig, env: Mapping[str, str]) -> str:
        chosen = env.get(MODEL_VERSION_ENV, "").strip()
        if chosen:
            return chosen
        for alias in (CHAMPION, CHALLENGER):
            found = alias_version(config, alias)
            if found is not None:
                return str(found.version)
        raise ModelFunctionError(
            f"model {config.tracking.model_name} has no {CHAMPION} or {CHALLENGER} version to serve: set "
            f"{MODEL_VERSION_ENV} in the deployment, or train and gate a version first"
        )

    def load(self) -> tuple[ProjectConfig, Scorer]:
        with self._lock:
            if self._loaded is None:
                env = with_secrets(os.environ if self._environ is None else self._environ)
                config = load_config(self.project_dir, self.profile, environ=env)
                scorer = load_scorer(config, version=self._version(config, env))
                sinks = [sink] if (sink := track_metric_sink()) is not None else []
                self.capture = Capture.open(
                    config, model_name=scorer.model.name, positive_label=scorer.model.positive_label, sinks=sinks
                )
                if self.capture is not None:
                    atexit.register(self.close)  # the replica stops: write what is queued
                self._loaded = (config, scorer)
            return self._loaded

    def __call__(self, args: Any) -> dict[str, Any]:
        started = time.perf_counter()
        if not isinstance(args, dict):
            raise InvalidRequest.single(
                400, "the request must be a JSON object: one record, or dataframe_records / dataframe_split"
            )
        config, scorer = self.load()
        capture = self.capture
        observe = None if capture is None else lambda columns, answers: capture.observe(columns, answers, started)
        return score_request(scorer, args, max_batch_rows=config.serving.max_batch_rows, observe=observe)

    def close(self) -> None:
        """Write (or spill) the captured predictions still queued."""
        capture, self.capture = self.capture, None
        if capture is not None:
            capture.close(timeout=min(15.0, capture.log.close_timeout_seconds))


def track_metric_sink() -> Sink | None:
    """CML's own metrics store as a second sink, when `cml.metrics_v1` is importable (inside CML), else None.

    `track_metric` belongs to the request being answered; the converter thread calls it later, so this records
    the predictions under the names CML's monitoring examples use, and a refusal is only logged.
    """
    try:
        from cml.metrics_v1 import track_metric
    except ImportError:
        return None
    send: Callable[[str, Any], None] = track_metric

    def sink(records: list[PredictionRecord]) -> None:
        for record in records:
            send("prediction_id", record.prediction_id)
            send("input_features", record.features)
            send("predicted_result", {"probability": record.probability, "label": record.prediction})

    return sink

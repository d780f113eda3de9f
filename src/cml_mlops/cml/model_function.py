"""The function behind a script-built CML model: `predict(args)` answers like POST /model of the local server.

A generated project's `src/<package>/cml_model.py` wraps a `ModelFunction` in CML's `@cml_model` decorator.
`args` is the envelope's `request`: one record (field -> value), answered by its prediction
`{"prediction_id", "probability", "label", "model_version"}`, or a batch (`dataframe_records` /
`dataframe_split`), answered by `{"model_version", "predictions": [...]}`. Bad input raises InvalidRequest
naming the field (CML reports the function's exception as the request's failure).

Which version: `CML_MLOPS_MODEL_VERSION` when the deployment sets it (the deployer knows what it deploys),
else the `champion` alias, else the `challenger` (the first deployment, before any champion exists).
The model loads on the first call, once: importing the file stays cheap.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cml_mlops.config import ProjectConfig, load_config
from cml_mlops.errors import CmlMlopsError
from cml_mlops.registry import alias_version
from cml_mlops.serving.scoring import Scorer, load_scorer, score_request
from cml_mlops.serving.validation import InvalidRequest
from cml_mlops.tracking import CHALLENGER, CHAMPION

MODEL_VERSION_ENV = "CML_MLOPS_MODEL_VERSION"


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
                env = os.environ if self._environ is None else self._environ
                config = load_config(self.project_dir, self.profile, environ=env)
                self._loaded = (config, load_scorer(config, version=self._version(config, env)))
            return self._loaded

    def __call__(self, args: Any) -> dict[str, Any]:
        if not isinstance(args, dict):
            raise InvalidRequest.single(
                400, "the request must be a JSON object: one record, or dataframe_records / dataframe_split"
            )
        config, scorer = self.load()
        return score_request(scorer, args, max_batch_rows=config.serving.max_batch_rows)

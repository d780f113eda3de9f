"""CML model entry point: `predict(args)` scores one record, or a batch, with the served model version.

A script-built CML model points its file at this file and its function at `predict` (see .project-metadata.yaml).
`args` is the request: one record (field -> value), or {"dataframe_records": [...]} / {"dataframe_split": {...}};
the answer has the shape of the local model server's /model response: `prediction_id`, `probability`, `label` and
`model_version` for each record. The version is CML_MLOPS_MODEL_VERSION when the deployment sets it (`cml-mlops
deploy` does), else the `champion` alias, else the `challenger`. Every prediction is logged to the prediction log
(`capture:` in cml-mlops.yaml; the database from CML_MLOPS_MONITORING_DSN or the deployment secret of that name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cml_mlops.cml.model_function import ModelFunction

try:  # inside CML: register the function as the model's endpoint
    from cml.models_v1 import cml_model
except ImportError:  # elsewhere: the plain function, importable and testable

    def cml_model(function):
        return function


# src/<package>/cml_model.py -> the project root, whatever the working folder.
_model = ModelFunction(Path(__file__).resolve().parents[2])


@cml_model
def predict(args: dict[str, Any]) -> dict[str, Any]:
    return _model(args)

"""Scoring validated request columns with a registered model version: frame in, one prediction per row out."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from cml_mlops.config import ProjectConfig
from cml_mlops.project import load_project_module
from cml_mlops.serving.validation import FieldRule, InvalidRequest, RowValidator
from cml_mlops.tracking import LoadedModel, load_model_version

Prediction = dict[str, Any]  # {"prediction_id", "probability", "label", "model_version"}: plain dicts, to skip a copy
BATCH_KEYS = ("dataframe_split", "dataframe_records")
# Told the validated columns and the predictions of each scored request (the server-side capture).
Observer = Callable[[dict[str, list[Any]], list[Prediction]], None]


def _dtype(rule: FieldRule) -> Any:
    """The dtype the lake gives the column (and so the one the pipeline was trained on)."""
    if rule.kind == "int":
        return "Int64" if rule.nullable else np.int64
    if rule.kind == "float":
        return np.float64
    if rule.kind == "bool":
        return "boolean" if rule.nullable else np.bool_
    if rule.kind == "str":
        return object
    return None  # pandera already coerced these values; let pandas infer from them


def _column(values: list[Any], dtype: Any) -> Any:
    if dtype is None:
        return values
    if isinstance(dtype, str):  # pandas' nullable dtypes: None becomes <NA>
        return pd.Series(values, dtype=dtype).array
    return np.array(values, dtype=dtype)  # plain numpy: the cheapest frame to build (~0.1 ms for one row)


class Scorer:
    """A loaded model plus its compiled request validator: turns request payloads into predictions."""

    def __init__(self, model: LoadedModel, validator: RowValidator) -> None:
        if list(validator.columns) != list(model.features):
            raise ValueError("the validator must be compiled for the model's features, in the model's order")
        self.model = model
        self.validator = validator
        self._dtypes = [(rule.name, _dtype(rule)) for rule in validator.rules]
        self._version = str(model.version)

    @property
    def version(self) -> str:
        return self._version

    def frame(self, columns: dict[str, list[Any]]) -> pd.DataFrame:
        """The typed frame the pipeline expects: its feature columns, in its order, with the lake's dtypes."""
        return pd.DataFrame({name: _column(columns[name], dtype) for name, dtype in self._dtypes})

    def score(self, columns: dict[str, list[Any]]) -> list[Prediction]:
        """One prediction per row: positive-class probability, the label at the model's threshold, ids."""
        probabilities = self.model.pipeline.predict_proba(self.frame(columns))[:, 1]
        if not np.isfinite(probabilities).all():  # a broken model: a 500, never a probability of null
            raise ValueError(f"model version {self._version} returned probabilities that are not finite numbers")
        threshold = self.model.threshold
        positive, negative = self.model.positive_label, self.model.negative_label
        version = self._version
        ids = uuid4_strings(len(probabilities))
        return [
            {
                "prediction_id": ids[row],
                "probability": probability,
                "label": positive if probability >= threshold else negative,
                "model_version": version,
            }
            for row, probability in enumerate(probabilities.tolist())
        ]


def load_scorer(config: ProjectConfig, *, version: str | int | None = None, alias: str | None = None) -> Scorer:
    """A registered version (by number or alias) with its request validator compiled from the project's contract."""
    model = load_model_version(config, version=version, alias=alias)
    contract = load_project_module(config, "contracts").RawRecord
    return Scorer(model, RowValidator.from_contract(contract, model.features))


def score_batch(
    scorer: Scorer, payload: dict[str, Any], *, max_batch_rows: int, observe: Observer | None = None
) -> list[Prediction]:
    """Score `{"dataframe_split": ...}` or `{"dataframe_records": [...]}` (MLflow's payloads): a prediction a row.

    `observe(columns, predictions)` is told what was served (server-side capture).
    """
    given = [key for key in BATCH_KEYS if key in payload]
    if len(given) != 1:
        found = ", ".join(sorted(str(key) for key in payload)) or "nothing"
        message = f"expected exactly one of dataframe_split or dataframe_records, found: {found}"
        raise InvalidRequest.single(400, message)
    data = payload[given[0]]
    rows = len(data.get("data") or []) if given[0] == "dataframe_split" and isinstance(data, dict) else None
    if rows is None and isinstance(data, list):
        rows = len(data)
    if rows is not None and rows > max_batch_rows:
        raise InvalidRequest.single(
            413, f"batch of {rows} rows is over the limit of {max_batch_rows} (serving.max_batch_rows)"
        )
    validator = scorer.validator
    columns = validator.from_split(data) if given[0] == "dataframe_split" else validator.from_records(data)
    return _scored(scorer, columns, observe)


def score_request(
    scorer: Scorer, request: dict[str, Any], *, max_batch_rows: int, observe: Observer | None = None
) -> dict[str, Any]:
    """The `response` of the CML model envelope: one record -> its prediction; a batch -> version + predictions."""
    if any(key in request for key in BATCH_KEYS):
        predictions = score_batch(scorer, request, max_batch_rows=max_batch_rows, observe=observe)
        return {"model_version": scorer.version, "predictions": predictions}
    return _scored(scorer, scorer.validator.from_record(request), observe)[0]


def _scored(scorer: Scorer, columns: dict[str, list[Any]], observe: Observer | None) -> list[Prediction]:
    predictions = scorer.score(columns)
    if observe is not None:
        observe(columns, predictions)
    return predictions


def uuid4_strings(count: int) -> list[str]:
    """`count` random (version 4) UUIDs as text, from one read of the OS's random source: 4x faster than uuid4()."""
    if count == 1:
        return [str(uuid.uuid4())]
    raw = np.frombuffer(os.urandom(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    text = raw.tobytes().hex()
    return [
        "-".join(
            (text[i : i + 8], text[i + 8 : i + 12], text[i + 12 : i + 16], text[i + 16 : i + 20], text[i + 20 : i + 32])
        )
        for i in range(0, 32 * count, 32)
    ]

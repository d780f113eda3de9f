"""What the prediction log holds: one record per prediction and, later, one per ground-truth label."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from cml_mlops.monitoring.store.errors import StoreError

MAX_ID_LENGTH = 64  # predictions.prediction_id is VARCHAR(64)


class InvalidRecord(StoreError):
    """A prediction or label that the store would refuse or misread (bad id, probability, 0/1 value, time)."""


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One served prediction: the request's features, the answer, when it was asked (epoch s) and how long it took."""

    prediction_id: str
    requested_at: float
    model_name: str
    model_version: str
    features: dict[str, Any]
    probability: float
    prediction: int  # 0/1 at the model's threshold
    latency_ms: float | None = None
    scenario: str = ""
    arm: str | None = None  # the A/B arm that answered, when an experiment runs

    def __post_init__(self) -> None:
        _check_id(self.prediction_id)
        _check_time(self.requested_at, "requested_at", self.prediction_id)
        if not (isinstance(self.probability, (int, float)) and 0.0 <= self.probability <= 1.0):
            raise InvalidRecord(f"prediction {self.prediction_id}: probability {self.probability!r} is not in [0, 1]")
        _check_binary(self.prediction, "prediction", self.prediction_id)
        if not isinstance(self.features, dict):
            raise InvalidRecord(f"prediction {self.prediction_id}: features must be a mapping of column -> value")
        for name, value in self.features.items():
            _check_feature(self.prediction_id, name, value)

    def row(self) -> dict[str, Any]:
        """The record as a `predictions` row."""
        return {
            "prediction_id": self.prediction_id,
            "requested_at": float(self.requested_at),
            "model_name": self.model_name,
            "model_version": self.model_version,
            "scenario": self.scenario,
            "features": self.features,
            "probability": float(self.probability),
            "prediction": int(self.prediction),
            "latency_ms": None if self.latency_ms is None else float(self.latency_ms),
            "arm": self.arm,
        }


def trusted_prediction(**fields: Any) -> PredictionRecord:
    """A PredictionRecord built without its checks, for a writer whose values are valid by construction (the
    server's capture: ids it made, probabilities its model gave, features its contract validated and made
    JSON-ready). Half the cost of capturing a prediction was these checks."""
    record = object.__new__(PredictionRecord)
    for name in PredictionRecord.__slots__:
        object.__setattr__(record, name, fields.get(name, _DEFAULTS.get(name)))
    return record


_DEFAULTS: dict[str, Any] = {"latency_ms": None, "scenario": "", "arm": None}


@dataclass(frozen=True, slots=True)
class LabelRecord:
    """The ground truth of one logged prediction, known at `labelled_at` (epoch s): CML's delayed metric."""

    prediction_id: str
    label: int
    labelled_at: float

    def __post_init__(self) -> None:
        _check_id(self.prediction_id)
        _check_binary(self.label, "label", self.prediction_id)
        _check_time(self.labelled_at, "labelled_at", self.prediction_id)

    def row(self) -> dict[str, Any]:
        return {"prediction_id": self.prediction_id, "label": int(self.label), "labelled_at": float(self.labelled_at)}


def _check_feature(prediction_id: str, name: Any, value: Any) -> None:
    """A feature must be stored as JSON: finite numbers, text, booleans, null (or lists and objects of them)."""
    if value is None or type(value) in (str, int, bool):
        return
    if type(value) is float:
        if not math.isfinite(value):  # JSON has no NaN: a missing value is null
            raise InvalidRecord(f"prediction {prediction_id}: feature {name} is {value}; send null instead")
        return
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidRecord(
            f"prediction {prediction_id}: feature {name} is a {type(value).__name__}, which JSON cannot hold"
        ) from None


def _check_id(prediction_id: Any) -> None:
    if not isinstance(prediction_id, str) or not 0 < len(prediction_id) <= MAX_ID_LENGTH:
        raise InvalidRecord(f"prediction id {prediction_id!r} must be text of 1 to {MAX_ID_LENGTH} characters")


def _check_binary(value: Any, name: str, prediction_id: str) -> None:
    if isinstance(value, bool) or value not in (0, 1):
        raise InvalidRecord(f"prediction {prediction_id}: {name} must be 0 or 1, got {value!r}")


def _check_time(value: Any, name: str, prediction_id: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidRecord(f"prediction {prediction_id}: {name} must be epoch seconds, got {value!r}")

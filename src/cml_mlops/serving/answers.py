"""What a served model answers, read the same way by every client (simulate, the deploy smoke test, scoring).

Our contract: each prediction is `{"prediction_id", "probability", "label", "model_version"}`; one record is
answered by its prediction, a batch by `{"model_version", "predictions": [...]}`. Around it, the shapes CML
produces (see ../shared/reference/cml-production.md, section 1; several are UNCONFIRMED, so parsing is lenient
about the wrapping and strict about the count):
- the model service envelope `{"success": true, "response": ...}`, extra top-level keys ignored;
- metrics-wrapped `response`: `{"uuid", "prediction", ...}` (a registry build adds `model_deployment_crn`);
  the uuid is the prediction's id when one record was sent;
- a registry build's `prediction`: the JSON form of pyfunc `predict()`, a plain list of labels (`[0]`), or of
  `[p0, p1]` probability pairs; such predictions have no probability (None) or no label;
- MLflow's `{"predictions": [...]}` (the local server's /invocations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PAIR_TOLERANCE = 1e-6  # a [p0, p1] pair sums to 1 within this


class AnswerError(Exception):
    """A model answer that does not hold one usable prediction per record sent; the message is safe to show."""


@dataclass(frozen=True)
class Answer:
    """One prediction as the endpoint answered it: any part the deployment does not give is None."""

    prediction_id: str | None
    probability: float | None
    label: Any
    model_version: str | None


@dataclass(frozen=True)
class Unwrapped:
    """The model's own return value, and the uuid CML adds when the model tracks metrics."""

    prediction: Any
    uuid: str | None


def unwrap(payload: Any) -> Unwrapped:
    """The model's return from a model service answer (metrics-wrapped or not); AnswerError if not a success."""
    if isinstance(payload, dict) and "predictions" in payload and "response" not in payload:
        return Unwrapped(payload, None)  # MLflow's scoring answer
    if not isinstance(payload, dict) or payload.get("success") is not True or "response" not in payload:
        raise AnswerError(f"not a successful model answer: {_shorten(payload, 300)}")
    response = payload["response"]
    if isinstance(response, dict) and "prediction" in response and "uuid" in response:
        uuid = response["uuid"]
        return Unwrapped(response["prediction"], None if uuid in (None, "") else str(uuid))
    return Unwrapped(response, None)


def parse_answers(payload: Any, expected: int) -> list[Answer]:
    """One Answer per record sent, in order; AnswerError when the answer has another count or no prediction."""
    return read_answers(unwrap(payload), expected)


def read_answers(unwrapped: Unwrapped, expected: int) -> list[Answer]:
    """`parse_answers` of an answer already unwrapped from its envelope."""
    response, wrapped_id = unwrapped.prediction, unwrapped.uuid
    default_version: Any = None
    if isinstance(response, dict) and isinstance(response.get("predictions"), list):
        default_version = response.get("model_version")
        items: list[Any] = response["predictions"]
    elif isinstance(response, list) and (len(response) == expected or not _is_pair(response)):
        items = response
    else:
        items = [response]
    if len(items) != expected:
        raise AnswerError(f"sent {expected} records, got {len(items)} predictions back")
    if wrapped_id is not None and expected > 1 and any(not _has_id(item) for item in items):
        raise AnswerError(
            f"the endpoint returned one uuid for {expected} records: send one record per request "
            "(--records-per-request 1) so that each prediction has its own id"
        )
    return [_answer(item, wrapped_id if expected == 1 else None, default_version) for item in items]


def _answer(item: Any, wrapped_id: str | None, default_version: Any) -> Answer:
    if isinstance(item, dict):
        return _object(item, wrapped_id, default_version)
    if _is_pair(item):  # predict_proba's row: [p(negative), p(positive)]
        return Answer(wrapped_id, float(item[1]), None, _text(default_version))
    if item is None or isinstance(item, (dict, list)):
        raise AnswerError(f"a prediction must be an object or a label, got {_shorten(item)}")
    return Answer(wrapped_id, None, item, _text(default_version))  # a bare label (a registry build's answer)


def _object(item: dict[str, Any], wrapped_id: str | None, default_version: Any) -> Answer:
    probability = item.get("probability")
    if probability is not None and not _is_probability(probability):
        raise AnswerError(f"a prediction whose probability is not in [0, 1]: {_shorten(item)}")
    label = item.get("label")
    if probability is None and label is None:
        raise AnswerError(f"a prediction with neither probability nor label: {_shorten(item)}")
    own_id = str(item["prediction_id"]) if _has_id(item) else None
    return Answer(
        prediction_id=wrapped_id or own_id,
        probability=None if probability is None else float(probability),
        label=label,
        model_version=_text(item.get("model_version", default_version)),
    )


def _is_probability(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= 1


def _is_pair(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(_is_probability(v) for v in value)
        and abs(float(value[0]) + float(value[1]) - 1.0) <= PAIR_TOLERANCE
    )


def _has_id(item: Any) -> bool:
    return isinstance(item, dict) and item.get("prediction_id") not in (None, "")


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _shorten(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."

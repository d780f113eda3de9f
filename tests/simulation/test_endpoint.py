"""The endpoint client: both CML response shapes, batches with one id per record, clear failures, real HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cml_mlops.serving.app import ServingApp
from cml_mlops.simulation.endpoint import Answer, Endpoint, EndpointClient, RequestFailed, parse_answers
from tests.serving.conftest import app_server, bank_model, scorer  # noqa: F401 - a real model server in a thread
from tests.serving.helpers import ACCESS_KEY
from tests.support.net import free_port

RECORD = {
    "age": 41, "job": "technician", "marital": "married", "education": "secondary", "default": "no",
    "balance": 1200, "housing": "yes", "loan": "no", "contact": "cellular", "day": 5, "month": "may",
    "campaign": 2, "pdays": -1, "previous": 0, "poutcome": "unknown",
}  # fmt: skip
PLAIN = {"prediction_id": "p-1", "probability": 0.25, "label": "no", "model_version": "3"}


def test_a_plain_answer_is_read_as_it_is() -> None:
    assert parse_answers({"success": True, "response": PLAIN}, 1) == [Answer("p-1", 0.25, "no", "3")]


def test_a_metrics_wrapped_answer_takes_cmls_uuid_as_the_prediction_id() -> None:
    wrapped = {"success": True, "response": {"uuid": "cml-uuid-9", "prediction": {**PLAIN, "prediction_id": "x"}}}
    assert parse_answers(wrapped, 1) == [Answer("cml-uuid-9", 0.25, "no", "3")]
    bare = {"success": True, "response": {"uuid": "cml-uuid-9", "prediction": {"probability": 1, "label": "yes"}}}
    assert parse_answers(bare, 1) == [Answer("cml-uuid-9", 1.0, "yes", None)]


predictions = st.lists(
    st.builds(
        dict,
        prediction_id=st.uuids().map(str),
        probability=st.floats(0.0, 1.0),
        label=st.sampled_from(["yes", "no"]),
    ),
    min_size=1,
    max_size=20,
)


@given(items=predictions, version=st.sampled_from(["1", "12"]), wrapped=st.booleans())
def test_a_batch_answer_gives_each_record_its_own_id_in_order(items: list[dict[str, Any]], version: str,
                                                              wrapped: bool) -> None:  # fmt: skip
    response: dict[str, Any] = {"model_version": version, "predictions": items}
    if wrapped:
        response = {"uuid": "one-for-all", "prediction": response}
    answers = parse_answers({"success": True, "response": response}, len(items))
    expected = [Answer(item["prediction_id"], item["probability"], item["label"], version) for item in items]
    if wrapped and len(items) == 1:
        expected = [Answer("one-for-all", items[0]["probability"], items[0]["label"], version)]
    assert answers == expected


@pytest.mark.parametrize(
    "payload, expected, message",
    [
        ({"success": False, "errors": [{"message": "bad"}]}, 1, "not a successful model answer"),
        (["not", "an", "object"], 1, "not a successful model answer"),
        ({"success": True, "response": {"model_version": "3"}}, 1, "neither probability nor label"),
        ({"success": True, "response": {"probability": 1.5}}, 1, "probability is not in"),
        ({"success": True, "response": {"probability": True}}, 1, "probability is not in"),
        ({"success": True, "response": None}, 1, "must be an object or a label"),
        ({"success": True, "response": {"predictions": [PLAIN]}}, 2, "sent 2 records, got 1 predictions back"),
        (
            {"success": True, "response": {"uuid": "u", "prediction": {"predictions": [{"probability": 0.1}] * 2}}},
            2,
            "one uuid for 2 records: send one record per request",
        ),
    ],
)
def test_answers_that_are_not_predictions_fail_the_request(payload: Any, expected: int, message: str) -> None:
    with pytest.raises(RequestFailed, match=message):
        parse_answers(payload, expected)


def _endpoint(url: str, key: str | None = ACCESS_KEY) -> Endpoint:
    return Endpoint("local", f"{url}/model", "bank-test", "7", key, None)


def test_records_go_over_http_one_or_many_per_request(app_server: tuple[str, ServingApp]) -> None:  # noqa: F811
    url, app = app_server
    client = EndpointClient(_endpoint(url))
    try:
        single = client.predict([RECORD])
        batch = client.predict([RECORD, {**RECORD, "age": 70}, {**RECORD, "balance": -300}])
    finally:
        client.close()
    assert len(single) == 1 and single[0].model_version == "7" and single[0].prediction_id
    assert len(batch) == 3 and len({answer.prediction_id for answer in batch}) == 3
    assert batch[0].probability == pytest.approx(single[0].probability)
    expected = app.scorer.score(app.scorer.validator.from_records([RECORD, {**RECORD, "age": 70}]))
    assert [answer.probability for answer in batch[:2]] == pytest.approx([p["probability"] for p in expected])


def test_refusals_carry_the_servers_message(app_server: tuple[str, ServingApp]) -> None:  # noqa: F811
    url, _ = app_server
    client = EndpointClient(_endpoint(url, key="wrong-key"), retries=0)
    with pytest.raises(RequestFailed, match="HTTP 401: the access key given in accessKey is wrong"):
        client.predict([RECORD])
    client = EndpointClient(_endpoint(url), retries=0)
    with pytest.raises(RequestFailed, match=r"HTTP 422: field 'age': expected an integer"):
        client.predict([{**RECORD, "age": "forty"}])


def test_an_endpoint_that_does_not_answer_fails_after_its_retries() -> None:
    client = EndpointClient(_endpoint(f"http://127.0.0.1:{free_port()}"), timeout=2, retries=1)
    with pytest.raises(RequestFailed, match=r"no answer from http://127\.0\.0\.1:\d+/model: ConnectionError"):
        client.predict([RECORD])

"""Every client reads every documented answer shape the same way, and counts failures per prediction."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tqdm import tqdm

from cml_mlops.serving.answers import Answer, AnswerError, parse_answers
from cml_mlops.serving.app import ServingApp
from cml_mlops.simulation.endpoint import Endpoint, EndpointClient
from cml_mlops.simulation.runner import SimulationOptions, _Progress, _send_all
from tests.serving.conftest import app_server  # noqa: F401 - a real model server in a thread
from tests.serving.helpers import ACCESS_KEY

RECORD = {
    "age": 41, "job": "technician", "marital": "married", "education": "secondary", "default": "no",
    "balance": 1200, "housing": "yes", "loan": "no", "contact": "cellular", "day": 5, "month": "may",
    "campaign": 2, "pdays": -1, "previous": 0, "poutcome": "unknown",
}  # fmt: skip

contract = st.fixed_dictionaries(
    {
        "prediction_id": st.uuids().map(str),
        "probability": st.floats(0.0, 1.0),
        "label": st.sampled_from(["yes", "no"]),
        "model_version": st.sampled_from(["1", "7", "12"]),
    }
)
extras = st.dictionaries(st.sampled_from(["ReplicaID", "Size", "StatusCode"]), st.integers() | st.text(max_size=5))


@given(items=st.lists(contract, min_size=1, max_size=12), top=extras, batch_shape=st.booleans())
def test_our_contract_reads_back_in_order_however_it_is_enveloped(
    items: list[dict[str, Any]], top: dict[str, Any], batch_shape: bool
) -> None:
    if len(items) == 1 and not batch_shape:
        response: Any = items[0]
    else:
        response = {"model_version": items[0]["model_version"], "predictions": items}
    answers = parse_answers({**top, "success": True, "response": response}, len(items))
    assert answers == [
        Answer(item["prediction_id"], item["probability"], item["label"], item["model_version"]) for item in items
    ]
    assert parse_answers({"predictions": items}, len(items))[0].probability == items[0]["probability"]  # MLflow's


@given(labels=st.lists(st.sampled_from([0, 1, "yes", "no"]), min_size=1, max_size=12), uuid=st.uuids().map(str))
def test_a_registry_builds_metrics_wrapped_label_list_gives_labels_without_probability(
    labels: list[Any], uuid: str
) -> None:
    payload = {
        "success": True, "ReplicaID": "r-1", "Size": 259, "StatusCode": 200,
        "response": {"model_deployment_crn": "crn:cdp:ml:x", "prediction": labels, "uuid": uuid},
    }  # fmt: skip
    if len(labels) > 1:
        with pytest.raises(AnswerError, match="one uuid for"):
            parse_answers(payload, len(labels))
        unwrapped = {"success": True, "response": labels}  # no metrics: no uuid, a plain list
        answers = parse_answers(unwrapped, len(labels))
        assert [a.label for a in answers] == labels and {a.prediction_id for a in answers} == {None}
    else:
        assert parse_answers(payload, 1) == [Answer(uuid, None, labels[0], None)]


@given(p=st.floats(0.0, 1.0), wrapped=st.booleans())
def test_a_probability_pair_is_the_positive_class_probability(p: float, wrapped: bool) -> None:
    pair = [1.0 - p, p]
    response: Any = {"uuid": "u", "prediction": [pair]} if wrapped else [pair]
    (answer,) = parse_answers({"success": True, "response": response}, 1)
    assert answer.probability == pytest.approx(p) and answer.label is None


@given(items=st.lists(contract, min_size=1, max_size=8), expected=st.integers(1, 10))
def test_a_count_that_differs_from_the_records_sent_is_refused(items: list[dict[str, Any]], expected: int) -> None:
    payload = {"success": True, "response": {"model_version": "1", "predictions": items}}
    if expected == len(items):
        assert len(parse_answers(payload, expected)) == expected
    else:
        with pytest.raises(AnswerError, match=f"sent {expected} records, got {len(items)} predictions back"):
            parse_answers(payload, expected)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.integers(1, 30), size=st.integers(1, 6), bad=st.sets(st.integers(0, 29), max_size=6))
def test_failures_are_counted_per_prediction_and_per_request(
    app_server: tuple[str, ServingApp],  # noqa: F811
    rows: int, size: int, bad: set[int],
) -> None:  # fmt: skip
    url, _ = app_server
    bad = {row for row in bad if row < rows}
    records = [{**RECORD, "age": "not a number"} if row in bad else RECORD for row in range(rows)]
    client = EndpointClient(Endpoint("local", f"{url}/model", "bank-test", "7", ACCESS_KEY, None), retries=0)
    progress = _Progress(rows, tqdm(disable=True))
    options = SimulationOptions(records_per_request=size, concurrency=3, interval_seconds=1.0, progress=False)
    try:
        _send_all(records, client, progress, options, lambda index: float(index))
    finally:
        client.close()
    failed_chunks = {row // size for row in bad}
    failed_rows = sum(min(size, rows - chunk * size) for chunk in failed_chunks)
    assert progress.failed_rows == failed_rows  # a failed request of n records is n failed predictions
    assert len(progress.errors) == len(failed_chunks)  # ... and one failed request
    assert progress.answered == rows - failed_rows
    answered = [i for i in progress.ids if i is not None]
    assert len(answered) == len(set(answered)) == rows - failed_rows

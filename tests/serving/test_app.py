"""The ASGI app over real HTTP (uvicorn on loopback, in a thread): routes, envelopes, keys, limits, draining."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pandas as pd
import pytest

from cml_mlops.serving.app import ServingApp
from tests.serving.conftest import APP_MAX_BODY, APP_MAX_ROWS
from tests.serving.helpers import ACCESS_KEY, envelope

BEARER = {"Authorization": f"Bearer {ACCESS_KEY}"}


@pytest.fixture(scope="module")
def url(app_server: tuple[str, ServingApp]) -> str:
    return app_server[0]


@pytest.fixture(scope="module")
def records(bank_frame: pd.DataFrame, app_server: tuple[str, ServingApp]) -> list[dict[str, Any]]:
    features = app_server[1].scorer.model.features
    return list(json.loads(bank_frame[features].head(APP_MAX_ROWS).to_json(orient="records")))


def test_health_and_ping_need_no_key(url: str) -> None:
    for path in ("/health", "/ping"):
        answer = httpx.get(url + path)
        assert answer.status_code == 200
        assert answer.json()["model_version"] == "7" and answer.json()["status"] == "ok"


def test_one_record_in_the_cml_envelope(url: str, records: list[dict[str, Any]]) -> None:
    answer = httpx.post(f"{url}/model", json=envelope(records[0]))
    assert answer.status_code == 200
    body = answer.json()
    assert body["success"] is True
    assert set(body["response"]) == {"prediction_id", "probability", "label", "model_version"}
    assert answer.headers["server-timing"].startswith("app;dur=")


def test_batches_in_the_envelope_and_on_invocations(url: str, records: list[dict[str, Any]]) -> None:
    rows = records[:5]
    split = {"columns": list(rows[0]), "data": [list(row.values()) for row in rows]}
    by_split = httpx.post(f"{url}/model", json=envelope({"dataframe_split": split})).json()["response"]
    by_records = httpx.post(f"{url}/invocations", json={"dataframe_records": rows}, headers=BEARER).json()
    assert by_split["model_version"] == "7"
    assert [p["probability"] for p in by_split["predictions"]] == [p["probability"] for p in by_records["predictions"]]


def test_a_large_batch_is_scored_off_the_event_loop(url: str, records: list[dict[str, Any]]) -> None:
    payload = {"dataframe_records": records}
    assert len(json.dumps(payload)) > 64 * 1024
    answer = httpx.post(f"{url}/invocations", json=payload, headers=BEARER, timeout=30)
    assert answer.status_code == 200 and len(answer.json()["predictions"]) == APP_MAX_ROWS


@pytest.mark.parametrize(
    ("how", "field"),
    [
        ({"json": envelope({}, key=None)}, "accessKey"),
        ({"json": envelope({}, key="wrong")}, "accessKey"),
        ({"json": envelope({}), "headers": {"Authorization": "Bearer wrong"}}, "Authorization"),
        ({"json": envelope({}), "headers": {"Authorization": "Basic abc"}}, None),
        ({"json": envelope({}, key=None), "params": {"accessKey": "wrong"}}, "accessKey"),
    ],
)
def test_wrong_or_missing_keys_are_401(url: str, how: dict[str, Any], field: str | None) -> None:
    answer = httpx.post(f"{url}/model", **how)
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["field"] == field
    assert ACCESS_KEY not in answer.text
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_the_key_may_come_as_bearer_or_query(url: str, records: list[dict[str, Any]]) -> None:
    assert httpx.post(f"{url}/model", json=envelope(records[0], key=None), headers=BEARER).status_code == 200
    as_query = httpx.post(f"{url}/model", json=envelope(records[0], key=None), params={"accessKey": ACCESS_KEY})
    assert as_query.status_code == 200
    missing = httpx.post(f"{url}/invocations", json={"dataframe_records": records[:1]})
    assert missing.status_code == 401 and missing.json()["error_code"] == "UNAUTHENTICATED"


def test_too_large_by_content_length_is_refused_before_the_body_is_sent(url: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(
            b"POST /model HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {APP_MAX_BODY * 50}\r\n\r\n".encode()
        )
        status_line = raw.recv(200).split(b"\r\n")[0]  # no body sent: the answer cannot have waited for it
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"


def test_too_large_bodies_get_413_whether_declared_or_streamed(url: str) -> None:
    declared = httpx.post(
        f"{url}/model", content=b" " * (APP_MAX_BODY * 3), headers={**BEARER, "content-type": "application/json"}
    )
    assert declared.status_code == 413 and "serving.max_body_bytes" in declared.json()["errors"][0]["message"]
    streamed = httpx.post(
        f"{url}/model", content=iter([b" " * 65536] * 10), headers={**BEARER, "content-type": "application/json"}
    )
    assert streamed.status_code == 413


def test_too_many_rows_is_413(url: str, records: list[dict[str, Any]]) -> None:
    rows = [records[0]] * (APP_MAX_ROWS + 1)
    answer = httpx.post(f"{url}/invocations", json={"dataframe_records": rows}, headers=BEARER)
    assert answer.status_code == 413 and "serving.max_batch_rows" in answer.json()["message"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nowhere", 404), ("POST", "/nowhere", 404), ("GET", "/model", 405), ("POST", "/health", 405)],
)
def test_unknown_routes_and_methods(url: str, method: str, path: str, status: int) -> None:
    assert httpx.request(method, url + path, headers=BEARER).status_code == status


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        (b"", 400, "empty body"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"request": [1]}', 400, "'request' object"),
        (b'{"request": {"age": NaN}}', 400, "malformed JSON"),
        (b'{"request": {"dataframe_split": {}, "dataframe_records": []}}', 400, "exactly one"),
    ],
)
def test_bad_envelopes(url: str, content: bytes, status: int, words: str) -> None:
    answer = httpx.post(f"{url}/model", content=content, headers={**BEARER, "content-type": "application/json"})
    assert answer.status_code == status and words in answer.json()["errors"][0]["message"]


def test_not_json_is_415(url: str) -> None:
    answer = httpx.post(f"{url}/model", content=b"age=41", headers={**BEARER, "content-type": "text/plain"})
    assert answer.status_code == 415


def test_a_draining_server_asks_clients_to_reconnect(
    app_server: tuple[str, ServingApp], records: list[dict[str, Any]]
) -> None:
    url, app = app_server
    with httpx.Client() as client:
        assert "connection" not in client.post(f"{url}/model", json=envelope(records[0])).headers
        app.draining = True
        try:
            answer = client.post(f"{url}/model", json=envelope(records[0]))
        finally:
            app.draining = False
    assert answer.status_code == 200 and answer.headers["connection"] == "close"

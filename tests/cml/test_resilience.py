"""Errors carry the HTTP status and API message; 429/5xx/connection failures are retried, bounded."""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cml_mlops.cml import CmlApiError, CmlClient
from cml_mlops.cml.emulator import CmlEmulator, Faults
from tests.cml.conftest import API_KEY, PROJECT


def test_wrong_key_is_401(emulator: CmlEmulator) -> None:
    client = CmlClient(emulator.url, "not-the-key", environ={}, sleep=lambda _: None)
    with pytest.raises(CmlApiError) as err:
        client.list_projects()
    assert err.value.status == 401 and err.value.code == 16
    assert "invalid API key" in err.value.message
    assert client.request_count == 1  # 401 is not retried


def test_not_found_message_surfaces(client: CmlClient) -> None:
    with pytest.raises(CmlApiError) as err:
        client.get_job(PROJECT, "nope-nope-nope-nope")
    assert (err.value.status, err.value.code) == (404, 5)
    assert err.value.message == "job not found: nope-nope-nope-nope"
    assert "get_job" in str(err.value) and "404" in str(err.value)


def test_invalid_request_is_400_with_message(client: CmlClient) -> None:
    with pytest.raises(CmlApiError) as err:
        client.create_job({"name": "no-script"}, PROJECT)
    assert err.value.status == 400 and err.value.message == "name and script are required"
    with pytest.raises(CmlApiError) as bad_filter:
        client.list_jobs(PROJECT, search_filter="{not json")
    assert bad_filter.value.status == 400


@pytest.mark.parametrize("faults", [Faults(rate_limited={"list_projects": 2}, retry_after=7)])
def test_429_is_retried_after_retry_after(client: CmlClient, emulator: CmlEmulator, sleeps: list[float]) -> None:
    assert client.list_projects()["projects"][0]["id"] == PROJECT
    assert [r.status for r in emulator.requests_for("list_projects")] == [429, 429, 200]
    assert client.retry_count == 2 and client.request_count == 3
    assert sleeps == [7.0, 7.0]  # the server's Retry-After, not the client's backoff


@pytest.mark.parametrize("faults", [Faults(rate_limited={"list_jobs": 1}, retry_after=3600)])
def test_retry_after_is_capped_by_backoff_max(emulator: CmlEmulator) -> None:
    sleeps: list[float] = []
    client = CmlClient(emulator.url, API_KEY, backoff_max=5, environ={}, sleep=sleeps.append)
    assert client.list_jobs(PROJECT)["jobs"] == []
    assert sleeps == [5.0]


@pytest.mark.parametrize("faults", [Faults(failing_calls={"create_job": {1: 503}})])
def test_503_on_create_then_success(client: CmlClient, emulator: CmlEmulator, sleeps: list[float]) -> None:
    job = client.create_job({"name": "j", "script": "j.py"}, PROJECT)
    assert [r.status for r in emulator.requests_for("create_job")] == [503, 200]
    assert client.list_jobs(PROJECT)["jobs"] == [job]  # exactly one job made
    assert len(sleeps) == 1 and 0.25 <= sleeps[0] <= 0.5  # first backoff step with jitter: base/2..base


@pytest.mark.parametrize("faults", [Faults(failing_calls={"get_project": {n: 500 for n in range(1, 10)}})])
def test_exhausted_retries_raise_the_last_error(client: CmlClient, emulator: CmlEmulator, sleeps: list[float]) -> None:
    with pytest.raises(CmlApiError) as err:
        client.get_project(PROJECT)
    assert err.value.status == 500 and "injected failure" in err.value.message
    assert len(emulator.requests_for("get_project")) == client.max_attempts == 4
    assert len(sleeps) == 3
    # Exponential: each ceiling doubles (jitter keeps each delay within [ceiling/2, ceiling]).
    for attempt, delay in enumerate(sleeps, start=1):
        ceiling = 0.5 * 2 ** (attempt - 1)
        assert ceiling / 2 <= delay <= ceiling


@pytest.mark.parametrize("faults", [Faults(failing_calls={"get_project": {n: 502 for n in range(1, 41, 2)}})])
def test_backoff_is_jittered(client: CmlClient, sleeps: list[float]) -> None:
    for _ in range(20):  # odd calls fail, even calls succeed: one first-step delay each
        client.get_project(PROJECT)
    assert len(sleeps) == 20 and len(set(sleeps)) > 1


def test_connection_errors_are_retried_then_reported() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    client = CmlClient(f"http://127.0.0.1:{port}", API_KEY, max_attempts=3, environ={}, sleep=sleeps.append)
    with pytest.raises(CmlApiError) as err:
        client.list_projects()
    assert err.value.status == 0 and "no response after 3 attempts" in err.value.message
    assert client.request_count == 3 and len(sleeps) == 2


@pytest.mark.parametrize("faults", [Faults(slow={"get_project": 1.0})])
def test_every_call_has_a_timeout(emulator: CmlEmulator) -> None:
    client = CmlClient(emulator.url, API_KEY, timeout=0.05, max_attempts=2, environ={}, sleep=lambda _: None)
    with pytest.raises(CmlApiError) as err:
        client.get_project(PROJECT)
    assert err.value.status == 0 and "Timeout" in err.value.message


@pytest.mark.parametrize("faults", [Faults(rate_limited={"get_job": 9}, failing_calls={"list_jobs": {1: 500}})])
def test_the_key_never_leaks(
    client: CmlClient, emulator: CmlEmulator, caplog: pytest.LogCaptureFixture, faults: Faults
) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3/requests debug lines included
    messages = [repr(client), str(client.__dict__.get("base_url"))]
    client.list_jobs(PROJECT)  # one retried 500 -> warning log
    for call in (
        lambda: client.get_job(PROJECT, "x"),
        lambda: CmlClient(emulator.url, API_KEY + "x", environ={}).list_jobs(PROJECT),
    ):
        with pytest.raises(CmlApiError) as err:
            call()
        messages += [str(err.value), repr(err.value), err.value.message]
    messages += [record.getMessage() for record in caplog.records]
    assert caplog.records  # the retries were logged
    assert not [m for m in messages if API_KEY in m]
    assert all(API_KEY not in repr(r) for r in emulator.requests)


class _EchoingProxy(BaseHTTPRequestHandler):
    """A misbehaving gateway that echoes the authorization header in its error body."""

    def do_GET(self) -> None:
        data = json.dumps({"message": f"rejected {self.headers.get('authorization')}", "code": 3}).encode()
        self.send_response(400)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_a_key_echoed_by_the_server_is_redacted() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingProxy)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        client = CmlClient(f"http://127.0.0.1:{server.server_address[1]}", API_KEY, environ={})
        with pytest.raises(CmlApiError) as err:
            client.list_projects()
        assert err.value.message == "rejected Bearer ***"
        assert API_KEY not in str(err.value)
    finally:
        server.shutdown()
        server.server_close()

"""download(): real HTTP on loopback, real files; retries, limits, atomicity, redaction."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cml_mlops.errors import DownloadError
from cml_mlops.ingest.download import download, redact_url

FAST = {"timeout": 5.0, "retries": 3, "max_bytes": 10_000_000, "progress": False, "backoff_factor": 0.0}


def fetch(url: str, dest: Path, **overrides: object) -> Path:
    return download(url, dest, **{**FAST, **overrides})  # type: ignore[arg-type]


def only_file_is(folder: Path, name: str | None) -> bool:
    """True when `folder` holds exactly `name` (or nothing at all): no temporary file left behind."""
    names = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    return names == ([name] if name else [])


def test_http_download_writes_the_exact_bytes(server, bank_zip, tmp_path):
    dest = tmp_path / "dl" / "bank.zip"
    assert fetch(server.url("bank.zip"), dest) == dest
    assert dest.read_bytes() == bank_zip.read_bytes()
    assert server.requests == ["/bank.zip"]
    assert only_file_is(dest.parent, "bank.zip")


@pytest.mark.parametrize("form", ["file-url", "plain-path", "file-url-with-space"])
def test_local_sources_are_copied(form, bank_zip, tmp_path):
    folder = tmp_path / ("with space" if form == "file-url-with-space" else "src")
    folder.mkdir()
    source = folder / "bank.zip"
    source.write_bytes(bank_zip.read_bytes())
    url = str(source) if form == "plain-path" else source.as_uri()
    dest = tmp_path / "out" / "bank.zip"
    fetch(url, dest)
    assert dest.read_bytes() == bank_zip.read_bytes()
    assert only_file_is(dest.parent, "bank.zip")


def test_redirects_are_followed(server, bank_zip, tmp_path):
    server.fail(302, headers={"Location": "/bank.zip"})
    dest = fetch(server.url("old-name.zip"), tmp_path / "bank.zip", retries=0)
    assert dest.read_bytes() == bank_zip.read_bytes()
    assert server.requests == ["/old-name.zip", "/bank.zip"]


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_until_success(server, bank_zip, tmp_path, status):
    server.fail(status, times=2)
    dest = fetch(server.url("bank.zip"), tmp_path / "bank.zip", retries=3)
    assert dest.read_bytes() == bank_zip.read_bytes()
    assert len(server.requests) == 3


def test_429_with_retry_after_zero_is_retried(server, tmp_path):
    server.fail(429, headers={"Retry-After": "0"})
    fetch(server.url("bank.zip"), tmp_path / "bank.zip", retries=1)
    assert len(server.requests) == 2


def test_retry_after_is_respected(server, tmp_path):
    # backoff_factor is 0: any wait comes from the header.
    server.fail(503, headers={"Retry-After": "1"})
    started = time.monotonic()
    fetch(server.url("bank.zip"), tmp_path / "bank.zip", retries=1)
    assert time.monotonic() - started >= 0.9
    assert len(server.requests) == 2


def test_retries_exhausted_raise_and_keep_the_old_file(server, tmp_path):
    dest = tmp_path / "bank.zip"
    dest.write_bytes(b"previous good copy")
    server.fail(503, times=3)
    with pytest.raises(DownloadError, match=r"HTTP 503 .*after 2 retries") as err:
        fetch(server.url("bank.zip"), dest, retries=2)
    assert server.url("bank.zip") in str(err.value)
    assert len(server.requests) == 3
    assert dest.read_bytes() == b"previous good copy"
    assert only_file_is(tmp_path, "bank.zip")


def test_404_is_not_retried(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404") as err:
        fetch(server.url("missing.zip"), tmp_path / "x.zip", retries=3)
    assert server.url("missing.zip") in str(err.value)
    assert len(server.requests) == 1
    assert only_file_is(tmp_path, None)


def test_unreachable_host_names_url_and_cause(closed_port_url, tmp_path):
    with pytest.raises(DownloadError) as err:
        fetch(closed_port_url, tmp_path / "bank.zip", retries=2)
    message = str(err.value)
    assert closed_port_url in message
    assert "Connection refused" in message
    assert "after 2 retries" in message
    assert only_file_is(tmp_path, None)


def test_credentials_never_appear_in_errors(server, closed_port_url, tmp_path):
    url = server.url("missing.zip", userinfo="alice:s3cret-pw@")
    with pytest.raises(DownloadError) as err:
        fetch(url, tmp_path / "x.zip")
    assert "s3cret-pw" not in str(err.value)
    assert "alice" not in str(err.value)
    assert "***@127.0.0.1" in str(err.value)

    refused = closed_port_url.replace("http://", "http://alice:s3cret-pw@")
    with pytest.raises(DownloadError) as err:
        fetch(refused, tmp_path / "x.zip", retries=0)
    assert "s3cret-pw" not in str(err.value)
    assert "alice" not in str(err.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@example.org/a.zip", "https://***@example.org/a.zip"),
        ("https://token@example.org:8443/a.zip?x=1", "https://***@example.org:8443/a.zip?x=1"),
        ("https://example.org/a.zip", "https://example.org/a.zip"),
        ("/data/bank.zip", "/data/bank.zip"),
        ("http://[::1/bad", "<unparsable URL>"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_content_length_over_the_limit_is_refused_before_streaming(server, tmp_path):
    with pytest.raises(DownloadError, match=r"577,033 bytes, more than the limit of 1,000"):
        fetch(server.url("bank.zip"), tmp_path / "bank.zip", max_bytes=1000)
    assert len(server.requests) == 1
    assert only_file_is(tmp_path, None)


def test_streamed_bytes_over_the_limit_are_refused_without_content_length(server, tmp_path):
    server.without_length()
    with pytest.raises(DownloadError, match=r"more than the limit of 1,000 bytes .*stopped"):
        fetch(server.url("bank.zip"), tmp_path / "bank.zip", max_bytes=1000)
    assert only_file_is(tmp_path, None)


def test_body_without_content_length_downloads_completely(server, bank_zip, tmp_path):
    server.without_length()
    dest = fetch(server.url("bank.zip"), tmp_path / "bank.zip")
    assert dest.read_bytes() == bank_zip.read_bytes()


def test_local_file_over_the_limit_is_refused(bank_zip, tmp_path):
    with pytest.raises(DownloadError, match="more than the limit"):
        fetch(str(bank_zip), tmp_path / "out" / "bank.zip", max_bytes=1000)
    assert only_file_is(tmp_path / "out", None)


def test_connection_cut_mid_body_is_restarted(server, bank_zip, tmp_path):
    server.cut()
    dest = fetch(server.url("bank.zip"), tmp_path / "bank.zip", retries=1)
    assert dest.read_bytes() == bank_zip.read_bytes()
    assert len(server.requests) == 2


def test_connection_cut_every_time_raises_and_keeps_the_old_file(server, tmp_path):
    dest = tmp_path / "bank.zip"
    dest.write_bytes(b"previous good copy")
    server.cut(times=2)
    with pytest.raises(DownloadError, match="broke mid-transfer 2 time"):
        fetch(server.url("bank.zip"), dest, retries=1)
    assert dest.read_bytes() == b"previous good copy"
    assert only_file_is(tmp_path, "bank.zip")


def test_slow_server_times_out(server, tmp_path):
    server.stall(2.0)
    with pytest.raises(DownloadError, match=r"no answer within 0.2 s"):
        fetch(server.url("bank.zip"), tmp_path / "bank.zip", timeout=0.2, retries=0)
    assert only_file_is(tmp_path, None)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/bank.zip", "unsupported URL scheme 'ftp'"),
        ("s3://bucket/bank.zip", "unsupported URL scheme 's3'"),
        ("file://otherhost/data/bank.zip", "another host"),
        ("http://[::1/bank.zip", "malformed URL"),
    ],
)
def test_unsupported_urls_are_refused_before_touching_disk(url, message, tmp_path):
    with pytest.raises(DownloadError, match=message):
        fetch(url, tmp_path / "dl" / "bank.zip")
    assert not (tmp_path / "dl").exists()


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_missing_or_non_file_local_source(kind, tmp_path):
    source = tmp_path / "source"
    if kind == "folder":
        source.mkdir()
    reason = "no such file" if kind == "missing" else "not a file"
    with pytest.raises(DownloadError, match=reason):
        fetch(str(source), tmp_path / "out" / "bank.zip")
    assert only_file_is(tmp_path / "out", None)


def test_progress_bar_goes_to_stderr_only_when_asked(server, tmp_path, capsys):
    fetch(server.url("bank.zip"), tmp_path / "a.zip", progress=True)
    shown = capsys.readouterr()
    assert "bank.zip" in shown.err
    assert shown.out == ""

    fetch(server.url("bank.zip"), tmp_path / "b.zip", progress=False)
    assert capsys.readouterr() == ("", "")

"""fetch_dataset(): the whole step against a loopback server, local paths and a real project config."""

from __future__ import annotations

import logging
import shutil

import pytest

from cml_mlops.errors import ChecksumError, DataFormatError, DownloadError, UnsafeArchiveError
from cml_mlops.ingest import IngestResult, fetch_dataset

BANK_FULL_SHA256 = "d1513ec63b385506f7cfce9f2c5caa9fe99e7ba4e8c3fa264b3aaf0f849ed32d"
BANK_FULL_BYTES = 4_610_348
BANK_SHA256 = "dc8d576e9bda0f41ee891251bd84bab9a39ce576cba715aac08adc2374a01fde"


def raw_files(config) -> list[str]:
    """Everything under the raw folder, relative: the CSV and nothing else once a run is over."""
    raw = config.path(config.data.raw_dir)
    return sorted(str(p.relative_to(raw)) for p in raw.rglob("*")) if raw.exists() else []


def test_fetches_extracts_and_verifies_over_http(server, make_config):
    config = make_config(url=server.url("bank.zip"))
    result = fetch_dataset(config, progress=False)
    target = config.root / "data" / "raw" / "bank-full.csv"
    assert result == IngestResult(
        csv_path=target,
        sha256=BANK_FULL_SHA256,
        source=server.url("bank.zip"),
        skipped=False,
        bytes=BANK_FULL_BYTES,
    )
    assert target.stat().st_size == BANK_FULL_BYTES
    assert server.requests == ["/bank.zip"]
    # The archive and the staging folder are gone.
    assert raw_files(config) == ["bank-full.csv"]


def test_cached_file_with_matching_checksum_skips_the_network(server, make_config):
    config = make_config(url=server.url("bank.zip"))
    fetch_dataset(config, progress=False)
    target = config.root / "data" / "raw" / "bank-full.csv"
    mtime = target.stat().st_mtime_ns

    result = fetch_dataset(config, progress=False)
    assert result.skipped
    assert (result.sha256, result.bytes, result.csv_path) == (BANK_FULL_SHA256, BANK_FULL_BYTES, target)
    assert server.requests == ["/bank.zip"]  # no second request
    assert target.stat().st_mtime_ns == mtime


def test_force_fetches_even_when_cached(server, make_config):
    config = make_config(url=server.url("bank.zip"))
    fetch_dataset(config, progress=False)
    result = fetch_dataset(config, progress=False, force=True)
    assert not result.skipped
    assert len(server.requests) == 2


def test_cached_file_with_other_content_is_fetched_again(server, make_config):
    config = make_config(url=server.url("bank.zip"))
    target = config.root / "data" / "raw" / "bank-full.csv"
    target.parent.mkdir(parents=True)
    target.write_text("stale")
    result = fetch_dataset(config, progress=False)
    assert not result.skipped
    assert result.sha256 == BANK_FULL_SHA256
    assert len(server.requests) == 1


def test_without_configured_checksum_it_always_fetches_and_warns(server, make_config, caplog):
    config = make_config(url=server.url("bank.zip"), sha256="")
    with caplog.at_level(logging.WARNING, logger="cml_mlops.ingest"):
        first = fetch_dataset(config, progress=False)
        second = fetch_dataset(config, progress=False)
    assert first.sha256 == second.sha256 == BANK_FULL_SHA256
    assert not second.skipped
    assert len(server.requests) == 2
    assert "data.sha256 is not set" in caplog.text
    assert BANK_FULL_SHA256 in caplog.text


def test_checksum_mismatch_keeps_the_previous_file(server, make_config):
    config = make_config(url=server.url("bank.zip"), sha256=BANK_SHA256)  # the wrong member's digest
    target = config.root / "data" / "raw" / "bank-full.csv"
    target.parent.mkdir(parents=True)
    target.write_text("previous file")
    with pytest.raises(ChecksumError) as err:
        fetch_dataset(config, progress=False)
    message = str(err.value)
    assert BANK_SHA256 in message  # expected
    assert BANK_FULL_SHA256 in message  # actual
    assert target.read_text() == "previous file"
    assert raw_files(config) == ["bank-full.csv"]


def test_reported_source_hides_credentials(server, make_config):
    config = make_config(url=server.url("bank.zip", userinfo="alice:s3cret-pw@"))
    result = fetch_dataset(config, progress=False)
    assert result.source == server.url("bank.zip", userinfo="***@")
    assert result.sha256 == BANK_FULL_SHA256


def test_plain_csv_url(server, make_config):
    config = make_config(url=server.url("bank.csv"), member="bank.csv", sha256=BANK_SHA256)
    result = fetch_dataset(config, progress=False)
    assert result.csv_path == config.root / "data" / "raw" / "bank.csv"
    assert result.sha256 == BANK_SHA256
    assert raw_files(config) == ["bank.csv"]


def test_file_url(bank_zip, make_config):
    config = make_config(url=bank_zip.as_uri())
    assert fetch_dataset(config, progress=False).sha256 == BANK_FULL_SHA256


def test_relative_local_path_is_relative_to_the_project(bank_zip, make_config, tmp_path, monkeypatch):
    config = make_config(url="inbox/bank.zip", raw_dir="raw")
    (config.root / "inbox").mkdir()
    shutil.copyfile(bank_zip, config.root / "inbox" / "bank.zip")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = fetch_dataset(config, progress=False)
    assert result.csv_path == config.root / "raw" / "bank-full.csv"
    assert (config.root / "inbox" / "bank.zip").exists()  # the source is copied, never moved
    assert list(elsewhere.iterdir()) == []


def test_failed_download_keeps_the_previous_file_and_leaves_nothing(server, make_config):
    config = make_config(url=server.url("missing.zip"), sha256="")
    target = config.root / "data" / "raw" / "bank-full.csv"
    target.parent.mkdir(parents=True)
    target.write_text("previous file")
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch_dataset(config, progress=False)
    assert target.read_text() == "previous file"
    assert raw_files(config) == ["bank-full.csv"]


def test_missing_member_leaves_nothing(server, make_config):
    config = make_config(url=server.url("bank.zip"), member="bank-additional-full.csv")
    with pytest.raises(DataFormatError, match=r"bank-full\.csv, bank\.csv"):
        fetch_dataset(config, progress=False)
    assert raw_files(config) == []


def test_unsafe_member_in_config_is_refused_before_any_request(server, make_config):
    config = make_config(url=server.url("bank.zip"), member="../bank-full.csv")
    with pytest.raises(UnsafeArchiveError):
        fetch_dataset(config, progress=False)
    assert server.requests == []


def test_size_limits_come_from_the_config(server, make_config):
    config = make_config(url=server.url("bank.zip"), max_download_bytes=1000)
    with pytest.raises(DownloadError, match=r"data\.max_download_bytes"):
        fetch_dataset(config, progress=False)
    config = make_config(url=server.url("bank.zip"), max_extracted_bytes=1_000_000)
    with pytest.raises(UnsafeArchiveError, match=r"data\.max_extracted_bytes"):
        fetch_dataset(config, progress=False)
    assert raw_files(config) == []

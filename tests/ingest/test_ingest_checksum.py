"""sha256_file(): chunked hashing gives the same digest as hashing the whole content."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cml_mlops.ingest.checksum import sha256_file

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_empty_file(tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    assert sha256_file(path) == EMPTY_SHA256


def test_matches_hashlib_on_the_shared_zip(bank_zip):
    assert sha256_file(bank_zip) == hashlib.sha256(bank_zip.read_bytes()).hexdigest()


@settings(max_examples=50, deadline=None)
@given(content=st.binary(max_size=5000), chunk=st.integers(min_value=1, max_value=300))
def test_any_chunk_size_gives_the_same_digest(tmp_path_factory, content, chunk):
    path = tmp_path_factory.mktemp("sha") / "f"
    path.write_bytes(content)
    assert sha256_file(path, chunk_bytes=chunk) == hashlib.sha256(content).hexdigest()


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        sha256_file(tmp_path / "nope")

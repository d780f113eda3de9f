"""The ingest step: fetch the configured data set and leave its CSV, verified, under `data.raw_dir`.

The CSV lands at `raw_dir / data.member`. When it is already there with the configured SHA-256, nothing
is fetched. Otherwise the URL is downloaded to `raw_dir/_downloads/`, the member extracted beside it,
checked, and only then moved over the previous file, so a failed run never spoils a good copy.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cml_mlops.config import ProjectConfig
from cml_mlops.errors import ChecksumError
from cml_mlops.ingest.archive import extract_member, member_path
from cml_mlops.ingest.checksum import sha256_file
from cml_mlops.ingest.download import download, redact_url

__all__ = ["IngestResult", "fetch_dataset"]

log = logging.getLogger(__name__)

DOWNLOADS_DIR = "_downloads"


@dataclass(frozen=True)
class IngestResult:
    """What `fetch_dataset` left on disk, and whether it had to fetch it."""

    csv_path: Path
    sha256: str
    source: str
    skipped: bool
    bytes: int


def fetch_dataset(config: ProjectConfig, *, progress: bool = True, force: bool = False) -> IngestResult:
    """Make sure the configured CSV is in the raw folder, fetching it unless a verified copy is there.

    `force` fetches even when the cached copy matches. Raises DownloadError, ChecksumError,
    UnsafeArchiveError or DataFormatError; on any of them the previous CSV stays as it was.
    """
    data = config.data
    raw_dir = config.path(data.raw_dir)
    target = member_path(raw_dir, data.member)
    source = redact_url(data.url)
    if not force and data.sha256 and target.is_file():
        cached = sha256_file(target)
        if cached == data.sha256:
            log.debug("%s is up to date (sha256 %s): nothing to fetch", target, cached)
            return IngestResult(target, cached, source, skipped=True, bytes=target.stat().st_size)
        log.warning("%s has sha256 %s, not the configured %s: fetching again", target, cached, data.sha256)

    downloads = raw_dir / DOWNLOADS_DIR
    archive = downloads / _download_name(data.url)
    try:
        download(
            _resolve_local(config, data.url),
            archive,
            timeout=data.timeout_seconds,
            retries=data.retries,
            max_bytes=data.max_download_bytes,
            progress=progress,
        )
        digest, size = _install_member(config, archive, target)
    finally:
        archive.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # only when empty: leave anything else alone
            downloads.rmdir()
    log.debug("fetched %s from %s (%d bytes, sha256 %s)", target, source, size, digest)
    return IngestResult(target, digest, source, skipped=False, bytes=size)


def _install_member(config: ProjectConfig, archive: Path, target: Path) -> tuple[str, int]:
    """Extract and verify the member in a private staging folder, then move it over `target`."""
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=archive.parent))
    try:
        staged = extract_member(
            archive,
            config.data.member,
            staging,
            max_members=config.data.max_members,
            max_total_bytes=config.data.max_extracted_bytes,
        )
        digest = _verified_sha256(staged, config)
        size = staged.stat().st_size
        target.parent.mkdir(parents=True, exist_ok=True)
        staged.replace(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return digest, size


def _verified_sha256(staged: Path, config: ProjectConfig) -> str:
    actual = sha256_file(staged)
    expected = config.data.sha256
    if not expected:
        log.warning(
            "data.sha256 is not set: accepting %s unverified (sha256 %s); pin it in cml-mlops.yaml",
            config.data.member,
            actual,
        )
    elif actual != expected:
        raise ChecksumError(
            f"{config.data.member} from {redact_url(config.data.url)} has sha256 {actual}, expected "
            f"{expected} (data.sha256): the source changed or the download is corrupt; "
            "the previous file was kept"
        )
    return actual


def _resolve_local(config: ProjectConfig, url: str) -> str:
    """A relative local path is relative to the project root, not to wherever the command runs."""
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        return url  # download() reports the malformed URL
    if scheme == "" and not Path(url).is_absolute():
        return str(config.path(url))
    return url


def _download_name(url: str) -> str:
    """A safe file name for the download, taken from the URL's last path segment."""
    try:
        name = unquote(Path(urlsplit(url).path).name)
    except ValueError:
        name = ""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")
    return safe or "download"

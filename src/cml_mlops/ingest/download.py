"""Fetch a URL or a local file to disk: streamed, size-limited, retried, and atomic.

`dest` either keeps its previous content or gets the complete new file: bytes go to a temporary
file beside it, which replaces `dest` only once everything has arrived.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sys
import time
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit
from urllib.request import url2pathname

import requests
import urllib3
from requests.adapters import HTTPAdapter
from tqdm import tqdm
from urllib3.util.retry import Retry

from cml_mlops.errors import DownloadError

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 16
RETRY_STATUSES = (429, 500, 502, 503, 504)
DEFAULT_BACKOFF_FACTOR = 0.5
# A body cut mid-transfer restarts the download; never wait longer than this between restarts.
MAX_RESTART_WAIT_SECONDS = 30.0


class _Interrupted(Exception):
    """The connection broke while the body was streaming (urllib3's Retry only covers the headers)."""


def redact_url(url: str) -> str:
    """`url` without the user name and password it may carry: safe to log and to show."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def download(
    url: str,
    dest: Path,
    *,
    timeout: float,
    retries: int,
    max_bytes: int,
    progress: bool = True,
    backoff_factor: float = DEFAULT_BACKOFF_FACTOR,
) -> Path:
    """Fetch `url` (http(s)://, file:// or a local path) to `dest` and return `dest`.

    Transient HTTP failures (connection errors, 429/5xx, a body cut short) are retried `retries` times
    with exponential backoff (`backoff_factor` seconds, doubling); a Retry-After header is respected.
    More than `max_bytes` bytes, or any other failure, raises DownloadError; `dest` is then unchanged.
    """
    shown = redact_url(url)
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError as exc:
        raise DownloadError(f"cannot download {shown}: malformed URL ({exc})") from None
    local = None if scheme in ("http", "https") else _local_path(url, scheme, shown)
    try:
        with atomic_output(dest) as out:
            if local is None:
                written = _download_http(
                    url,
                    out,
                    shown=shown,
                    timeout=timeout,
                    retries=retries,
                    backoff_factor=backoff_factor,
                    max_bytes=max_bytes,
                    progress=progress,
                )
            else:
                written = _copy_local(local, out, shown=shown, max_bytes=max_bytes, progress=progress)
    except OSError as exc:
        raise DownloadError(f"cannot download {shown} to {dest}: {exc}") from None
    log.debug("downloaded %s to %s (%d bytes)", shown, dest, written)
    return dest


@contextlib.contextmanager
def atomic_output(dest: Path) -> Iterator[IO[bytes]]:
    """A binary file whose content replaces `dest` when the block succeeds, and vanishes when it fails."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp, handle = _create_temp_beside(dest)
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(dest)
    finally:
        temp.unlink(missing_ok=True)


def _create_temp_beside(dest: Path) -> tuple[Path, IO[bytes]]:
    # os.open with 0o666 keeps the user's umask (tempfile would force 0o600 on the final file);
    # the same folder makes os.replace an atomic rename.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = dest.parent / f".{dest.name}.{secrets.token_hex(6)}.part"
        try:
            return temp, os.fdopen(os.open(temp, flags, 0o666), "wb")
        except FileExistsError:
            continue


def _local_path(url: str, scheme: str, shown: str) -> Path:
    if scheme == "file":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise DownloadError(f"cannot download {shown}: file:// URLs on another host are not supported")
        return Path(url2pathname(parts.path))
    if scheme == "" or len(scheme) == 1:  # a plain path, or a Windows drive letter
        return Path(url)
    raise DownloadError(
        f"cannot download {shown}: unsupported URL scheme {scheme!r}; use http(s)://, file:// or a local path"
    )


def _copy_local(source: Path, out: IO[bytes], *, shown: str, max_bytes: int, progress: bool) -> int:
    try:
        if not source.is_file():
            reason = "it is not a file" if source.exists() else "no such file"
            raise DownloadError(f"cannot copy {shown}: {reason}")
        size = source.stat().st_size
        _check_declared_size(size, max_bytes, shown)
        with source.open("rb") as handle, _progress_bar(size, source.name, progress) as bar:
            return _write_limited(iter(partial(handle.read, CHUNK_BYTES), b""), out, max_bytes, shown, bar)
    except OSError as exc:
        raise DownloadError(f"cannot copy {shown}: {exc.strerror or exc}") from None


def _download_http(
    url: str,
    out: IO[bytes],
    *,
    shown: str,
    timeout: float,
    retries: int,
    backoff_factor: float,
    max_bytes: int,
    progress: bool,
) -> int:
    label = Path(urlsplit(url).path).name or "download"
    with _session(retries, backoff_factor) as session:
        for attempt in range(retries + 1):
            out.seek(0)
            out.truncate()
            try:
                with session.get(url, stream=True, timeout=timeout) as response:
                    _check_status(response, shown, retries)
                    total = _content_length(response)
                    if total is not None:
                        _check_declared_size(total, max_bytes, shown)
                    with _progress_bar(total, label, progress) as bar:
                        return _write_limited(_body(response), out, max_bytes, shown, bar)
            except _Interrupted as exc:
                if attempt == retries:
                    raise DownloadError(
                        f"cannot download {shown}: the connection broke mid-transfer "
                        f"{retries + 1} time(s); last error: {_scrub(str(exc), url)}"
                    ) from None
                wait = min(backoff_factor * 2**attempt, MAX_RESTART_WAIT_SECONDS)
                log.warning("download of %s interrupted; restarting in %.1f s", shown, wait)
                time.sleep(wait)
            except requests.exceptions.RequestException as exc:
                raise DownloadError(f"cannot download {shown}: {_describe(exc, url, timeout, retries)}") from None
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def _session(retries: int, backoff_factor: float) -> requests.Session:
    retry = Retry(
        total=retries,
        backoff_factor=backoff_factor,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        # Hand back the last error response, so that the message can quote its status.
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _check_status(response: requests.Response, shown: str, retries: int) -> None:
    if response.status_code < 400:
        return
    reason = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
    if response.status_code in RETRY_STATUSES and retries:
        reason += f" (still failing after {retries} retries)"
    raise DownloadError(f"cannot download {shown}: {reason}")


def _content_length(response: requests.Response) -> int | None:
    try:
        return int(response.headers["Content-Length"])
    except (KeyError, ValueError):
        return None


def _check_declared_size(size: int, max_bytes: int, shown: str) -> None:
    if size > max_bytes:
        raise DownloadError(
            f"cannot download {shown}: it is {size:,} bytes, more than the limit of {max_bytes:,} "
            "(data.max_download_bytes)"
        )


def _body(response: requests.Response) -> Iterator[bytes]:
    try:
        yield from response.iter_content(CHUNK_BYTES)
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError) as exc:
        raise _Interrupted(str(exc)) from exc


def _write_limited(chunks: Iterable[bytes], out: IO[bytes], max_bytes: int, shown: str, bar: tqdm) -> int:
    # Count what really arrives: Content-Length may be absent or wrong.
    written = 0
    for chunk in chunks:
        written += len(chunk)
        if written > max_bytes:
            raise DownloadError(
                f"cannot download {shown}: more than the limit of {max_bytes:,} bytes "
                "(data.max_download_bytes); stopped"
            )
        out.write(chunk)
        bar.update(len(chunk))
    return written


def _progress_bar(total: int | None, label: str, enabled: bool) -> tqdm:
    return tqdm(
        total=total,
        desc=label,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        disable=not enabled,
        leave=False,
    )


def _describe(exc: requests.exceptions.RequestException, url: str, timeout: float, retries: int) -> str:
    # requests wraps urllib3's MaxRetryError; its `reason` is the readable part.
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    timed_out = isinstance(exc, requests.exceptions.Timeout) or (
        isinstance(reason, urllib3.exceptions.TimeoutError)
        # NewConnectionError subclasses ConnectTimeoutError, yet means "refused" or "unreachable".
        and not isinstance(reason, urllib3.exceptions.NewConnectionError)
    )
    text = f"no answer within {timeout:g} s (data.timeout_seconds)" if timed_out else str(reason or exc)
    if retries and reason is not None:
        text += f" (after {retries} retries)"
    return _scrub(text, url)


def _scrub(text: str, url: str) -> str:
    """Remove the URL's credentials from a library's error text."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    for secret in (userinfo, parts.password):
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text

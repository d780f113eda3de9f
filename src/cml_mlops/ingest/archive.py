"""Extract the one CSV the project uses from a downloaded archive, refusing anything that could escape.

Every entry is checked before anything is written: names that leave the folder (absolute, `..`,
backslashes, drive letters), links and special files, too many members, too many declared bytes.
The wanted member is then streamed out while its real bytes are counted, since headers can lie.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from pathlib import Path
from typing import IO

from cml_mlops.errors import DataFormatError, UnsafeArchiveError
from cml_mlops.ingest.download import atomic_output

CHUNK_BYTES = 1 << 16
# Local file header, empty archive, spanned archive: a file starting with these is meant as a zip.
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
MAX_LISTED_MEMBERS = 20
_DRIVE = re.compile(r"^[A-Za-z]:")


def extract_member(
    archive: Path,
    member: str,
    dest_dir: Path,
    *,
    max_members: int,
    max_total_bytes: int,
) -> Path:
    """Write `member` of the zip `archive` to `dest_dir / member` and return that path.

    A plain file (not a zip) is the member itself: it is copied to `dest_dir / member`.
    Unsafe archives raise UnsafeArchiveError, corrupt ones or a missing member DataFormatError;
    either way nothing is left at the target.
    """
    target = member_path(dest_dir, member)
    if not _looks_like_zip(archive):
        _copy_plain(archive, target, max_total_bytes)
        return target
    try:
        with zipfile.ZipFile(archive) as zf:
            info = _wanted_member(zf, archive, member, max_members, max_total_bytes)
            with zf.open(info) as source, atomic_output(target) as out:
                copy_limited(source, out, limit=max_total_bytes, name=member)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise DataFormatError(f"{archive.name} is not a valid zip (truncated?): {exc}") from None
    except NotImplementedError as exc:
        raise DataFormatError(f"{archive.name}: cannot extract {member!r}: {exc}") from None
    return target


def unsafe_reason(name: str) -> str | None:
    """Why an archive entry named `name` could write outside its folder, or None when it cannot."""
    if not name:
        return "it has an empty name"
    if "\x00" in name:
        return "its name holds a NUL byte"
    if "\\" in name:
        return "its name holds a backslash (a Windows path separator)"
    if name.startswith("/"):
        return "it is an absolute path"
    if _DRIVE.match(name):
        return "it starts with a Windows drive"
    if ".." in name.split("/"):
        return "a '..' component leads out of the folder"
    return None


def member_path(dest_dir: Path, member: str) -> Path:
    """Where `member` lands under `dest_dir`; UnsafeArchiveError when it would land anywhere else."""
    parts = [part for part in member.split("/") if part not in ("", ".")]
    reason = unsafe_reason(member) or (None if parts else "it names no file")
    if reason is None:
        target = dest_dir.joinpath(*parts)
        root = dest_dir.resolve()
        # A symlinked folder already inside dest_dir could still lead out.
        if not target.parent.resolve().is_relative_to(root):
            reason = f"it resolves outside {dest_dir}"
        else:
            return target
    raise UnsafeArchiveError(f"refusing member {member!r}: {reason}")


def copy_limited(source: IO[bytes], target: IO[bytes], *, limit: int, name: str) -> int:
    """Copy `source` to `target` in chunks; UnsafeArchiveError as soon as more than `limit` bytes arrive."""
    written = 0
    while chunk := source.read(CHUNK_BYTES):
        written += len(chunk)
        if written > limit:
            raise UnsafeArchiveError(
                f"refusing {name!r}: it grows past the limit of {limit:,} bytes when extracted "
                "(data.max_extracted_bytes); the archive may be a zip bomb"
            )
        target.write(chunk)
    return written


def _looks_like_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(4)
    return head in ZIP_MAGICS or zipfile.is_zipfile(path)


def _copy_plain(source: Path, target: Path, limit: int) -> None:
    with source.open("rb") as handle, atomic_output(target) as out:
        if copy_limited(handle, out, limit=limit, name=source.name) == 0:
            raise DataFormatError(f"{source.name} is empty: the download produced no data")


def _wanted_member(
    zf: zipfile.ZipFile, archive: Path, member: str, max_members: int, max_total_bytes: int
) -> zipfile.ZipInfo:
    infos = zf.infolist()
    if len(infos) > max_members:
        raise UnsafeArchiveError(
            f"{archive.name} has {len(infos):,} members, more than the limit of {max_members:,} (data.max_members)"
        )
    declared = 0
    for info in infos:
        reason = unsafe_reason(info.filename) or _type_problem(info)
        if reason:
            raise UnsafeArchiveError(f"{archive.name}: refusing member {info.filename!r}: {reason}")
        declared += info.file_size
        if declared > max_total_bytes:
            raise UnsafeArchiveError(
                f"{archive.name}: refusing member {info.filename!r}: the members up to it declare "
                f"{declared:,} bytes, more than the limit of {max_total_bytes:,} (data.max_extracted_bytes)"
            )
    matches = [info for info in infos if info.filename == member]
    if not matches:
        raise DataFormatError(
            f"{archive.name} has no member {member!r} (check data.member); it holds: {_listing(infos)}"
        )
    if len(matches) > 1:
        # Tools disagree on which copy wins: refuse rather than guess.
        raise UnsafeArchiveError(f"{archive.name}: member {member!r} appears {len(matches)} times")
    info = matches[0]
    if info.is_dir():
        raise DataFormatError(f"{archive.name}: member {member!r} is a folder, not a file")
    if info.flag_bits & 0x1:
        raise DataFormatError(f"{archive.name}: member {member!r} is encrypted; provide an unencrypted file")
    return info


def _type_problem(info: zipfile.ZipInfo) -> str | None:
    # Unix zips keep st_mode in the high 16 bits of external_attr; 0 means "not recorded".
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "it is a symbolic link"
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "it is a special file (device, pipe or socket)"
    return None


def _listing(infos: list[zipfile.ZipInfo]) -> str:
    names = [info.filename for info in infos if not info.is_dir()]
    if not names:
        return "no files"
    shown = ", ".join(names[:MAX_LISTED_MEMBERS])
    more = len(names) - MAX_LISTED_MEMBERS
    return shown + (f" and {more} more" if more > 0 else "")

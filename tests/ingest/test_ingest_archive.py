"""extract_member(): safe extraction from real zips built in the tests (and the shared bank.zip)."""

from __future__ import annotations

import hashlib
import stat
import struct
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cml_mlops.errors import DataFormatError, UnsafeArchiveError
from cml_mlops.ingest.archive import copy_limited, extract_member

BANK_FULL_SHA256 = "d1513ec63b385506f7cfce9f2c5caa9fe99e7ba4e8c3fa264b3aaf0f849ed32d"
LIMITS = {"max_members": 100, "max_total_bytes": 10_000_000}


def make_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return path


def link_entry(name: str, mode: int = stat.S_IFLNK | 0o777) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix: external_attr carries st_mode
    info.external_attr = mode << 16
    return info


def extract(archive: Path, member: str, dest: Path, **limits: int) -> Path:
    return extract_member(archive, member, dest, **{**LIMITS, **limits})


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink()) if folder.exists() else []


def test_extracts_the_wanted_member_of_bank_zip(bank_zip, tmp_path):
    dest = tmp_path / "out"
    path = extract(bank_zip, "bank-full.csv", dest)
    assert path == dest / "bank-full.csv"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == BANK_FULL_SHA256
    assert files_under(dest) == [path]


def test_nested_member_lands_in_its_subfolder(tmp_path):
    archive = make_zip(tmp_path / "a.zip", [("data/", b""), ("data/x.csv", b"a;b\n1;2\n")])
    path = extract(archive, "data/x.csv", tmp_path / "out")
    assert path == tmp_path / "out" / "data" / "x.csv"
    assert path.read_bytes() == b"a;b\n1;2\n"


def test_existing_target_is_replaced(tmp_path):
    archive = make_zip(tmp_path / "a.zip", [("x.csv", b"new")])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x.csv").write_bytes(b"old")
    assert extract(archive, "x.csv", tmp_path / "out").read_bytes() == b"new"


def test_plain_csv_is_its_own_member(tmp_path):
    source = tmp_path / "download.csv"
    source.write_bytes(b"a;b\n1;2\n")
    path = extract(source, "bank.csv", tmp_path / "out")
    assert path == tmp_path / "out" / "bank.csv"
    assert path.read_bytes() == b"a;b\n1;2\n"


def test_plain_csv_whose_header_starts_with_pk_is_not_a_zip(tmp_path):
    source = tmp_path / "keys.csv"
    source.write_bytes(b"PK;value\n1;2\n")
    assert extract(source, "keys.csv", tmp_path / "out").read_bytes() == b"PK;value\n1;2\n"


def test_empty_plain_file_is_a_format_error(tmp_path):
    source = tmp_path / "empty.csv"
    source.write_bytes(b"")
    with pytest.raises(DataFormatError, match="empty"):
        extract(source, "x.csv", tmp_path / "out")
    assert files_under(tmp_path / "out") == []


def test_plain_file_over_the_limit_is_refused_while_copying(tmp_path):
    source = tmp_path / "big.csv"
    source.write_bytes(b"1;2\n" * 100_000)
    with pytest.raises(UnsafeArchiveError, match="grows past the limit of 1,000 bytes"):
        extract(source, "big.csv", tmp_path / "out", max_total_bytes=1000)
    assert files_under(tmp_path / "out") == []


@pytest.mark.parametrize(
    "bad",
    ["../evil.csv", "a/../../evil.csv", "..", "/abs/evil.csv", "..\\evil.csv", "a\\b.csv", "C:/evil.csv", "C:evil"],
)
def test_an_unsafe_entry_anywhere_refuses_the_whole_archive(bad, tmp_path):
    archive = make_zip(tmp_path / "a.zip", [("good.csv", b"ok"), (bad, b"pwned")])
    dest = tmp_path / "sandbox" / "out"
    with pytest.raises(UnsafeArchiveError) as err:
        extract(archive, "good.csv", dest)
    assert repr(bad) in str(err.value)
    assert files_under(tmp_path / "sandbox") == []
    assert not (tmp_path / "evil.csv").exists()


@pytest.mark.parametrize("member", ["../evil.csv", "/etc/evil.csv", "a/../../evil.csv", ".", "./"])
def test_an_unsafe_requested_member_is_refused(member, tmp_path):
    archive = make_zip(tmp_path / "a.zip", [("good.csv", b"ok")])
    with pytest.raises(UnsafeArchiveError, match="refusing member"):
        extract(archive, member, tmp_path / "out")


def test_symlink_entry_is_refused(tmp_path):
    archive = make_zip(tmp_path / "a.zip", [("good.csv", b"ok"), (link_entry("passwd"), b"/etc/passwd")])
    with pytest.raises(UnsafeArchiveError, match=r"'passwd'.*symbolic link"):
        extract(archive, "good.csv", tmp_path / "out")
    assert files_under(tmp_path / "out") == []


def test_special_file_entry_is_refused(tmp_path):
    archive = make_zip(tmp_path / "a.zip", [("fifo", b""), ("good.csv", b"ok")])
    with zipfile.ZipFile(archive) as zf:
        assert zf.infolist()[0].filename == "fifo"
    archive = make_zip(tmp_path / "b.zip", [(link_entry("fifo", stat.S_IFIFO | 0o644), b""), ("good.csv", b"ok")])
    with pytest.raises(UnsafeArchiveError, match="special file"):
        extract(archive, "good.csv", tmp_path / "out")


def test_symlinked_folder_inside_dest_cannot_lead_out(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "sub").symlink_to(outside)
    archive = make_zip(tmp_path / "a.zip", [("sub/x.csv", b"data")])
    with pytest.raises(UnsafeArchiveError, match="resolves outside"):
        extract(archive, "sub/x.csv", dest)
    assert list(outside.iterdir()) == []


def test_too_many_members(tmp_path):
    archive = make_zip(tmp_path / "a.zip", [(f"f{i}.csv", b"x") for i in range(5)])
    with pytest.raises(UnsafeArchiveError, match="5 members, more than the limit of 4"):
        extract(archive, "f0.csv", tmp_path / "out", max_members=4)
    assert extract(archive, "f0.csv", tmp_path / "out", max_members=5).read_bytes() == b"x"


def test_declared_total_over_the_limit_refuses_a_zip_bomb(tmp_path):
    # 5 MB of zeros deflate to a few KB: the declared sizes give it away.
    archive = make_zip(tmp_path / "bomb.zip", [("bomb.csv", bytes(5_000_000))])
    assert archive.stat().st_size < 20_000
    with pytest.raises(UnsafeArchiveError, match=r"'bomb.csv'.*declare 5,000,000 bytes"):
        extract(archive, "bomb.csv", tmp_path / "out", max_total_bytes=1_000_000)
    assert files_under(tmp_path / "out") == []


def test_declared_total_counts_every_member(tmp_path):
    archive = make_zip(tmp_path / "a.zip", [("a.csv", b"x" * 600), ("b.csv", b"y" * 600)])
    with pytest.raises(UnsafeArchiveError, match=r"'b.csv'.*1,200 bytes"):
        extract(archive, "a.csv", tmp_path / "out", max_total_bytes=1000)


def lie_about_sizes(archive: Path, size: int) -> None:
    """Rewrite every uncompressed size the zip declares (local headers and central directory)."""
    data = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = data.find(signature)
        while start >= 0:
            struct.pack_into("<I", data, start + offset, size)
            start = data.find(signature, start + 4)
    archive.write_bytes(bytes(data))


def test_bomb_whose_headers_lie_never_writes_past_them(tmp_path):
    archive = make_zip(tmp_path / "liar.zip", [("bomb.csv", bytes(5_000_000))])
    lie_about_sizes(archive, 1000)
    with zipfile.ZipFile(archive) as zf:
        assert zf.getinfo("bomb.csv").file_size == 1000
    # The header check passes; the extraction stops at the declared size and the CRC exposes the lie.
    with pytest.raises(DataFormatError, match="not a valid zip"):
        extract(archive, "bomb.csv", tmp_path / "out", max_total_bytes=100_000)
    assert files_under(tmp_path / "out") == []


def test_real_bytes_are_counted_while_writing(tmp_path):
    # The member stream of a real bomb, copied with a limit below its size: stops at the limit.
    archive = make_zip(tmp_path / "bomb.zip", [("bomb.csv", bytes(5_000_000))])
    target = tmp_path / "partial"
    with (
        zipfile.ZipFile(archive) as zf,
        zf.open("bomb.csv") as source,
        target.open("wb") as out,
        pytest.raises(UnsafeArchiveError, match="zip bomb"),
    ):
        copy_limited(source, out, limit=1_000_000, name="bomb.csv")
    assert target.stat().st_size <= 1_000_000


def test_copy_limited_returns_the_byte_count(tmp_path):
    source = tmp_path / "s"
    source.write_bytes(b"z" * 70_000)
    with source.open("rb") as src, (tmp_path / "t").open("wb") as out:
        assert copy_limited(src, out, limit=70_000, name="s") == 70_000
    assert (tmp_path / "t").read_bytes() == b"z" * 70_000


def test_truncated_zip_is_a_format_error(bank_zip, tmp_path):
    archive = tmp_path / "bank.zip"
    archive.write_bytes(bank_zip.read_bytes()[:200_000])
    with pytest.raises(DataFormatError, match=r"bank.zip is not a valid zip \(truncated\?\)"):
        extract(archive, "bank-full.csv", tmp_path / "out")
    assert files_under(tmp_path / "out") == []


def test_corrupt_member_data_is_a_format_error_and_keeps_the_old_file(tmp_path):
    archive = make_zip(tmp_path / "a.zip", [("x.csv", bytes(range(256)) * 400)])
    data = bytearray(archive.read_bytes())
    for i in range(60, 90):  # inside the compressed data, after the 30-byte header and the name
        data[i] ^= 0xFF
    archive.write_bytes(bytes(data))
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "x.csv").write_bytes(b"previous good copy")
    with pytest.raises(DataFormatError, match="not a valid zip"):
        extract(archive, "x.csv", dest)
    assert files_under(dest) == [dest / "x.csv"]
    assert (dest / "x.csv").read_bytes() == b"previous good copy"


def test_missing_member_lists_the_members(bank_zip, tmp_path):
    with pytest.raises(DataFormatError, match=r"no member 'bank-additional.csv'.*bank-full.csv, bank.csv"):
        extract(bank_zip, "bank-additional.csv", tmp_path / "out")


def test_long_member_lists_are_shortened(tmp_path):
    archive = make_zip(tmp_path / "a.zip", [(f"f{i:02}.csv", b"x") for i in range(25)])
    with pytest.raises(DataFormatError, match=r"f19.csv and 5 more$"):
        extract(archive, "nope.csv", tmp_path / "out")


def test_duplicate_member_is_refused(tmp_path):
    with pytest.warns(UserWarning, match="Duplicate name"):
        archive = make_zip(tmp_path / "a.zip", [("x.csv", b"first"), ("x.csv", b"second")])
    with pytest.raises(UnsafeArchiveError, match="appears 2 times"):
        extract(archive, "x.csv", tmp_path / "out")


def test_folder_member_is_a_format_error(tmp_path):
    archive = make_zip(tmp_path / "a.zip", [("data/", b""), ("data/x.csv", b"x")])
    with pytest.raises(DataFormatError, match="is a folder"):
        extract(archive, "data/", tmp_path / "out")


def test_encrypted_member_is_a_format_error(tmp_path):
    archive = make_zip(tmp_path / "a.zip", [("x.csv", b"x")])
    data = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # general purpose flags
        data[data.find(signature) + offset] |= 0x1
    archive.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match="encrypted"):
        extract(archive, "x.csv", tmp_path / "out")


# Names drawn from a safe alphabet, mixed with the forms that try to escape.
SAFE_PART = st.text(alphabet="abcXYZ019_-. ", min_size=1, max_size=6)
PART = st.one_of(SAFE_PART, st.sampled_from(["..", ".", "", "..\\x", "C:", "a\\..\\.."]))
PREFIX = st.sampled_from(["", "", "", "/", "//", "C:/", "C:", "\\", "../"])
DANGEROUS = st.sampled_from(["../x", "/abs", "a/../../b", "../../../../tmp/x", "/tmp/x", "a/b/../../../c"])


@st.composite
def member_names(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(DANGEROUS)
    return draw(PREFIX) + "/".join(draw(st.lists(PART, min_size=1, max_size=5)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=member_names().filter(lambda n: n and not n.endswith("/")), want_other=st.booleans())
def test_extraction_never_writes_outside_dest(name, want_other):
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Path(tmp)
        dest = sandbox / "a" / "b" / "dest"
        dest.mkdir(parents=True)
        archive = make_zip(sandbox / "in.zip", [(name, b"payload"), ("other.csv", b"other")])
        before = files_under(sandbox)
        wanted = "other.csv" if want_other else name
        try:
            path = extract(archive, wanted, dest)
        except UnsafeArchiveError:
            event("refused")
            assert files_under(sandbox) == before
        else:
            event("extracted")
            assert path.resolve().is_relative_to(dest.resolve())
            assert path.read_bytes() == (b"other" if want_other else b"payload")
            assert files_under(sandbox) == sorted([*before, path])

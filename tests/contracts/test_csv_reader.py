"""read_raw_csv: text columns in, a clear DataFormatError for every way a CSV can be unusable."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from cml_mlops.contracts.csv_reader import read_raw_csv
from cml_mlops.errors import DataFormatError


def write(tmp_path: Path, content: bytes | str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_every_column_is_text_and_empty_fields_are_missing(tmp_path: Path) -> None:
    path = write(tmp_path, 'age;job;note;y\n30;"admin.";;no\n007;NA;"";yes\n')
    frame = read_raw_csv(path, separator=";")
    assert list(frame.columns) == ["age", "job", "note", "y"]
    assert frame["age"].tolist() == ["30", "007"]  # text: the contract, not pandas, decides the type
    assert frame["job"].tolist() == ["admin.", "NA"]  # "NA" is a value, not a missing marker
    assert frame["note"].isna().all()


def test_header_only_gives_columns_and_no_rows(tmp_path: Path) -> None:
    frame = read_raw_csv(write(tmp_path, "a,b,y\n"), separator=",")
    assert list(frame.columns) == ["a", "b", "y"]
    assert len(frame) == 0


def test_a_utf8_byte_order_mark_does_not_stick_to_the_first_column(tmp_path: Path) -> None:
    frame = read_raw_csv(write(tmp_path, b"\xef\xbb\xbfa,y\n1,no\n"), separator=",")
    assert list(frame.columns) == ["a", "y"]


def test_the_encoding_option_reads_other_encodings(tmp_path: Path) -> None:
    path = write(tmp_path, "city,y\nMünchen,no\n".encode("latin-1"))
    assert read_raw_csv(path, separator=",", encoding="latin-1")["city"].tolist() == ["München"]


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"empty \(0 bytes\)"):
        read_raw_csv(write(tmp_path, b""), separator=",")


def test_blank_lines_only(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no header line"):
        read_raw_csv(write(tmp_path, "\n\n"), separator=",")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no such file"):
        read_raw_csv(tmp_path / "absent.csv", separator=",")


def test_non_utf8_bytes_name_the_offset_line_and_the_encoding_option(tmp_path: Path) -> None:
    content = b"city,y\nParis,no\nM\xfcnchen,yes\n"
    with pytest.raises(DataFormatError) as caught:
        read_raw_csv(write(tmp_path, content), separator=",")
    message, offset = str(caught.value), content.index(b"\xfc")
    assert "not valid utf-8" in message
    assert f"byte {offset}" in message
    assert "line 3" in message
    assert "encoding" in message


def test_non_utf8_far_into_a_large_file_is_located(tmp_path: Path) -> None:
    # Past the first 1 MiB chunk, with a multi-byte character split across the chunk boundary.
    head = b"a,y\n" + b"x,no\n" * 250_000
    body = head + "é,no\n".encode() * 3 + b"\xff,no\n"
    with pytest.raises(DataFormatError) as caught:
        read_raw_csv(write(tmp_path, body), separator=",")
    offset = body.index(b"\xff")
    assert f"byte {offset}" in str(caught.value)
    assert f"line {250_000 + 5}" in str(caught.value)


def test_wrong_separator(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="wrong separator\\? header has no ';'"):
        read_raw_csv(write(tmp_path, "a,b,y\n1,2,no\n"), separator=";")


def test_a_genuine_single_column_file_is_read(tmp_path: Path) -> None:
    assert read_raw_csv(write(tmp_path, "y\nno\nyes\n"), separator=";")["y"].tolist() == ["no", "yes"]


def test_ragged_row_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="line 3") as caught:
        read_raw_csv(write(tmp_path, "a;b;y\n1;2;no\n1;2;3;yes\n"), separator=";")
    assert "separator ';'" in str(caught.value)


def test_bank_sample_reads_like_the_shared_helper(
    bank_zip: Path, bank_sample_raw: pd.DataFrame, tmp_path: Path
) -> None:
    with zipfile.ZipFile(bank_zip) as archive:
        path = write(tmp_path, archive.read("bank.csv"), "bank.csv")
    pd.testing.assert_frame_equal(read_raw_csv(path, separator=";"), bank_sample_raw)

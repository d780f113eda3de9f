"""Read a raw CSV as text columns, so that the contract (not pandas' guessing) decides every type."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pandas as pd

from cml_mlops.errors import DataFormatError

# Separators people commonly use: named in the "wrong separator?" hint when the header holds one.
COMMON_SEPARATORS = (",", ";", "\t", "|")
_CHUNK_BYTES = 1 << 20
_LINE_IN_PANDAS_MESSAGE = re.compile(r"\b(?:line|row) (\d+)")


def read_raw_csv(path: Path, *, separator: str, encoding: str = "utf-8") -> pd.DataFrame:
    """Every column as text (`str`, empty fields as missing); raise DataFormatError when the file is unusable.

    A header-only file gives a frame with columns and no rows: the data-set contract reports it.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataFormatError(f"{path}: the file is empty (0 bytes); expected a header line and data rows")
    encoding = _with_bom(path, encoding)
    try:
        frame = pd.read_csv(
            path,
            sep=separator,
            encoding=encoding,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
        )
    except UnicodeDecodeError:
        raise DataFormatError(_decode_error_message(path, encoding)) from None
    except pd.errors.EmptyDataError:
        raise DataFormatError(f"{path}: no header line (the file holds only blank lines)") from None
    except pd.errors.ParserError as exc:
        raise DataFormatError(_parser_error_message(path, separator, exc)) from None
    _check_separator(path, frame, separator)
    return frame


def _with_bom(path: Path, encoding: str) -> str:
    """Excel writes a UTF-8 byte-order mark: read it as such, or it sticks to the first column's name."""
    if codecs.lookup(encoding).name != "utf-8":
        return encoding
    with path.open("rb") as handle:
        return "utf-8-sig" if handle.read(3) == codecs.BOM_UTF8 else encoding


def _decode_error_message(path: Path, encoding: str) -> str:
    offset, line = _first_undecodable(path, encoding)
    where = f" at byte {offset} (line {line})" if offset is not None else ""
    return (
        f"{path}: not valid {encoding}{where}; set the file's encoding "
        "(data.encoding in cml-mlops.yaml, or CML_MLOPS_DATA_ENCODING), e.g. latin-1 or cp1252"
    )


def _first_undecodable(path: Path, encoding: str) -> tuple[int | None, int | None]:
    """Byte offset and 1-based line of the first byte the encoding rejects, reading in chunks."""
    decoder = codecs.getincrementaldecoder(encoding)()
    consumed, newlines = 0, 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # exc.object is this chunk behind the few bytes of a character the decoder held back
                # (never a newline), so offsets count from the start of those held bytes.
                start_of_object = consumed - (len(exc.object) - len(chunk))
                return start_of_object + exc.start, newlines + exc.object[: exc.start].count(b"\n") + 1
            consumed += len(chunk)
            newlines += chunk.count(b"\n")
    return None, None


def _parser_error_message(path: Path, separator: str, exc: pd.errors.ParserError) -> str:
    detail = str(exc).strip().removeprefix("Error tokenizing data. C error: ")
    match = _LINE_IN_PANDAS_MESSAGE.search(detail)
    where = f" at line {match.group(1)}" if match else ""
    return (
        f"{path}: cannot split rows into the header's columns{where} ({detail}); "
        f"check the separator {separator!r} and quoting on that line"
    )


def _check_separator(path: Path, frame: pd.DataFrame, separator: str) -> None:
    """One column whose name holds another common separator: almost surely the wrong separator."""
    if frame.shape[1] != 1:
        return
    header = str(frame.columns[0])
    if separator in header:
        return
    found = [candidate for candidate in COMMON_SEPARATORS if candidate != separator and candidate in header]
    if found:
        hint = ", ".join(repr(candidate) for candidate in found)
        raise DataFormatError(
            f"{path}: wrong separator? header has no {separator!r} but holds {hint} "
            f"(header: {_shorten(header)}); set data.separator in cml-mlops.yaml (or CML_MLOPS_DATA_SEPARATOR)"
        )


def _shorten(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")

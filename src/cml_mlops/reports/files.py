"""Files of reports: stable JSON for machines, and atomic writes so a reader never sees half a report."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

from cml_mlops.errors import CmlMlopsError


class ReportWriteError(CmlMlopsError):
    """A report file could not be written (folder not writable, disk full, a file in the way)."""


def to_jsonable(value: Any) -> Any:
    """`value` made of JSON types only: numpy/pandas scalars unwrapped, NaN/inf/NA as None, dates as ISO text."""
    import numpy as np  # here, not at the top: the atomic writers serve commands that need neither (start-up)
    import pandas as pd

    if value is None or isinstance(value, (bool, str)):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, (pd.Series, pd.Index)):
        return [to_jsonable(item) for item in value.tolist()]
    if isinstance(value, pd.DataFrame):
        return [to_jsonable(record) for record in value.to_dict(orient="records")]
    if isinstance(value, np.ndarray):
        return [to_jsonable(item) for item in value.tolist()]
    if isinstance(value, (set, frozenset)):
        return [to_jsonable(item) for item in sorted(value, key=str)]
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    raise TypeError(f"cannot encode {type(value).__name__} as JSON: {value!r}")


def dumps_json(payload: Any) -> str:
    """Stable JSON text: same payload, same bytes (key order kept, 2-space indent, trailing newline)."""
    return json.dumps(to_jsonable(payload), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(path: Path, payload: Any) -> Path:
    """Write `payload` as stable JSON, atomically: a reader sees the old file or the whole new one."""
    return write_text_atomic(path, dumps_json(payload))


def write_text_atomic(path: Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` through a temporary file in the same folder, then rename it."""
    return write_files_atomic({Path(path): text})[0]


def write_files_atomic(contents: Mapping[Path, str]) -> list[Path]:
    """Write several UTF-8 files together: all are staged first, so a failure leaves none of them changed.

    Raises ReportWriteError (with the path and the reason) when a folder cannot be made or a file written.
    """
    blocked = [str(path) for path in contents if path.is_dir()]
    if blocked:
        raise ReportWriteError(f"cannot write the report: {', '.join(blocked)} is a folder; move it away")
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in contents.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((Path(name), path))
            # mkstemp makes the file private (0600); a report is meant to be read, like any new file.
            Path(name).chmod(0o644)
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
        for temporary, path in staged:
            temporary.replace(path)
    except OSError as exc:
        raise ReportWriteError(
            f"cannot write the report to {exc.filename or next(iter(contents), '?')}: {exc.strerror or exc}; "
            "choose a writable output folder"
        ) from exc
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
    return list(contents)

"""The stable key of a table row: a 64-bit hash of its content, the same on every lake engine.

Every column takes part, by sorted name; numbers as float64 and everything else as text, so the key does not depend
on an engine's integer widths or string types, nor on row order, and needs no extra column in the table. Exact
duplicate rows (a data set may hold some, and noise can leave a synthetic row equal to another row) share one key:
whatever is decided by key (a row's split part) is decided for all copies alike, so an identical copy of a training
row can never be a test row. Collisions of distinct rows: about n^2 / 2^65, 1e-10 for 45,000 rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_MISSING = "\x00<NA>"  # the text of a missing value in a key (no real value is spelled so)


def row_keys(frame: pd.DataFrame) -> pd.Series:
    """One 16-hex-digit content key per row of `frame` (same index); equal rows get equal keys."""
    columns: dict[str, pd.Series] = {}
    for name in sorted(map(str, frame.columns)):
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
            columns[name] = column.astype("float64")
        else:
            columns[name] = column.astype("string").fillna(_MISSING).astype(object)
    canonical = pd.DataFrame(columns, index=frame.index)
    hashes = pd.util.hash_pandas_object(canonical, index=False).to_numpy(dtype=np.uint64)
    return pd.Series([f"{value:016x}" for value in hashes], index=frame.index, dtype=object)

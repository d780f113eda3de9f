"""Usage examples rendered from a project's contract: an example row, the curl call, a drifted `newbatch`.

The generated README shows them between two markers; `cml-mlops contract examples --write` (and `contract draft
--output` inside a project) rewrites that block, so the README follows the contract of any data set.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandera.pandas as pa

from cml_mlops.errors import ConfigError
from cml_mlops.reports.files import write_text_atomic

START = "<!-- contract-examples:start (written by `cml-mlops contract examples --write`) -->"
END = "<!-- contract-examples:end -->"
_BLOCK = re.compile(re.escape(START.split(" (")[0]) + r".*?" + re.escape(END), re.DOTALL)
SHIFT_STDS = 2


@dataclass(frozen=True)
class ContractColumn:
    name: str
    kind: str  # "int", "float", "category" or "text"
    low: float | None = None
    high: float | None = None
    values: tuple[str, ...] = ()


def contract_columns(model: type[pa.DataFrameModel], target: str) -> list[ContractColumn]:
    """The input columns of a contract (not the target), with the ranges and categories it declares."""
    columns = []
    for name, column in model.to_schema().columns.items():
        if name == target:
            continue
        statistics = {check.name: check.statistics for check in column.checks}
        dtype = str(column.dtype)
        if "isin" in statistics:
            columns.append(ContractColumn(name, "category", values=tuple(statistics["isin"]["allowed_values"])))
        elif "int" in dtype.lower() or "float" in dtype.lower():
            bounds = statistics.get("in_range", {})
            kind = "int" if "int" in dtype.lower() else "float"
            columns.append(ContractColumn(name, kind, bounds.get("min_value"), bounds.get("max_value")))
        else:
            columns.append(ContractColumn(name, "text"))
    return columns


def example_row(model: type[pa.DataFrameModel], target: str, inputs: Sequence[str] | None = None) -> dict[str, Any]:
    """One row the contract accepts: a typical number inside each range, the first allowed category.

    `inputs`: only these columns (the model's inputs, without leakage columns); default: every input column.
    """
    row: dict[str, Any] = {}
    for column in contract_columns(model, target):
        if inputs is not None and column.name not in inputs:
            continue
        if column.kind == "category":
            row[column.name] = column.values[0]
        elif column.kind == "text":
            row[column.name] = "text"
        else:
            row[column.name] = _typical(column.low, column.high, integer=column.kind == "int")
    return row


def _typical(low: float | None, high: float | None, *, integer: bool) -> float | int:
    """The middle of the range; for a range over orders of magnitude (money, durations) a modest round value."""
    low = 0.0 if low is None else float(low)
    high = low + 100.0 if high is None else float(high)
    if high - low > 500 and high > 0 and low <= 10 ** round(math.log10(high) / 2) <= high:
        value = 10.0 ** round(math.log10(high) / 2)
    else:
        middle = (low + high) / 2
        value = float(f"{middle:.2g}") if middle else 0.0
        value = min(max(value, low), high)
    return math.ceil(value) if integer else value


def render_examples(
    model: type[pa.DataFrameModel], target: str, *, inputs: Sequence[str] | None = None, port: int = 8765
) -> str:
    """The README's example block (Markdown) for a contract and the model's input columns."""
    row = example_row(model, target, inputs)
    body = json.dumps({"request": row})
    numeric = [
        column.name
        for column in contract_columns(model, target)
        if column.kind in ("int", "float") and column.name in row
    ]
    lines = [
        START,
        "Calling the local model server (the same envelope as a CML model; MLflow's `/invocations` works too):",
        "",
        "```bash",
        f"curl -s http://127.0.0.1:{port}/model \\",
        '  -H "Content-Type: application/json" -H "Authorization: Bearer $CML_MLOPS_SERVING_ACCESS_KEY" \\',
        f"  -d {shlex.quote(body)}",
        "```",
        "",
        "The example row, one field per input column of the contract:",
        "",
        "```json",
        json.dumps(row, indent=2),
        "```",
    ]
    if numeric:
        shift = shlex.quote(f"{numeric[0]}={SHIFT_STDS}")
        lines += [
            "",
            f"A synthetic batch whose `{numeric[0]}` drifted by {SHIFT_STDS} standard deviations:",
            "",
            "```bash",
            f"cml-mlops newbatch --shift {shift}",
            "```",
        ]
    return "\n".join([*lines, END])


def write_examples(readme: Path, block: str) -> bool:
    """Replace the marked block of `readme` with `block`; False when the README has no markers (left as it is)."""
    text = readme.read_text(encoding="utf-8")
    if not _BLOCK.search(text):
        return False
    updated = _BLOCK.sub(lambda _: block, text, count=1)
    if updated != text:
        write_text_atomic(readme, updated)
    return True


def contract_model(module: object) -> tuple[type[pa.DataFrameModel], str]:
    """RawRecord and TARGET of a contract module."""
    model, target = getattr(module, "RawRecord", None), getattr(module, "TARGET", None)
    if not (isinstance(model, type) and issubclass(model, pa.DataFrameModel) and isinstance(target, str)):
        raise ConfigError(f"{getattr(module, '__name__', module)} needs RawRecord (a pandera model) and TARGET")
    return model, target

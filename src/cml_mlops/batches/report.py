"""The record of one new batch: `reports/batches/<snapshot>.json` for machines and a short `.md` for people."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cml_mlops.reports import dumps_json, write_files_atomic

if TYPE_CHECKING:
    from cml_mlops.batches.append import BatchResult

BATCH_FOLDER = "batches"


def batch_to_dict(result: BatchResult) -> dict[str, Any]:
    snapshot = result.snapshot
    return {
        "table": result.table,
        "snapshot_id": None if snapshot is None else snapshot.snapshot_id,
        "parent_snapshot_id": None if snapshot is None else snapshot.parent_id,
        "source_snapshot_id": result.source_snapshot_id,
        "committed_at": None if snapshot is None else snapshot.committed_at,
        "rows": result.rows,
        "table_rows": result.table_rows,
        "seed": result.seed,
        "noise": result.noise,
        "drift": result.drift.to_dict(),
        "effects": result.effects,
        "contract": result.contract,
        "dry_run": result.dry_run,
    }


def batch_to_markdown(result: BatchResult) -> str:
    payload = batch_to_dict(result)
    lines = [
        f"# New batch: {result.rows:,} rows -> {result.table}@{payload['snapshot_id']}",
        "",
        f"Drawn from snapshot {result.source_snapshot_id} ({result.table_rows - result.rows:,} rows) with seed "
        f"{result.seed} and noise {result.noise:g}. Drift: {result.drift.describe()}. "
        f"Contract {result.contract}: passed.",
    ]
    if result.effects:
        lines += ["", "| effect | measured |", "|---|---|"]
        for name, value in result.effects.items():
            lines.append(f"| {name} | {_measured(value)} |")
    return "\n".join(lines) + "\n"


def write_batch_report(result: BatchResult, directory: Path) -> tuple[Path, Path]:
    """`<snapshot>.json` and `<snapshot>.md` in `directory`, written together."""
    assert result.snapshot is not None  # a dry run writes nothing
    stem = directory / str(result.snapshot.snapshot_id)
    json_path, markdown_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    write_files_atomic({json_path: dumps_json(batch_to_dict(result)), markdown_path: batch_to_markdown(result)})
    return json_path, markdown_path


def _measured(value: Any) -> str:
    if isinstance(value, dict) and "mean_change_std" in value:
        change = value["mean_change_std"]
        return f"mean {value['mean_change']:+.4g} ({'n/a' if change is None else f'{change:+.2f}'} std)"
    if isinstance(value, dict) and {"batch", "table"} <= set(value):
        return f"batch {value['batch']:.3f}, table {value['table']:.3f}"
    if isinstance(value, dict):
        return "; ".join(f"{key}: batch {item['batch']:.3f} (table {item['table']:.3f})" for key, item in value.items())
    return str(value)

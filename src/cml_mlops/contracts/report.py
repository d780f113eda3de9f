"""Render a ContractReport: JSON for machines, a short Markdown summary for people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cml_mlops.reports.files import to_jsonable, write_text_atomic

if TYPE_CHECKING:
    from cml_mlops.contracts.runner import CheckFailure, ContractReport

_MAX_CELL = 60
_MAX_LISTED = 8


def json_safe(value: Any) -> Any:
    """A JSON value for a failing cell: anything the report encoder does not know is shown as its text."""
    try:
        return to_jsonable(value)
    except TypeError:
        return str(value)


def report_to_dict(report: ContractReport) -> dict[str, Any]:
    return {
        "contract": report.contract,
        "contract_version": report.contract_version,
        "rows": report.rows,
        "passed": report.passed,
        "duration_seconds": report.duration_seconds,
        "invalid_rows": report.invalid_count,
        "notes": report.notes,
        "failures": [
            {
                "check": failure.check,
                "column": failure.column,
                "failure_count": failure.failure_count,
                "failure_share": _share(failure, report.rows),
                "evaluated_on_sample_rows": failure.sample_rows,
                "description": failure.description,
                "examples": failure.examples,
                "samples": failure.samples,
            }
            for failure in report.failures
        ],
    }


def report_to_json(report: ContractReport) -> str:
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False) + "\n"


def report_to_markdown(report: ContractReport) -> str:
    """PASS/FAIL headline, what was checked, and one table row per failed check."""
    version = f" {report.contract_version}" if report.contract_version else ""
    verdict = "PASS" if report.passed else "FAIL"
    lines = [
        f"# Data contract {report.contract}{version}: {verdict}",
        "",
        f"{report.rows:,} rows checked in {report.duration_seconds:.2f} s; "
        + (
            "every check passed."
            if report.passed
            else f"{len(report.failures)} checks failed, {report.invalid_count:,} rows invalid."
        ),
    ]
    lines += [f"- {note}" for note in report.notes]
    if report.failures:
        lines += ["", "| check | column | failures | example values |", "|---|---|---:|---|"]
        for failure in report.failures:
            examples = ", ".join(_cell(value) for value in failure.examples) or "-"
            column = _cell(failure.column) if failure.column is not None else "(data set)"
            lines.append(f"| {_check_cell(failure)} | {column} | {failure.failure_count:,} | {examples} |")
    return "\n".join(lines) + "\n"


def failure_summary(report: ContractReport) -> str:
    """One line naming the failed checks, for exceptions and logs."""
    parts = [
        f"{failure.column}: {failure.check} ({failure.failure_count})" if failure.column is not None else failure.check
        for failure in report.failures
    ]
    more = f", and {len(parts) - _MAX_LISTED} more" if len(parts) > _MAX_LISTED else ""
    return (
        f"data violates contract {report.contract}: {len(parts)} checks failed: {'; '.join(parts[:_MAX_LISTED])}{more}"
    )


def write_json(report: ContractReport, path: Path) -> Path:
    write_text_atomic(Path(path), report_to_json(report))
    return Path(path)


def write_report(report: ContractReport, directory: Path, stem: str) -> tuple[Path, Path]:
    """Write `<stem>.json` and `<stem>.md` into `directory` (created if needed); return both paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    json_path, markdown_path = directory / f"{stem}.json", directory / f"{stem}.md"
    write_text_atomic(json_path, report_to_json(report))
    write_text_atomic(markdown_path, report_to_markdown(report))
    return json_path, markdown_path


def _share(failure: CheckFailure, rows: int) -> float | None:
    """Failures as a share of the rows the check saw (the sample's size for a sampled check)."""
    seen = failure.sample_rows if failure.sample_rows is not None else rows
    return round(failure.failure_count / seen, 6) if seen and failure.column is not None else None


def _check_cell(failure: CheckFailure) -> str:
    """The check's name, with pandera's statement of the rule when it says more (a range, a message)."""
    rule = failure.description
    if len(rule) > _MAX_CELL:
        rule = rule[: _MAX_CELL - 3] + "..."
    cell = _escape(failure.check) if not rule or rule == failure.check else f"{_escape(failure.check)}: {_escape(rule)}"
    if failure.sample_rows is not None:
        cell += f" (evaluated on a sample of {failure.sample_rows:,} rows)"
    return cell


def _cell(value: Any) -> str:
    text = "(missing)" if value is None else str(value)
    if len(text) > _MAX_CELL:
        text = text[: _MAX_CELL - 3] + "..."
    return f"`{_escape(text)}`" if text else '`""`'


def _escape(text: str) -> str:
    # A pipe ends a table cell, a newline ends the row, and a backtick would close the code span.
    return text.replace("|", "\\|").replace("\n", " ").replace("`", "'")

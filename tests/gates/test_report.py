"""The gate report: PASS only when no check failed (and something was checked); Markdown readable as a summary."""

from __future__ import annotations

import json
from pathlib import Path

from cml_mlops.gates.checks import CheckResult
from cml_mlops.gates.report import GateReport


def report(*checks: CheckResult) -> GateReport:
    return GateReport(
        model_name="bank-marketing-classifier",
        version="3",
        run_id="abc",
        champion_version="2",
        test_rows=1357,
        threshold=0.3,
        checks=list(checks),
        generated_at="2026-11-26T00:00:00+00:00",
    )


PASSED = CheckResult("floor", "roc_auc", "passed", metric="roc_auc", value=0.81234, operator=">=", threshold=0.75)
SKIPPED = CheckResult("segment", "job=student", "skipped", detail="23 rows < min_rows 200")
FAILED = CheckResult("contract", "output | predictions", "failed", detail="error: ValueError: bad\nvalue")


def test_the_verdict_fails_closed() -> None:
    assert report(PASSED, SKIPPED).passed
    assert not report(PASSED, FAILED).passed
    assert not report().passed  # nothing checked is no pass
    assert report(PASSED, FAILED).failed_checks == [FAILED]


def test_markdown_has_a_headline_and_one_table_row_per_check() -> None:
    text = report(PASSED, SKIPPED, FAILED).to_markdown()
    lines = text.splitlines()
    assert lines[0] == "## Quality gate: FAIL - bank-marketing-classifier v3"
    assert "champion v2" in text and "1,357 test rows" in text and "1 passed, 1 failed, 1 skipped" in text
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| check")]
    assert len(rows) == 3
    assert "| floor | roc_auc | roc_auc | 0.8123 | >= 0.75 |  | pass |" in rows
    assert rows[2].endswith("| **FAIL** |") and "output \\| predictions" in rows[2] and "bad value" in rows[2]
    assert report(PASSED).to_markdown().startswith("## Quality gate: PASS")


def test_json_and_markdown_are_written_together(tmp_path: Path) -> None:
    json_path, markdown_path = report(PASSED, SKIPPED).write(tmp_path / "gate")
    assert json_path.name == "gate-v3.json" and markdown_path.name == "gate-v3.md"
    payload = json.loads(json_path.read_text())
    assert payload["passed"] is True and payload["status"] == "passed"
    assert payload["counts"] == {"passed": 1, "failed": 0, "skipped": 1}
    assert payload["checks"][0]["value"] == 0.81234 and payload["checks"][1]["status"] == "skipped"

"""The gate report: JSON for machines and a Markdown summary for people (a GitHub job summary renders it)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cml_mlops.gates.checks import CheckResult
from cml_mlops.reports import dumps_json, to_jsonable, write_files_atomic

REPORT_FOLDER = "gate"  # under the reports dir, and the artifact folder in the challenger's run
_VERDICTS = {"passed": "pass", "failed": "**FAIL**", "skipped": "skipped"}


@dataclass
class GateReport:
    """The verdict on one model version: passed only when no check failed."""

    model_name: str
    version: str
    run_id: str
    champion_version: str | None
    test_rows: int
    threshold: float | None
    checks: list[CheckResult]
    generated_at: str
    settings: dict[str, Any] = field(default_factory=dict)  # the gates config used
    report_uri: str = ""  # where the JSON is logged in MLflow

    @property
    def passed(self) -> bool:
        # Fail closed: a report with nothing checked is not a pass.
        return bool(self.checks) and not any(check.failed for check in self.checks)

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [check for check in self.checks if check.failed]

    def counts(self) -> dict[str, int]:
        return {status: sum(check.status == status for check in self.checks) for status in _VERDICTS}

    @property
    def stem(self) -> str:
        return f"gate-v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "status": "passed" if self.passed else "failed",
            "model_name": self.model_name,
            "version": self.version,
            "run_id": self.run_id,
            "champion_version": self.champion_version,
            "test_rows": self.test_rows,
            "threshold": self.threshold,
            "generated_at": self.generated_at,
            "report_uri": self.report_uri,
            "counts": self.counts(),
            "checks": [to_jsonable(check) for check in self.checks],
            "settings": to_jsonable(self.settings),
        }

    def to_markdown(self) -> str:
        counts = self.counts()
        champion = f"champion v{self.champion_version}" if self.champion_version else "no champion yet"
        threshold = f"{self.threshold:g}" if self.threshold is not None else "?"
        lines = [
            f"## Quality gate: {'PASS' if self.passed else 'FAIL'} - {self.model_name} v{self.version}",
            "",
            f"Run `{self.run_id}`; {champion}; {self.test_rows:,} test rows; decision threshold {threshold}. "
            f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped.",
            "",
            "| check | name | metric | value | threshold | margin / CI / note | verdict |",
            "|---|---|---|---:|---:|---|---|",
        ]
        for check in self.checks:
            bound = f"{check.operator} {_number(check.threshold)}" if check.threshold is not None else ""
            lines.append(
                "| "
                + " | ".join(
                    _cell(text)
                    for text in (
                        check.kind,
                        check.name,
                        check.metric or "",
                        _number(check.value),
                        bound,
                        check.detail,
                        _VERDICTS[check.status],
                    )
                )
                + " |"
            )
        for check in self.checks:
            lines += _sources_table(check)
        if self.report_uri:
            lines += ["", f"Full report: `{self.report_uri}`"]
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write `<folder>/gate-v<version>.json` and `.md` together (atomically)."""
        json_path, markdown_path = folder / f"{self.stem}.json", folder / f"{self.stem}.md"
        write_files_atomic({json_path: dumps_json(self.to_dict()), markdown_path: self.to_markdown()})
        return json_path, markdown_path


def _sources_table(check: CheckResult) -> list[str]:
    """The per-source scores behind a non-inferiority verdict, and the champion on its own original test split."""
    sources = check.data.get("sources")
    if not sources:
        return []
    champion = check.data.get("champion_version", "?")
    lines = [
        "",
        f"### {check.metric} per data source: challenger v. champion v{champion}",
        "",
        "| source | rows | positive | challenger | champion | difference | weight |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in sources:
        values = (row["rows"], row["positives"], row["challenger"], row["champion"], row["difference"], row["weight"])
        lines.append(f"| {_cell(row['source'])} | " + " | ".join(_number(float(v)) for v in values) + " |")
    own = check.data.get("champion_own_test")
    if own:
        lines.append(
            f"| champion v{own['version']} on its own original test split | {own['rows']} | {own['positives']} | "
            f"| {_number(own.get(check.metric or ''))} | | |"
        )
    lines += ["", f"Combined: {check.data.get('method', '')}; difference {_number(check.data.get('difference'))}."]
    return lines


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _cell(text: str) -> str:
    """Table-safe text: one line, pipes escaped, long error texts shortened."""
    flat = " ".join(str(text).split()).replace("|", "\\|")
    return flat if len(flat) <= 300 else flat[:297] + "..."

"""What one lifecycle run did, step by step: a short table for people, JSON for machines."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cml_mlops.reports import dumps_json, write_files_atomic

SUMMARY_FOLDER = "lifecycle"
SUMMARY_JSON = "summary.json"
Outcome = Literal["deployed", "kept_champion", "up_to_date", "failed"]
StepStatus = Literal["done", "skipped", "failed", "not run"]
STEPS = ("preflight", "newbatch", "retrain", "deploy")


@dataclass
class StepRecord:
    name: str
    status: StepStatus = "not run"
    detail: str = ""


@dataclass
class LifecycleSummary:
    """The chain's record; `outcome` says what serves now (a new version, or the champion as before)."""

    target: str
    steps: list[StepRecord] = field(default_factory=lambda: [StepRecord(name) for name in STEPS])
    outcome: Outcome = "failed"
    reason: str = ""  # why the chain ended as it did, in one sentence
    champion_before: str | None = None
    champion_after: str | None = None
    new_version: str | None = None
    batch_snapshot_id: int | None = None
    retrain: dict[str, Any] | None = None
    failed_step: str | None = None
    seconds: float = 0.0

    def step(self, name: str) -> StepRecord:
        return next(record for record in self.steps if record.name == name)

    def record(self, name: str, status: StepStatus, detail: str) -> None:
        found = self.step(name)
        found.status, found.detail = status, detail

    def end(self, outcome: Outcome, reason: str) -> None:
        self.outcome, self.reason = outcome, reason

    @property
    def deployed(self) -> bool:
        return self.outcome == "deployed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "target": self.target,
            "champion_before": self.champion_before,
            "champion_after": self.champion_after,
            "new_version": self.new_version,
            "batch_snapshot_id": self.batch_snapshot_id,
            "failed_step": self.failed_step,
            "seconds": self.seconds,
            "steps": [{"name": s.name, "status": s.status, "detail": s.detail} for s in self.steps],
            "retrain": self.retrain,
        }

    def to_text(self) -> str:
        width = max(len(step.name) for step in self.steps)
        lines = [f"lifecycle summary (target {self.target}, {self.seconds:.1f} s)"]
        lines += [f"  {step.name:<{width}}  {step.status:<8}  {step.detail}".rstrip() for step in self.steps]
        lines.append(f"outcome: {self.outcome.replace('_', ' ')}: {self.reason}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        lines = [
            f"# Lifecycle: {self.outcome.replace('_', ' ')}",
            "",
            f"{self.reason}. Target `{self.target}`; champion before: {self.champion_before or 'none'}, "
            f"after: {self.champion_after or 'none'}; {self.seconds:.1f} s.",
            "",
            "| step | status | detail |",
            "|---|---|---|",
        ]
        lines += [f"| {s.name} | {s.status} | {s.detail.replace('|', '/')} |" for s in self.steps]
        return "\n".join(lines) + "\n"


def write_summary(summary: LifecycleSummary, reports_dir: Path) -> Path:
    """reports/lifecycle/summary.json and summary.md, written together; returns the JSON path."""
    folder = reports_dir / SUMMARY_FOLDER
    json_path = folder / SUMMARY_JSON
    write_files_atomic({json_path: dumps_json(summary.to_dict()), folder / "summary.md": summary.to_markdown()})
    return json_path

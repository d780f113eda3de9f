"""The short Markdown summaries people read in CI: the training + gate summary of a pull request, and the text
of the monitoring issue. They read the reports under the profile's `reports.dir`; a report older than the run
(`since`) is never passed off as this run's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cml_mlops.config import ProjectConfig

ALERT_FILE = Path("monitoring") / "alert.md"


def training_summary(config: ProjectConfig, since: float) -> str:
    """Model, snapshot, threshold and test metrics of the training report, then the gate's report of that version."""
    reports = config.path(config.reports.dir)
    training = reports / "training.json"
    if not _fresh(training, since):
        return "## Training did not finish\n\nNo model was trained: see the job log.\n"
    result = json.loads(training.read_text(encoding="utf-8"))
    lines = [
        f"## Training: {result['model_name']} v{result['model_version']}",
        "",
        f"Trained on `{result['table']}` snapshot {result['snapshot_id']}; "
        f"decision threshold {_number(result['threshold'])}.",
        "",
        "| test metric | value |",
        "|---|---:|",
        *(f"| {name} | {_number(value)} |" for name, value in result["test_metrics"].items()),
        "",
    ]
    gate = reports / "gate" / f"gate-v{result['model_version']}.md"
    lines.append(gate.read_text(encoding="utf-8") if _fresh(gate, since) else "## Quality gate did not run\n")
    return "\n".join(lines)


def alert_summary(config: ProjectConfig, environ: Mapping[str, str] | None = None) -> str:
    """The monitoring issue's text: a link to the CI run (GitHub's variables) and the monitoring report."""
    env = os.environ if environ is None else environ
    server = "/".join(env.get(name, "") for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY"))
    link = f"{server}/actions/runs/{env['GITHUB_RUN_ID']}" if env.get("GITHUB_RUN_ID") else "a local run"
    report = config.path(config.reports.dir) / "monitoring" / "monitoring.md"
    details = report.read_text(encoding="utf-8") if report.is_file() else "The checks did not write a report."
    return f"Monitoring checks failed in {link} (the dashboard is attached to the run as an artifact).\n\n{details}\n"


def write_summary(text: str, output: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Write `text` to `output`, and append it to GitHub's job summary when the run has one."""
    env = os.environ if environ is None else environ
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")  # not via cml_mlops.reports: that package imports matplotlib
    job_summary = env.get("GITHUB_STEP_SUMMARY")
    if job_summary:
        with Path(job_summary).open("a", encoding="utf-8") as handle:
            handle.write(text)
    return output


def _fresh(path: Path, since: float) -> bool:
    return path.is_file() and path.stat().st_mtime >= since


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"

"""The report of a CML deploy: `reports/deploy/cml-deploy.json` for machines, `.md` for people.

What was found, created, stopped and cleaned up, the API requests it took and how long. No secrets: the API
key is never part of it, nor the model's access key.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cml_mlops.config import ProjectConfig
from cml_mlops.deploy.cml_run import CmlDeployRun
from cml_mlops.reports import ReportWriteError, dumps_json, write_files_atomic

log = logging.getLogger(__name__)

REPORT_NAME = "cml-deploy"


def report_paths(config: ProjectConfig) -> tuple[Path, Path]:
    folder = config.path(config.reports.dir) / "deploy"
    return folder / f"{REPORT_NAME}.json", folder / f"{REPORT_NAME}.md"


def deploy_report(run: CmlDeployRun, *, api_requests: int, seconds: float, error: str | None) -> dict[str, Any]:
    ledger = run.ledger
    return {
        "target": "cml",
        "model_name": run.source.model_name,
        "version": run.source.version,
        "cml_model": run.settings.model_name,
        "outcome": "failed" if error else "deployed",
        "failed_step": run.step if error else None,
        "error": error,
        "created": ledger.created,
        "found": ledger.reused,
        "stopped_previous": ledger.stopped,
        "cleaned_up": ledger.cleaned_up,
        "cleanup_failed": ledger.cleanup_failed,
        "api_requests": api_requests,
        "model_calls": run.model_calls,
        "seconds": round(seconds, 3),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _markdown(report: dict[str, Any]) -> str:
    title = f"# CML deploy of {report['model_name']} version {report['version']}: {report['outcome']}"
    lines = [title, ""]
    if report["error"]:
        lines += [f"**Failed at step '{report['failed_step']}'**: {report['error']}", ""]
    for heading, key in (
        ("Created", "created"),
        ("Found and reused", "found"),
        ("Previous deployments stopped", "stopped_previous"),
        ("Cleaned up after the failure", "cleaned_up"),
        ("Could not clean up", "cleanup_failed"),
    ):
        if report[key]:
            lines += [f"## {heading}", "", *(f"- {item}" for item in report[key]), ""]
    lines.append(
        f"{report['api_requests']} API requests and {report['model_calls']} model calls in {report['seconds']} s "
        f"(CML model {report['cml_model']}, {report['finished_at']})."
    )
    return "\n".join(lines) + "\n"


def write_deploy_report(config: ProjectConfig, report: dict[str, Any]) -> Path | None:
    """Write both files; a failure to write is logged, never raised (the deploy itself is what counts)."""
    json_path, md_path = report_paths(config)
    try:
        write_files_atomic({json_path: dumps_json(report), md_path: _markdown(report)})
    except ReportWriteError as exc:
        log.warning("the deploy report could not be written: %s", exc)
        return None
    return json_path

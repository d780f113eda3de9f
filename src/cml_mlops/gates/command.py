"""`cml-mlops gate`: the quality gate on a registered model version; exits 1 when it fails."""

from __future__ import annotations

import click

from cml_mlops.cli_support import StepFailed, pass_config
from cml_mlops.config import ProjectConfig
from cml_mlops.errors import CmlMlopsError
from cml_mlops.gates.report import REPORT_FOLDER
from cml_mlops.gates.runner import run_gate


@click.command("gate")
@click.option("--version", default=None, help="Model version to gate (default: the newest registered one).")
@pass_config
def gate(config: ProjectConfig, version: str | None) -> None:
    """Check a model version against the gates in cml-mlops.yaml: floors, a dummy baseline, non-inferiority to the
    champion (paired bootstrap), segment floors and the input/output contracts.

    Writes reports/gate/gate-v<N>.{json,md}, logs them to the version's run, tags the version
    validation_status=passed|failed and, on a pass, sets the `challenger` alias.
    """
    try:
        report = run_gate(config, version=version)
    except CmlMlopsError as exc:  # also when invoked outside the CLI group, e.g. by tests
        raise StepFailed(str(exc), exc.exit_code) from None
    click.echo(report.to_markdown())
    folder = config.path(config.reports.dir) / REPORT_FOLDER
    if not report.passed:
        names = "; ".join(f"{check.kind}: {check.name}" for check in report.failed_checks) or "nothing was checked"
        raise StepFailed(
            f"quality gate FAILED for {report.model_name} version {report.version}: {names} "
            f"(report: {folder / report.stem}.md)",
            exit_code=1,
        )
    click.echo(f"quality gate passed: {report.model_name} version {report.version} is the challenger")

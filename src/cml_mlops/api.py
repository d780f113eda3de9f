"""The public Python API: one typed function per lifecycle step, each taking the project's config.

    import cml_mlops
    config = cml_mlops.load_config("path/to/project")
    cml_mlops.ingest(config); cml_mlops.load(config); cml_mlops.validate(config)
    result = cml_mlops.train(config); cml_mlops.gate(config, version=result.model_version)

Each function does what its `cml-mlops` command does, without the command line: typed values in, a result out,
the library's errors (cml_mlops.errors) raised. Implementations are imported when a step runs, so that importing
the API stays fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

    from cml_mlops.batches import BatchResult, Drift
    from cml_mlops.config import ProjectConfig
    from cml_mlops.deploy.base import Deployment
    from cml_mlops.eda.report import EdaReport
    from cml_mlops.gates import GateReport
    from cml_mlops.ingest import IngestResult
    from cml_mlops.loading import LoadResult
    from cml_mlops.monitoring.checks import MonitoringResult
    from cml_mlops.reports import HtmlReport
    from cml_mlops.simulation.runner import SimulationSummary
    from cml_mlops.training import TrainingResult
    from cml_mlops.validation import TableValidation


def load_config(project_dir: str | Path | None = None, *, profile: str | None = None) -> ProjectConfig:
    """The project's validated config (`cml-mlops.yaml`, the profile, then `CML_MLOPS_*` environment variables)."""
    from cml_mlops.config import load_config as load

    return load(None if project_dir is None else Path(project_dir), profile=profile)


def ingest(config: ProjectConfig, *, force: bool = False, progress: bool = False) -> IngestResult:
    """Download the data set, check its checksum and unpack the configured member (`cml-mlops ingest`)."""
    from cml_mlops.ingest import fetch_dataset

    return fetch_dataset(config, progress=progress, force=force)


def load(
    config: ProjectConfig,
    *,
    csv_path: Path | None = None,
    mode: Literal["replace", "append"] = "replace",
    quarantine: bool = False,
) -> LoadResult:
    """Load the raw CSV into the lake table after the contract accepts it (`cml-mlops lake load`)."""
    from cml_mlops.loading import load_raw_csv

    return load_raw_csv(config, csv_path=csv_path, mode=mode, quarantine=quarantine)


def validate(config: ProjectConfig, *, snapshot_id: int | None = None, quarantine: bool = False) -> TableValidation:
    """Check a snapshot of the lake table against the contract (`cml-mlops validate`)."""
    from cml_mlops.validation import validate_table

    return validate_table(config, snapshot_id=snapshot_id, quarantine=quarantine)


def profile(config: ProjectConfig, *, snapshot_id: int | None = None) -> EdaReport:
    """The EDA report of a snapshot (`cml-mlops eda`); a notebook shows it inline as a cell's value."""
    from cml_mlops.eda.command import build_project_eda_report

    return build_project_eda_report(config, snapshot_id=snapshot_id)


def new_batch(
    config: ProjectConfig,
    *,
    rows: int | None = None,
    seed: int | None = None,
    noise: float | None = None,
    drift: Drift | None = None,
    dry_run: bool = False,
) -> BatchResult:
    """Append a synthetic batch, optionally drifted, to the lake table (`cml-mlops newbatch`)."""
    from cml_mlops.batches import add_batch

    return add_batch(config, rows=rows, seed=seed, noise=noise, drift=drift, dry_run=dry_run)


def train(
    config: ProjectConfig,
    *,
    snapshot_id: int | None = None,
    progress: bool = False,
    extra_tags: Mapping[str, str] | None = None,
) -> TrainingResult:
    """Train every candidate, select on validation and register the selected model (`cml-mlops train`)."""
    from cml_mlops.training import train as run

    return run(config, snapshot_id=snapshot_id, progress=progress, extra_tags=extra_tags)


def gate(config: ProjectConfig, *, version: str | int | None = None) -> GateReport:
    """Run the quality gate on a registered version (default: the newest) and record its verdict (`cml-mlops gate`)."""
    from cml_mlops.gates import run_gate

    return run_gate(config, version=version)


def deploy(config: ProjectConfig, *, target: str = "local", version: str | int | None = None) -> Deployment:
    """Deploy a gated version (default: the challenger, else the newest) to `target` (`cml-mlops deploy`)."""
    from cml_mlops.deploy.base import deploy_version, get_target, resolve_version

    return deploy_version(config, get_target(target, config), resolve_version(config, version))


def score(
    config: ProjectConfig, frame: pd.DataFrame, *, version: str | int | None = None, alias: str | None = None
) -> pd.DataFrame:
    """`probability` and `label` per row of raw input columns, by a registered version (default: the newest)."""
    from cml_mlops.tracking import load_model_version

    return load_model_version(config, version=version, alias=alias).predict(frame)


def simulate(config: ProjectConfig, **options: Any) -> SimulationSummary:
    """Send traffic to the deployed model (`cml-mlops simulate`); `options` override the config's `simulation`
    section (fields of cml_mlops.simulation.runner.SimulationOptions: scenario, rows, concurrency...)."""
    from cml_mlops.simulation.runner import SimulationOptions, run_simulation

    return run_simulation(config, SimulationOptions.from_config(config, **options))


def monitor(
    config: ProjectConfig,
    *,
    window: str | None = None,
    windows: int | None = None,
    since: float | None = None,
    until: float | None = None,
    progress: bool = False,
) -> MonitoringResult:
    """The monitoring checks on the prediction log (`cml-mlops monitor`); `since`/`until` in epoch seconds."""
    from cml_mlops.monitoring.checks import run_monitoring

    return run_monitoring(config, window=window, windows=windows, since=since, until=until, progress=progress)


def report(
    config: ProjectConfig, result: MonitoringResult | None = None, *, output_dir: Path | None = None
) -> HtmlReport:
    """The monitoring dashboard of a `monitor` result (default: monitor now, windows fitted to the data's span).

    A notebook shows the returned report inline; with `output_dir` it is also written there as dashboard.html,
    as `cml-mlops report` does.
    """
    from cml_mlops.monitoring.dashboard import build_dashboard, write_dashboard
    from cml_mlops.monitoring.windows import AUTO

    dashboard = build_dashboard(result or monitor(config, window=AUTO), config.monitoring)
    if output_dir is not None:
        write_dashboard(dashboard, Path(output_dir))
    return dashboard


STEPS = (
    "ingest", "load", "validate", "profile", "new_batch", "train", "gate", "deploy", "score", "simulate", "monitor",
    "report",
)  # fmt: skip

"""`cml-mlops monitor` and `cml-mlops report` as a scheduled job runs them: files, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, inspect, text

from cml_mlops.cli import cli
from cml_mlops.features import FeatureSpec
from cml_mlops.lake import open_lake
from cml_mlops.monitoring.outcome import MonitorExit
from cml_mlops.monitoring.store import migrate
from cml_mlops.project import load_feature_spec
from tests.monitoring.conftest import Registry
from tests.monitoring.helpers import START, ServedModel, log_traffic, shifted, store_environ
from tests.steps.conftest import loaded_project, project_config
from tests.support.models import register_test_model
from tests.support.net import free_port

__all__ = ["loaded_project"]  # the step tests' fixture, used here too

HOUR = 3600.0
PASSWORD = "n0t-4-real-Pa55"


def invoke(project: Path, environ: dict[str, str], *args: str, monkeypatch: pytest.MonkeyPatch) -> Result:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CML_MLOPS_PROFILE", raising=False)
    return CliRunner().invoke(cli, ["--project-dir", str(project), *args], catch_exceptions=False)


@pytest.fixture
def environ(
    tmp_path: Path, monitor_store_url: str, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return store_environ(tmp_path, monitor_store_url, registry.folder)


def _log(engine: Engine, registry: Registry, frame: pd.DataFrame, spec: FeatureSpec, *, drifted: bool) -> None:
    rng = np.random.default_rng(0)
    for window in range(3):
        rows = frame.sample(300, random_state=window)
        rows = shifted(rows) if drifted and window > 0 else rows
        times = START - (2 - window) * HOUR - rng.uniform(0, HOUR - 1, len(rows))
        times[0] = START - (2 - window) * HOUR
        log_traffic(
            engine, registry.profiled, rows, times, target=spec.target, positive_label=spec.positive_label, seed=window
        )


def _store_state(engine: Engine) -> tuple[object, ...]:
    """What the store holds: row counts and sums of the log (and the file's bytes for SQLite)."""
    with engine.connect() as connection:
        counts = [
            connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() for table in ("predictions", "labels")
        ]
        total = tuple(connection.execute(text("SELECT sum(probability), max(requested_at) FROM predictions")).one())
    content = Path(engine.url.database or "").read_bytes() if engine.dialect.name == "sqlite" else b""
    return tuple(counts), total, content


def test_an_alert_fails_the_job_and_the_reports_say_why(
    baked_project: Path,
    environ: dict[str, str],
    monitor_engine: Engine,
    registry: Registry,
    bank_frame: pd.DataFrame,
    bank_spec: FeatureSpec,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _log(monitor_engine, registry, bank_frame, bank_spec, drifted=True)
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    environ = {**environ, "GITHUB_STEP_SUMMARY": str(summary)}
    result = invoke(
        baked_project, environ, "monitor", "--window", "1h", "--windows", "3", "--no-progress", monkeypatch=monkeypatch
    )
    assert result.exit_code == 1, result.output
    assert "monitoring ALERT" in result.output and "prediction_drift" in result.output
    folder = tmp_path / "reports" / "monitoring"
    report = json.loads((folder / "monitoring.json").read_text())
    assert report["status"] == "alert" and report["exit_code"] == 1
    assert [window["requests"] for window in report["windows"]] == [300, 300, 300]
    markdown = (folder / "monitoring.md").read_text()
    assert "**Status: ALERT**" in markdown and "| prediction_drift |" in markdown
    assert summary.read_text() == "earlier step\n" + markdown


@pytest.mark.parametrize("monitor_store_url", ["sqlite"], indirect=True)
def test_a_served_version_without_profile_is_an_error_with_its_own_exit_code(
    baked_project: Path,
    environ: dict[str, str],
    monitor_engine: Engine,
    registry: Registry,
    bank_frame: pd.DataFrame,
    bank_spec: FeatureSpec,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    times = START - np.linspace(0, HOUR - 1, 300)
    log_traffic(monitor_engine, registry.bare, bank_frame.head(300), times, target=bank_spec.target,
                positive_label=bank_spec.positive_label)  # fmt: skip
    result = invoke(
        baked_project, environ, "monitor", "--window", "1h", "--windows", "1", "--no-progress", monkeypatch=monkeypatch
    )
    assert result.exit_code == MonitorExit.MISCONFIGURED, result.output
    model = f"{registry.bare.model_name}:{registry.bare.version}"
    assert f"no reference profile for {model}" in result.output and "--backfill-profiles" in result.output
    report = json.loads((tmp_path / "reports" / "monitoring" / "monitoring.json").read_text())
    assert (report["status"], report["exit_code"], report["missing_profiles"]) == ("missing_profile", 3, [model])


@pytest.mark.parametrize("monitor_store_url", ["sqlite"], indirect=True)
def test_the_dashboard_fits_its_windows_to_the_data_without_options(
    baked_project: Path,
    environ: dict[str, str],
    monitor_engine: Engine,
    registry: Registry,
    bank_frame: pd.DataFrame,
    bank_spec: FeatureSpec,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _log(monitor_engine, registry, bank_frame, bank_spec, drifted=False)  # 900 rows over three hours
    report = invoke(baked_project, environ, "report", "--no-progress", monkeypatch=monkeypatch)
    assert report.exit_code == 0, report.output
    html = (tmp_path / "reports" / "monitoring" / "dashboard.html").read_text()
    # Not one of 30 daily windows: 30-minute windows, about 100 rows or more each.
    assert "6 of 30m" in html


def test_healthy_traffic_passes(
    baked_project: Path,
    environ: dict[str, str],
    monitor_engine: Engine,
    registry: Registry,
    bank_frame: pd.DataFrame,
    bank_spec: FeatureSpec,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _log(monitor_engine, registry, bank_frame, bank_spec, drifted=False)
    before = _store_state(monitor_engine)
    result = invoke(
        baked_project, environ, "monitor", "--window", "1h", "--windows", "3", "--no-progress", monkeypatch=monkeypatch
    )
    assert result.exit_code == 0, result.output
    assert "monitoring ok" in result.output
    assert _store_state(monitor_engine) == before  # monitoring only reads
    report = invoke(
        baked_project, environ, "report", "--window", "1h", "--windows", "3", "--no-progress", monkeypatch=monkeypatch
    )
    assert report.exit_code == 0, report.output
    html = (tmp_path / "reports" / "monitoring" / "dashboard.html").read_text()
    assert html.count("<img") >= 8 and "Drift per feature" in html


def test_the_dashboard_is_written_when_checks_alert(
    baked_project: Path,
    environ: dict[str, str],
    monitor_engine: Engine,
    registry: Registry,
    bank_frame: pd.DataFrame,
    bank_spec: FeatureSpec,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _log(monitor_engine, registry, bank_frame, bank_spec, drifted=True)
    out = tmp_path / "elsewhere"
    result = invoke(
        baked_project,
        environ,
        "report",
        "--window",
        "1h",
        "--since",
        "2025-10-09T05:53:20",
        "--until",
        "2025-10-09T08:53:20Z",
        "--output-dir",
        str(out),
        monkeypatch=monkeypatch,
    )
    assert result.exit_code == 0, result.output
    assert "alert" in result.output and (out / "dashboard.html").is_file()


@pytest.mark.postgres
def test_a_store_that_does_not_answer_is_named_without_its_password(
    baked_project: Path, tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn = f"postgresql://monitor:{PASSWORD}@127.0.0.1:{free_port()}/metrics"
    environ = {**store_environ(tmp_path, dsn, registry.folder)}
    result = invoke(baked_project, environ, "monitor", "--no-progress", monkeypatch=monkeypatch)
    assert result.exit_code == MonitorExit.MISCONFIGURED
    assert "does not answer" in result.output and "monitor:***@127.0.0.1" in result.output
    assert PASSWORD not in result.output
    assert not (tmp_path / "reports").exists()


def test_a_predictions_table_of_another_shape_is_refused_and_left_alone(
    baked_project: Path,
    environ: dict[str, str],
    monitor_store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = create_engine(monitor_store_url)
    if engine.dialect.name == "sqlite":
        Path(engine.url.database or "").parent.mkdir(parents=True, exist_ok=True)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE predictions (id INTEGER PRIMARY KEY, score FLOAT)"))
        connection.execute(text("INSERT INTO predictions VALUES (1, 0.5)"))
    result = invoke(baked_project, environ, "monitor", "--no-progress", monkeypatch=monkeypatch)
    assert result.exit_code == MonitorExit.MISCONFIGURED
    assert "not the prediction log's" in result.output and "no column prediction_id" in result.output
    with engine.connect() as connection:
        assert [c["name"] for c in inspect(connection).get_columns("predictions")] == ["id", "score"]
        assert connection.execute(text("SELECT count(*) FROM predictions")).scalar() == 1
        assert "labels" not in inspect(connection).get_table_names()
    engine.dispose()
    assert not (tmp_path / "reports").exists()


def test_no_prediction_log_is_reported_and_not_created(
    baked_project: Path, tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = store_environ(tmp_path, None, registry.folder)
    result = invoke(baked_project, environ, "monitor", "--no-progress", monkeypatch=monkeypatch)
    assert result.exit_code == MonitorExit.NO_DATA and "no prediction log yet" in result.output
    assert not (tmp_path / "monitoring" / "predictions.db").exists()
    assert not (tmp_path / "reports").exists()


def test_an_empty_log_and_a_range_without_traffic_are_clear(
    baked_project: Path,
    environ: dict[str, str],
    monitor_engine: Engine,
    registry: Registry,
    bank_frame: pd.DataFrame,
    bank_spec: FeatureSpec,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    empty = invoke(baked_project, environ, "monitor", "--no-progress", monkeypatch=monkeypatch)
    assert empty.exit_code == MonitorExit.NO_DATA and "holds no prediction yet" in empty.output
    _log(monitor_engine, registry, bank_frame, bank_spec, drifted=False)
    later = invoke(
        baked_project,
        environ,
        "monitor",
        "--since",
        "2030-01-01",
        "--until",
        "2030-01-02",
        "--no-progress",
        monkeypatch=monkeypatch,
    )
    assert later.exit_code == MonitorExit.NO_DATA
    assert "no prediction logged between 2030-01-01T00:00:00Z" in later.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--window", "soon"], "not a duration"),
        (["--since", "tomorrow"], "not a time"),
        (["--since", "2025-10-09", "--until", "2025-10-08"], "must be before"),
    ],
)
def test_bad_options_are_named(
    baked_project: Path,
    environ: dict[str, str],
    monitor_engine: Engine,
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = invoke(baked_project, environ, "monitor", "--no-progress", *args, monkeypatch=monkeypatch)
    assert result.exit_code == MonitorExit.MISCONFIGURED and message in result.output


def test_retraining_on_alert_runs_the_lifecycle_and_reports_its_outcome(
    baked_project: Path,
    environ: dict[str, str],
    monitor_engine: Engine,
    registry: Registry,
    bank_frame: pd.DataFrame,
    bank_spec: FeatureSpec,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _log(monitor_engine, registry, bank_frame, bank_spec, drifted=True)
    result = invoke(
        baked_project,
        environ,
        "monitor",
        "--window",
        "1h",
        "--windows",
        "3",
        "--retrain-on-alert",
        "--no-progress",
        monkeypatch=monkeypatch,
    )
    assert result.exit_code == 1
    assert "running the lifecycle" in result.output
    retraining = json.loads((tmp_path / "reports" / "monitoring" / "monitoring.json").read_text())["retraining"]
    # This project has no champion and no lake: the lifecycle stops at its preflight, and the report says so.
    assert retraining["triggered_by"] == "prediction_drift"
    assert retraining["outcome"] == "failed" and retraining["failed_step"] == "preflight"


@pytest.mark.slow
def test_backfilled_profiles_let_a_version_trained_before_them_be_monitored(
    loaded_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow.sklearn

    config = project_config(loaded_project)
    with open_lake(config) as lake:
        frame = lake.read(config.lake.table)
        snapshot = lake.current_snapshot(config.lake.table)
    assert snapshot is not None
    spec = load_feature_spec(config)
    version = register_test_model(config, frame, spec, snapshot_id=snapshot.snapshot_id)
    pipeline = mlflow.sklearn.load_model(f"models:/{version.name}/{version.version}")
    served = ServedModel(str(version.version), version.name, pipeline, None, list(spec.inputs()), 0.3)
    engine = create_engine(f"sqlite:///{config.path(config.prediction_log.sqlite_path)}")
    config.path(config.prediction_log.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    migrate(engine)
    times = START - np.linspace(0, 2 * HOUR - 1, 800)
    log_traffic(engine, served, frame.sample(800, random_state=0), times, target=spec.target,
                positive_label=spec.positive_label)  # fmt: skip
    engine.dispose()
    result = invoke(loaded_project, {}, "monitor", "--backfill-profiles", "--window", "1h", "--windows", "2",
                    "--no-progress", monkeypatch=monkeypatch)  # fmt: skip
    assert f"version {version.version}: backfill" in result.output
    report = json.loads((loaded_project / "reports" / "monitoring" / "monitoring.json").read_text())
    assert report["profiles"] == {f"{version.name}:{version.version}": "backfill"}
    assert all(window["drift"] for window in report["windows"]) and report["warnings"] == []

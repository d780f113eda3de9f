"""The alert rule, and monitoring end to end on a store with a real registered model and its profile."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from cml_mlops.config import MonitoringAlertSection, ProjectConfig
from cml_mlops.features import FeatureSpec
from cml_mlops.monitoring.alerts import ALERT, BREACH, NO_DATA, OK, alert_state
from cml_mlops.monitoring.checks import MonitoringResult, run_monitoring
from cml_mlops.monitoring.outcome import MonitorExit
from cml_mlops.monitoring.source import NoTraffic
from tests.monitoring.conftest import Registry
from tests.monitoring.helpers import START, ServedModel, log_traffic, shifted

HOUR = 3600.0
WINDOWS = 6
EMPTY_WINDOW = 2
DRIFTED = (4, 5)
ROWS = 400


@pytest.mark.parametrize(
    "breached, status, hits",
    [
        ([False, False, False], OK, 0),
        ([False, False, True], BREACH, 1),  # the latest only: not yet
        ([True, False, True], ALERT, 2),  # M = 2 of N = 3, the latest among them
        ([True, True, False], OK, 2),  # passed: the latest is fine
        ([True, True, None], NO_DATA, 2),  # the latest could not be judged
        ([True, True, True, True, False, True], ALERT, 2),  # only the last N count
        ([None, None, True], BREACH, 1),
        ([], NO_DATA, 0),
    ],
)
def test_m_of_n_and_the_latest(breached: list[bool | None], status: str, hits: int) -> None:
    state = alert_state(breached, MonitoringAlertSection(breaches=2, windows=3))
    assert (state.status, state.breaches) == (status, hits)


@given(st.lists(st.one_of(st.booleans(), st.none()), max_size=30), st.integers(1, 5), st.integers(0, 5))
def test_an_alert_needs_the_latest_and_m_of_the_last_n(breached: list[bool | None], m: int, extra: int) -> None:
    rule = MonitoringAlertSection(breaches=m, windows=m + extra)
    state = alert_state(breached, rule)
    recent = breached[-rule.windows :]
    is_alert = bool(recent) and recent[-1] is True and sum(1 for b in recent if b) >= m
    assert (state.status == ALERT) == is_alert


def _with(config: ProjectConfig, **monitoring: object) -> ProjectConfig:
    return config.model_copy(update={"monitoring": config.monitoring.model_copy(update=monitoring)})


@pytest.fixture
def served(registry: Registry) -> ServedModel:
    return registry.profiled


def _scenario(engine: Engine, model: ServedModel, frame: pd.DataFrame, spec: FeatureSpec) -> None:
    """Six hourly windows ending at START: the third without traffic, the last two drifted."""
    rng = np.random.default_rng(7)
    for window in range(WINDOWS):
        if window == EMPTY_WINDOW:
            continue
        rows = frame.sample(ROWS, random_state=window)
        rows = shifted(rows) if window in DRIFTED else rows
        end = START - (WINDOWS - 1 - window) * HOUR
        times = end - rng.uniform(0, HOUR - 1, ROWS)
        if window == WINDOWS - 1:
            times[0] = START  # the newest prediction sets the end of the range
        log_traffic(engine, model, rows, times, target=spec.target, positive_label=spec.positive_label, seed=window)


def _run(config: ProjectConfig) -> MonitoringResult:
    return run_monitoring(config, window="1h", windows=WINDOWS, progress=False)


def test_monitoring_finds_drift_in_the_drifted_windows_and_alerts(
    monitor_engine: Engine,
    monitor_config: ProjectConfig,
    served: ServedModel,
    bank_frame: pd.DataFrame,
    bank_spec: FeatureSpec,
) -> None:
    _scenario(monitor_engine, served, bank_frame, bank_spec)
    # Four of fifteen features drift: a lower data-set share than the default 50% makes that a data-set drift.
    result = _run(
        _with(monitor_config, drift=monitor_config.monitoring.drift.model_copy(update={"dataset_drift_share": 0.2}))
    )
    assert result.plan.until == START and [w.requests for w in result.windows] == [ROWS, ROWS, 0, ROWS, ROWS, ROWS]
    model = f"{served.model_name}:{served.version}"
    assert result.profiles == {model: "training"}
    empty = result.windows[EMPTY_WINDOW]
    assert empty.drift == [] and empty.figures["roc_auc"] is None and empty.figures["positive_rate"] is None
    for index, window in enumerate(result.windows):
        if index == EMPTY_WINDOW:
            continue
        drifted = {item.name for item in window.drift[0].features if item.drifted}
        if index in DRIFTED:
            assert {"age", "balance", "job", "contact"} <= drifted
        else:
            assert drifted == set(), (index, drifted)
        assert window.figures["roc_auc"] is not None and window.figures["latency_p95_ms"] is not None
        assert window.versions == {model: ROWS}
    checks = {check.name: check for check in result.checks}
    assert checks["data_drift"].status == ALERT and checks["data_drift"].breached == [
        False,
        False,
        None,
        False,
        True,
        True,
    ]
    assert checks["latency_p95_ms"].status == OK
    assert result.status == ALERT and result.exit_code == 1
    assert "data_drift" in {check.name for check in result.retrain_alerts}
    assert result.warnings == []


def test_without_drift_nothing_alerts(
    monitor_engine: Engine,
    monitor_config: ProjectConfig,
    served: ServedModel,
    bank_frame: pd.DataFrame,
    bank_spec: FeatureSpec,
) -> None:
    rng = np.random.default_rng(3)
    rows = bank_frame.sample(1200, random_state=1)
    times = START - rng.uniform(0, 3 * HOUR, len(rows))
    times[0] = START
    log_traffic(monitor_engine, served, rows, times, target=bank_spec.target, positive_label=bank_spec.positive_label)
    result = run_monitoring(_with(monitor_config, floors={"roc_auc": 0.6}), window="1h", windows=3, progress=False)
    assert result.status == "ok" and result.exit_code == 0, [c.to_dict() for c in result.checks if c.status != OK]
    assert {check.name for check in result.checks} == {"roc_auc", "prediction_drift", "data_drift", "latency_p95_ms"}


def test_a_version_without_profile_is_monitored_without_drift(
    monitor_engine: Engine,
    monitor_config: ProjectConfig,
    registry: Registry,
    bank_frame: pd.DataFrame,
    bank_spec: FeatureSpec,
) -> None:
    served = registry.bare
    times = START - np.linspace(0, HOUR - 1, 300)
    log_traffic(
        monitor_engine,
        served,
        bank_frame.head(300),
        times,
        target=bank_spec.target,
        positive_label=bank_spec.positive_label,
    )
    result = run_monitoring(monitor_config, window="1h", windows=1, progress=False)
    assert result.windows[0].drift == [] and result.windows[0].figures["roc_auc"] is not None
    assert len(result.warnings) == 1 and "backfill-profiles" in result.warnings[0]
    assert next(iter(result.profiles.values())).startswith("missing")
    assert {check.name: check.status for check in result.checks}["data_drift"] == NO_DATA
    # Not silently skipped: the run says which version lacks its profile, and exits with its own code.
    assert result.missing_profiles == [f"{served.model_name}:{served.version}"]
    assert (result.status, result.exit_code) == ("missing_profile", MonitorExit.MISCONFIGURED)


def test_no_traffic_at_all_is_a_clear_error(monitor_engine: Engine, monitor_config: ProjectConfig) -> None:
    with pytest.raises(NoTraffic, match="holds no prediction yet"):
        run_monitoring(monitor_config, progress=False)
    with pytest.raises(NoTraffic, match="no prediction logged between 2025-10-08"):
        run_monitoring(monitor_config, until=START, windows=24, window="1h", progress=False)

"""The dashboard tells what happened over the range: alerts mid-range, the retrain and deploy that followed, and the
recovery; every plot labelled, drift sorted by PSI. Built from a real store and a real MLflow registry."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sqlalchemy import Engine

from cml_mlops.config import ProjectConfig
from cml_mlops.features import FeatureSpec
from cml_mlops.monitoring.checks import MonitoringResult, run_monitoring
from cml_mlops.monitoring.dashboard import build_dashboard, write_dashboard
from cml_mlops.monitoring.events import CHALLENGES_TAG
from cml_mlops.monitoring.plots import (
    check_figure,
    distribution_figure,
    label_metrics_figure,
    latency_figure,
    latest_drift_figure,
    psi_heatmap,
    volume_figure,
)
from cml_mlops.monitoring.report import to_markdown
from cml_mlops.monitoring.story import drift_records, drifted_features, sorted_drift
from cml_mlops.registry import set_alias, set_gate_record
from cml_mlops.retraining.retrain import LineageTag
from cml_mlops.tracking import CHAMPION, configure_mlflow
from tests.monitoring.helpers import config_for, log_traffic, register_profiled_model, shifted
from tests.monitoring.test_dashboard import chromium

HOUR = 3600.0
WINDOWS = 10
BAD = range(2, 5)
TABLES_SCRIPT = (  # every table as rows of cell texts
    "all => all.map(t => [...t.querySelectorAll('tr')].map(r => [...r.cells].map(c => c.textContent.trim())))"
)


@dataclass
class Story:
    config: ProjectConfig
    result: MonitoringResult


def flipped(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The outcomes the other way round: the model's ranking becomes wrong (ROC AUC far below its floor)."""
    turned = frame.copy()
    positive = turned[spec.target] == spec.positive_label
    other = next(value for value in frame[spec.target].unique() if value != spec.positive_label)
    turned[spec.target] = np.where(positive, other, spec.positive_label)
    return turned


@pytest.fixture
def story(
    baked_project: Path,
    tmp_path: Path,
    monitor_store_url: str,
    monitor_engine: Engine,
    bank_frame: pd.DataFrame,
    bank_spec: FeatureSpec,
) -> Story:
    """Ten hourly windows: v1 serves, goes wrong in windows 2-4 (drifted rows, outcomes against it); then v2 is
    retrained, gated and deployed (now, in window 5) and serves the rest, well."""
    config = config_for(baked_project, tmp_path, monitor_store_url)  # a registry of this test alone
    first = register_profiled_model(config, bank_frame, bank_spec)
    now = time.time()
    last_end = math.floor(now / HOUR) * HOUR + 5 * HOUR  # window 5 holds `now`, when the registry events happen
    second = register_profiled_model(config, bank_frame, bank_spec)
    client = configure_mlflow(config)
    client.set_model_version_tag(second.model_name, second.version, CHALLENGES_TAG, first.version)
    set_gate_record(config, second.version, True, "reports/gate/gate.md")
    set_alias(config, second.version, CHAMPION)
    rng = np.random.default_rng(0)
    for window in range(WINDOWS):
        rows = bank_frame.sample(250, random_state=window)
        if window in BAD:
            rows = flipped(shifted(rows), bank_spec)
        end = last_end - (WINDOWS - 1 - window) * HOUR
        times = end - rng.uniform(0, HOUR - 1, len(rows))
        times[0] = end
        served = first if window < 5 else second
        log_traffic(monitor_engine, served, rows, times, target=bank_spec.target,
                    positive_label=bank_spec.positive_label, seed=window)  # fmt: skip
    result = run_monitoring(config, window="1h", windows=WINDOWS, progress=False)
    return Story(config, result)


def axes_labelled(figure: Figure) -> list[str]:
    """The axes of a figure without an x or a y label (colour bars aside)."""
    missing = []
    for axes in figure.axes:
        if axes.get_label() == "<colorbar>":
            continue
        shared_x = any(other is not axes and other.bbox.bounds == axes.bbox.bounds for other in figure.axes)
        if not axes.get_ylabel() or (not axes.get_xlabel() and not shared_x):
            missing.append(axes.get_title() or repr(axes))
    return missing


@pytest.mark.parametrize("monitor_store_url", ["sqlite"], indirect=True)
def test_alerts_mid_range_and_the_retrain_that_followed_are_told(story: Story, tmp_path: Path) -> None:
    result = story.result
    assert LineageTag.CHALLENGES == CHALLENGES_TAG  # the events module names retraining's tag itself
    # Recovered by the end: status ok now, but the range's alerts are not forgotten.
    assert result.status == "ok" and result.alerts == []
    alerted = {check.name: check.alerted_windows for check in result.alerted_in_range}
    assert set(alerted) >= {"roc_auc", "prediction_drift"}
    assert set(alerted["roc_auc"]) <= set(BAD) and alerted["roc_auc"]
    kinds = {event.kind for event in result.events}
    assert {"trained", "retrained", "gate", "deploy"} <= kinds
    assert {event.text for event in result.events} >= {"gate passed on v2", "v2 deployed (champion)"}
    # The Markdown report: the history and the events as tables, the retraining as a table, not JSON.
    result.retraining = {"triggered_by": "roc_auc", "outcome": "deployed", "new_version": "2", "seconds": 12.5,
                         "steps": [{"name": "retrain", "status": "done", "detail": "v2"}]}  # fmt: skip
    markdown = to_markdown(result)
    assert "ok in the latest window; alerted earlier in the range: " in markdown
    history = markdown.split("## Alert history")[1].split("##")[0]
    assert "| roc_auc | performance |" in history and "| prediction_drift | prediction |" in history
    events = markdown.split("## Model events")[1].split("##")[0]
    assert "| retrained | 2 | v2 retrained (challenging v1) |" in events
    retraining = markdown.split("## Retraining")[1]
    assert "| outcome | deployed |" in retraining and "| retrain | done | v2 |" in retraining
    assert "```" not in retraining and "{" not in retraining


@pytest.mark.parametrize("monitor_store_url", ["sqlite"], indirect=True)
def test_every_plot_has_labelled_axes_limits_bands_and_event_markers(story: Story) -> None:
    result, settings = story.result, story.config.monitoring
    windows = result.windows
    figures = [check_figure(check, windows, result.events) for check in result.checks]
    figures += [label_metrics_figure(windows), volume_figure(windows), latency_figure(windows, 1000.0)]
    heatmap = psi_heatmap(windows, settings.drift)
    drifted_window = windows[max(BAD)]
    bars = latest_drift_figure(drifted_window, settings.drift)
    distributions = [distribution_figure(item) for item in drifted_features(drifted_window)]
    assert heatmap is not None and bars is not None and distributions and None not in distributions
    figures += [heatmap, bars, *[figure for figure in distributions if figure is not None]]
    assert [name for figure in figures for name in axes_labelled(figure)] == []
    roc_auc = figures[[check.name for check in result.checks].index("roc_auc")]
    main, counts = roc_auc.axes
    legend = [text.get_text() for text in main.get_legend().get_texts()]
    assert {"floor 0.7", "alerting", "95% interval", "deploy", "retrained", "gate"} <= set(legend)
    assert main.get_ylabel() == "roc auc (0-1)" and main.get_xlabel() == "window end (UTC)"
    assert counts.get_ylabel() == "labelled predictions per window"
    drift = figures[[check.name for check in result.checks].index("prediction_drift")].axes[0]
    assert f"limit {settings.drift.psi_alert:g}" in [text.get_text() for text in drift.get_legend().get_texts()]
    # Drift tables: highest PSI first.
    psi = [record["PSI"] for record in drift_records(drifted_window)]
    assert psi == sorted(psi, reverse=True) and len(psi) > 3
    assert [item.psi for _, item in sorted_drift(drifted_window)] == psi


@pytest.mark.parametrize("monitor_store_url", ["sqlite"], indirect=True)
def test_the_story_dashboard_shows_history_events_and_sorted_drift_in_chromium(story: Story, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    path = write_dashboard(build_dashboard(story.result, story.config.monitoring), tmp_path / "dashboard")
    problems: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(path.as_uri(), wait_until="load")
            warnings = page.eval_on_selector_all(".warnings li", "all => all.map(li => li.textContent)")
            tables = page.eval_on_selector_all("table", TABLES_SCRIPT)
            metadata = page.inner_text("body")
            page_alts = page.eval_on_selector_all("img", "all => all.map(i => i.alt)")
            page.screenshot(path=str(tmp_path / "story.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert any(item.startswith("ALERTED EARLIER roc_auc") for item in warnings), warnings
    assert "alerted earlier in the range" in metadata and "No warnings" not in metadata
    history = next(
        table for table in tables if table and table[0][:2] == ["check", "category"] and "alerting from" in table[0]
    )
    assert {row[0] for row in history[1:]} >= {"roc_auc", "prediction_drift"}
    events = next(table for table in tables if table and table[0] == ["time", "event", "version", "what"])
    assert {row[1] for row in events[1:]} >= {"trained", "retrained", "gate", "deploy"}
    drift = [table for table in tables if table and table[0][:4] == ["model", "feature", "kind", "PSI"]]
    assert len(drift) == 2  # the latest window's, and the latest window with drifted features
    for table in drift:
        psi = [float(row[3]) for row in table[1:] if row[3]]
        assert psi == sorted(psi, reverse=True) and len(psi) > 3
    # Where the drifted features moved: a reference-vs-window plot of each.
    alts = page_alts
    assert {"age distribution", "job distribution", "contact distribution"} <= set(alts), alts

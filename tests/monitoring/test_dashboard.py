"""The dashboard in headless Chromium (Debian's `chromium`): it renders with no console error, and shows its plots."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from cml_mlops.config import ProjectConfig
from cml_mlops.features import FeatureSpec
from cml_mlops.monitoring.checks import run_monitoring
from cml_mlops.monitoring.dashboard import build_dashboard, write_dashboard
from tests.monitoring.conftest import Registry
from tests.monitoring.helpers import START, log_traffic, shifted

HOUR = 3600.0
CHROMIUM = os.environ.get("CML_MLOPS_CHROMIUM", "/usr/bin/chromium")


def chromium() -> str:
    """The browser; outside CI a machine without it skips, in CI it must be there (.ci/run installs it)."""
    found = CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"chromium not found at {CHROMIUM} or on PATH: CI installs Debian's `chromium` package")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium); CI runs this test")


@pytest.fixture
def dashboard(
    tmp_path: Path,
    monitor_engine: Engine,
    monitor_config: ProjectConfig,
    registry: Registry,
    bank_frame: pd.DataFrame,
    bank_spec: FeatureSpec,
) -> Path:
    """Eight hourly windows: the fourth without traffic, the last three drifted."""
    rng = np.random.default_rng(0)
    for window in range(8):
        if window == 3:
            continue
        rows = bank_frame.sample(250, random_state=window)
        rows = shifted(rows) if window >= 5 else rows
        end = START - (7 - window) * HOUR
        times = end - rng.uniform(0, HOUR - 1, len(rows))
        times[0] = end
        log_traffic(
            monitor_engine,
            registry.profiled,
            rows,
            times,
            target=bank_spec.target,
            positive_label=bank_spec.positive_label,
            seed=window,
        )
    result = run_monitoring(monitor_config, window="1h", windows=8, progress=False)
    assert result.status == "alert"
    return write_dashboard(build_dashboard(result, monitor_config.monitoring), tmp_path / "dashboard")


@pytest.mark.parametrize("monitor_store_url", ["sqlite"], indirect=True)
def test_the_dashboard_renders_offline_without_console_errors(dashboard: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium()
    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(dashboard.as_uri(), wait_until="load")
            images = page.eval_on_selector_all(
                "img", "all => all.map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0}))"
            )
            headings = page.eval_on_selector_all("h2", "all => all.map(h => h.textContent)")
            warning_items = page.eval_on_selector_all(".warnings li", "all => all.map(li => li.textContent)")
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    # Offline: the page loads nothing but itself (the plots are data: URIs).
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    assert len(images) >= 10 and all(image["ok"] for image in images), images
    alts = {image["alt"] for image in images}
    assert {"feature drift heatmap", "volume", "latency", "prediction_drift over time", "calibration"} <= alts
    for heading in (
        "Alert history and events",
        "Checks",
        "Metrics over time",
        "Drift per feature",
        "Volume, latency and models served",
    ):
        assert heading in headings
    assert any("ALERT prediction_drift" in item for item in warning_items)

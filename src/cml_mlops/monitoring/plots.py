"""Matplotlib figures of a monitoring result (drawn from its numbers only), in the EDA report's style.

Windows are on the x axis, labelled by their end time; limits are dashed lines, breached windows red points.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure

from cml_mlops.config import MonitoringDriftSection
from cml_mlops.eda.plots import BAR_COLOR, RATE_COLOR, REFERENCE_COLOR, _plain, _short
from cml_mlops.monitoring.checks import MonitorCheckResult, WindowResult

BREACH_COLOR = "#c44e52"
SERIES_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974")
LABEL_METRICS = ("roc_auc", "f1", "precision", "recall", "accuracy")


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def window_labels(windows: Sequence[WindowResult]) -> list[str]:
    """Each window by its end time, as short as the window length allows."""
    if not windows:
        return []
    length = windows[-1].window.end - windows[-1].window.start
    pattern = "%m-%d" if length >= 86_400 else "%m-%d %H:%M"
    return [dt.datetime.fromtimestamp(w.window.end, dt.timezone.utc).strftime(pattern) for w in windows]


def _x_axis(axes: Axes, windows: Sequence[WindowResult]) -> None:
    labels = window_labels(windows)
    step = max(1, math.ceil(len(labels) / 15))
    positions = list(range(0, len(labels), step))
    axes.set_xticks(positions, [labels[i] for i in positions], rotation=45, ha="right", fontsize=7)
    axes.set_xlim(-0.5, len(labels) - 0.5)
    axes.set_xlabel("window end (UTC)", fontsize=8)


def _values(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if value is None else value for value in values], dtype=float)


def check_figure(check: MonitorCheckResult, windows: Sequence[WindowResult]) -> Figure:
    """One check over time: its value per window, its limits, and the windows that breached."""
    figure, axes = _figure(5.2, 2.7)
    values = _values(check.values)
    positions = np.arange(len(values))
    axes.plot(positions, values, "o-", color=BAR_COLOR, markersize=3, linewidth=1.2)
    breached = np.array([flag is True for flag in check.breached])
    if breached.any():
        axes.plot(positions[breached], values[breached], "o", color=BREACH_COLOR, markersize=6, label="breached")
        axes.legend(loc="best", fontsize=7, frameon=False)
    for limit in (check.low, check.high):
        if limit is not None:
            axes.axhline(limit, color=BREACH_COLOR, linestyle="--", linewidth=1)
    if np.isnan(values).all():
        axes.text(0.5, 0.5, "no data in any window", ha="center", va="center", transform=axes.transAxes)
    axes.set_title(_plain(f"{check.name}: {check.rule} ({check.status.replace('_', ' ')})"), fontsize=9)
    _x_axis(axes, windows)
    return figure


def label_metrics_figure(windows: Sequence[WindowResult]) -> Figure:
    """Accuracy, precision, recall, F1 and ROC AUC per window (where enough labels arrived)."""
    figure, axes = _figure(5.2, 2.7)
    positions = np.arange(len(windows))
    for name, color in zip(LABEL_METRICS, SERIES_COLORS, strict=False):
        axes.plot(
            positions,
            _values([w.figures.get(name) for w in windows]),
            "o-",
            markersize=3,
            linewidth=1.2,
            color=color,
            label=name,
        )
    axes.set_ylim(0, 1.02)
    axes.legend(loc="lower left", fontsize=7, frameon=False, ncols=3)
    axes.set_title("Label metrics (windows with enough labels)", fontsize=9)
    _x_axis(axes, windows)
    return figure


def psi_heatmap(windows: Sequence[WindowResult], drift: MonitoringDriftSection) -> Figure | None:
    """PSI of every feature (rows) in every window (columns), coloured by the watch and alert cut-offs."""
    names = sorted({name for window in windows for name in window.worst_feature_drift()})
    if not names:
        return None
    matrix = np.full((len(names), len(windows)), np.nan)
    for column, window in enumerate(windows):
        for name, item in window.worst_feature_drift().items():
            matrix[names.index(name), column] = item.psi
    colors = ListedColormap(["#dafbe1", "#fff1b8", "#f4b6b6"]).with_extremes(bad="#eeeeee")
    bounds = [0.0, drift.psi_watch, drift.psi_alert, max(drift.psi_alert * 4, float(np.nanmax(matrix)) + 1e-9)]
    figure, axes = _figure(max(5.2, 0.22 * len(windows) + 2.5), 0.9 + 0.24 * len(names))
    image = axes.imshow(np.ma.masked_invalid(matrix), aspect="auto", cmap=colors, norm=BoundaryNorm(bounds, 3))
    colorbar = figure.colorbar(image, ax=axes, shrink=0.8, ticks=bounds[:3])
    colorbar.ax.set_yticklabels(["0", f"watch {drift.psi_watch:g}", f"alert {drift.psi_alert:g}"], fontsize=7)
    axes.set_yticks(range(len(names)), [_short(name) for name in names], fontsize=7)
    if len(windows) <= 12:
        for (row, column), value in np.ndenumerate(matrix):
            if not np.isnan(value):
                axes.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=6)
    axes.set_title("Feature drift: PSI per window (grey: no data)", fontsize=9)
    _x_axis(axes, windows)
    return figure


def latest_drift_figure(window: WindowResult, drift: MonitoringDriftSection) -> Figure | None:
    """PSI of each feature in one window, highest first, with the watch and alert lines; drifted ones in red."""
    items = sorted(window.worst_feature_drift().values(), key=lambda item: item.psi)
    if not items:
        return None
    figure, axes = _figure(5.2, 0.9 + 0.22 * len(items))
    colors = [
        BREACH_COLOR if item.drifted else RATE_COLOR if item.psi >= drift.psi_watch else BAR_COLOR for item in items
    ]
    axes.barh([_short(item.name) for item in items], [item.psi for item in items], color=colors)
    axes.axvline(drift.psi_watch, color=RATE_COLOR, linestyle=":", linewidth=1, label=f"watch {drift.psi_watch:g}")
    axes.axvline(drift.psi_alert, color=BREACH_COLOR, linestyle="--", linewidth=1, label=f"alert {drift.psi_alert:g}")
    axes.legend(loc="lower right", fontsize=7, frameon=False)
    axes.tick_params(axis="y", labelsize=7)
    axes.set_xlabel("PSI")
    axes.set_title("Drift in the latest window with traffic (red: drifted)", fontsize=9)
    return figure


def volume_figure(windows: Sequence[WindowResult]) -> Figure:
    """Requests per window, stacked by model version: which models served, and when."""
    figure, axes = _figure(5.2, 2.7)
    models = sorted({model for window in windows for model in window.versions})
    positions = np.arange(len(windows))
    bottom = np.zeros(len(windows))
    for model, color in zip(models, SERIES_COLORS * (1 + len(models) // len(SERIES_COLORS)), strict=False):
        counts = np.array([window.versions.get(model, 0) for window in windows], dtype=float)
        axes.bar(positions, counts, bottom=bottom, color=color, label=_short(model, 30))
        bottom += counts
    if models:
        axes.set_ylim(0, max(float(bottom.max()), 1.0) * (1.25 + 0.12 * len(models)))  # room for the legend
        axes.legend(loc="upper left", fontsize=7, frameon=False, ncols=2, title="model:version", title_fontsize=7)
    axes.set_ylabel("requests")
    axes.set_title("Volume and the models served", fontsize=9)
    _x_axis(axes, windows)
    return figure


def latency_figure(windows: Sequence[WindowResult], limit: float | None) -> Figure:
    """p50, p95 and p99 request latency per window, with the p95 limit."""
    figure, axes = _figure(5.2, 2.7)
    positions = np.arange(len(windows))
    for name, color in (("latency_p50_ms", BAR_COLOR), ("latency_p95_ms", RATE_COLOR), ("latency_p99_ms", "#8172b3")):
        values = _values([window.figures.get(name) for window in windows])
        axes.plot(positions, values, "o-", markersize=3, linewidth=1.2, color=color, label=name.split("_")[1])
    if limit is not None:
        axes.axhline(limit, color=BREACH_COLOR, linestyle="--", linewidth=1, label=f"p95 limit {limit:g} ms")
    axes.legend(loc="upper left", fontsize=7, frameon=False)
    axes.set_ylabel("ms")
    axes.set_title("Latency", fontsize=9)
    _x_axis(axes, windows)
    return figure


def calibration_figure(window: WindowResult) -> Figure | None:
    """Observed positive rate against mean predicted probability per bin, in one window."""
    if not window.calibration:
        return None
    figure, axes = _figure(3.6, 3.2)
    predicted = [point["predicted"] for point in window.calibration]
    observed = [point["observed"] for point in window.calibration]
    axes.plot([0, 1], [0, 1], linestyle="--", color=REFERENCE_COLOR, linewidth=1, label="perfect")
    axes.plot(predicted, observed, "o-", color=BAR_COLOR, markersize=4, label="model")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("mean predicted probability")
    axes.set_ylabel("observed positive rate")
    axes.legend(loc="upper left", fontsize=7, frameon=False)
    ece = window.figures.get("ece")
    axes.set_title(f"Calibration (ECE {ece:.3f})" if ece is not None else "Calibration", fontsize=9)
    return figure

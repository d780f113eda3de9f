"""Matplotlib figures of a monitoring result (drawn from its numbers only), in the EDA report's style.

Windows are on the x axis, labelled by their end time; every axis is labelled with its unit. Limits are dashed
lines named in the legend, breached windows red points, windows in which the check was alerting a red band, and
the model's events (trainings, gate verdicts, deploys, alias moves) vertical lines at their time. Label metrics
carry their 95 % confidence band and, on a second axis, the labelled predictions per window.
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
from cml_mlops.monitoring.drift import FeatureDrift
from cml_mlops.monitoring.events import ModelEvent
from cml_mlops.monitoring.performance import BANDED_METRICS, CEILING_METRICS, FLOOR_METRICS

BREACH_COLOR = "#c44e52"
ALERT_SHADE = "#f4b6b6"
COUNT_COLOR = "#bbbbbb"
EVENT_COLORS = {
    "trained": "#8172b3",
    "retrained": "#8172b3",
    "gate": "#937860",
    "deploy": "#55a868",
    "alias": "#da8bc3",
}
# The y axis of each check, with its unit (checks not named here are label metrics, or named by `check_unit`).
CHECK_UNITS = {
    "positive_rate": "predicted positive rate (share, 0-1)",
    "prediction_drift": "PSI of the predicted probability",
    "data_drift": "share of features drifted (0-1)",
    "latency_p95_ms": "latency p95 (ms)",
    "requests": "requests per window",
}
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


def check_unit(name: str) -> str:
    """The y-axis label of a check: what it measures and in which unit."""
    if name in CHECK_UNITS:
        return CHECK_UNITS[name]
    if name in (*FLOOR_METRICS, *CEILING_METRICS):
        return f"{name.replace('_', ' ')} (0-1)"
    return name


def event_position(at: float, windows: Sequence[WindowResult]) -> float | None:
    """Where a time falls on the windows' axis (window i spans i - 0.5 to i + 0.5), None outside the range."""
    if not windows:
        return None
    first, last = windows[0].window, windows[-1].window
    length = last.end - last.start
    if not first.start < at <= last.end or length <= 0:
        return None
    return len(windows) - 0.5 + (at - last.end) / length


def draw_events(axes: Axes, events: Sequence[ModelEvent], windows: Sequence[WindowResult]) -> None:
    """A vertical line per event, one legend entry per kind; the texts of events at one place stacked at the top."""
    shown: set[str] = set()
    texts: dict[float, list[tuple[str, str]]] = {}
    for event in events:
        position = event_position(event.at, windows)
        if position is None:
            continue
        color = EVENT_COLORS.get(event.kind, REFERENCE_COLOR)
        axes.axvline(position, color=color, linestyle="-.", linewidth=1,
                     label=None if event.kind in shown else event.kind)  # fmt: skip
        shown.add(event.kind)
        texts.setdefault(round(position, 1), []).append((event.text, color))
    for position, lines in texts.items():
        for row, (text, color) in enumerate(lines):
            axes.text(position, 0.98 - 0.075 * row, f" {text}", transform=axes.get_xaxis_transform(), fontsize=6,
                      color=color, va="top", ha="left", clip_on=True)  # fmt: skip


def shade_alerts(axes: Axes, check: MonitorCheckResult) -> None:
    """A red band over each window at whose end the check was alerting."""
    for number, index in enumerate(check.alerted_windows):
        axes.axvspan(index - 0.5, index + 0.5, color=ALERT_SHADE, alpha=0.5, linewidth=0,
                     label="alerting" if number == 0 else None)  # fmt: skip


def check_figure(
    check: MonitorCheckResult, windows: Sequence[WindowResult], events: Sequence[ModelEvent] = ()
) -> Figure:
    """One check over time: its value per window, its limits, breaches, alerts and the model's events; for a
    label metric also its confidence band and the labelled predictions per window."""
    figure, axes = _figure(6.4, 3.0)
    values = _values(check.values)
    positions = np.arange(len(values))
    shade_alerts(axes, check)
    if check.name in BANDED_METRICS:
        low = _values([w.figures.get(f"{check.name}_low") for w in windows])
        high = _values([w.figures.get(f"{check.name}_high") for w in windows])
        axes.fill_between(positions, low, high, color=BAR_COLOR, alpha=0.18, linewidth=0, label="95% interval")
    axes.plot(positions, values, "o-", color=BAR_COLOR, markersize=3, linewidth=1.2, label=check.name)
    breached = np.array([flag is True for flag in check.breached])
    if breached.any():
        axes.plot(positions[breached], values[breached], "o", color=BREACH_COLOR, markersize=6, label="breached")
    for limit, word in ((check.low, "floor"), (check.high, "limit")):
        if limit is not None:
            axes.axhline(limit, color=BREACH_COLOR, linestyle="--", linewidth=1, label=f"{word} {limit:g}")
    draw_events(axes, events, windows)
    if np.isnan(values).all():
        axes.text(0.5, 0.5, "no data in any window", ha="center", va="center", transform=axes.transAxes)
    axes.set_ylabel(check_unit(check.name), fontsize=8)
    if check.category == "performance":
        _label_counts(axes, windows)
    axes.legend(loc="upper left", bbox_to_anchor=(1.02 if check.category != "performance" else 1.12, 1.0),
                fontsize=7, frameon=False)  # fmt: skip
    axes.set_title(_plain(f"{check.name}: {check.rule} ({check.status.replace('_', ' ')})"), fontsize=9)
    _x_axis(axes, windows)
    return figure


def distribution_figure(item: FeatureDrift) -> Figure | None:
    """A drifted feature: the share of rows per PSI bin in the reference (training) and in the window."""
    if not item.bins:
        return None
    figure, axes = _figure(5.2, 0.9 + 0.2 * len(item.bins))
    positions = np.arange(len(item.bins))
    axes.barh(positions - 0.2, item.reference_shares, height=0.4, color=REFERENCE_COLOR, label="reference")
    axes.barh(positions + 0.2, item.current_shares, height=0.4, color=BREACH_COLOR, label="this window")
    axes.set_yticks(positions, [_short(label, 24) for label in item.bins], fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel("share of rows (0-1)", fontsize=8)
    axes.set_ylabel(f"{_short(item.name, 24)} ({'bin' if item.kind == 'numeric' else 'category'})", fontsize=8)
    axes.legend(loc="best", fontsize=7, frameon=True, framealpha=0.8)
    axes.set_title(_plain(f"{item.name}: PSI {item.psi:.3f} ({item.test} p = {item.p_value:.2g})"), fontsize=9)
    return figure


def label_metrics_figure(windows: Sequence[WindowResult]) -> Figure:
    """Accuracy, precision, recall, F1 and ROC AUC per window (where enough labels arrived), over the labelled
    predictions per window (grey bars, right axis)."""
    figure, axes = _figure(5.2, 2.7)
    positions = np.arange(len(windows))
    _label_counts(axes, windows)
    for name, color in zip(LABEL_METRICS, SERIES_COLORS, strict=False):
        values = _values([w.figures.get(name) for w in windows])
        axes.plot(positions, values, "o-", markersize=3, linewidth=1.2, color=color, label=name)
    axes.set_ylim(0, 1.02)
    axes.set_ylabel("metric value (0-1)", fontsize=8)
    axes.legend(loc="lower left", fontsize=7, frameon=False, ncols=3)
    axes.set_title("Label metrics (windows with enough labels)", fontsize=9)
    _x_axis(axes, windows)
    return figure


def _label_counts(axes: Axes, windows: Sequence[WindowResult]) -> None:
    """The labelled predictions per window as grey bars on a right axis, behind the metrics' lines."""
    counts = axes.twinx()
    labelled = [w.figures.get("labelled") or 0 for w in windows]
    counts.bar(np.arange(len(windows)), labelled, color=COUNT_COLOR, alpha=0.35, width=0.6, zorder=0)
    counts.set_ylabel("labelled predictions per window", fontsize=8, color="#777777")
    counts.tick_params(axis="y", labelsize=7, colors="#777777")
    axes.set_zorder(counts.get_zorder() + 1)
    axes.patch.set_visible(False)


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
    colorbar.set_label("PSI", fontsize=8)
    axes.set_ylabel("feature", fontsize=8)
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
    axes.set_xlabel("PSI (population stability index)", fontsize=8)
    axes.set_ylabel("feature", fontsize=8)
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
    axes.set_ylabel("requests per window", fontsize=8)
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
    axes.set_ylabel("latency (ms)", fontsize=8)
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

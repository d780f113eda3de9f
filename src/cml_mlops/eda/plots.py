"""Matplotlib figures of an EdaProfile: drawn from the profile's numbers only, never from the data.

Figures are plain `matplotlib.figure.Figure` objects (no pyplot state, no global backend change), small
enough that a report with one figure per feature stays light.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from cml_mlops.eda.profile import CategoricalProfile, ClassBalance, Correlation, EdaProfile, NumericProfile

BAR_COLOR = "#4c72b0"
RATE_COLOR = "#dd8452"
REFERENCE_COLOR = "#55a868"
MISSING_THRESHOLD = 0.20


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def _plain(label: str) -> str:
    """Data as literal text: control characters escaped, and "$" kept from starting matplotlib mathtext."""
    text = label if label.isprintable() else label.encode("unicode_escape").decode("ascii")
    return text.replace("$", r"\$")


def _short(label: str, limit: int = 18) -> str:
    """A tick label: literal, and cut to `limit` characters."""
    return _plain(label if len(label) <= limit else label[: limit - 1] + "…")


def class_balance_figure(balance: ClassBalance, *, positive_label: str) -> Figure:
    """Rows per target value, annotated with their share."""
    labels = list(balance.counts)
    counts = [balance.counts[label] for label in labels]
    total = sum(counts)
    figure, axes = _figure(4.0, 2.6)
    colors = [RATE_COLOR if label == positive_label else BAR_COLOR for label in labels]
    bars = axes.bar([_short(label) for label in labels], counts, color=colors)
    axes.bar_label(bars, labels=[f"{count:,} ({count / total:.1%})" for count in counts], fontsize=8)
    axes.set_ylabel("rows")
    axes.set_title("Class balance")
    axes.margins(y=0.15)
    return figure


def axis_label(name: str, unit: str = "") -> str:
    """A feature's axis label: its name and, when the contract declares one, its unit."""
    return _plain(f"{name} ({unit})" if unit else name)


def histogram_figure(numeric: NumericProfile, *, unit: str = "") -> Figure:
    """Distribution of one numeric feature (sentinel codes apart); a log count axis when a few bins dwarf the rest."""
    figure, axes = _figure(4.2, 2.6)
    counts = np.asarray(numeric.histogram_counts, dtype=float)
    if len(counts):
        axes.stairs(counts, numeric.histogram_edges, fill=True, color=BAR_COLOR)
        nonzero = counts[counts > 0]
        if len(nonzero) and nonzero.max() > 50 * np.median(nonzero):
            axes.set_yscale("log")
            axes.set_ylabel("rows (log)")
        else:
            axes.set_ylabel("rows")
    else:
        axes.text(0.5, 0.5, "no values", ha="center", va="center", transform=axes.transAxes)
    axes.set_xlabel(axis_label(numeric.name, unit))
    if numeric.sentinels:
        codes = "; ".join(sentinel.describe() for sentinel in numeric.sentinels)
        axes.text(0.98, 0.95, _plain(f"not shown (sentinel?): {codes}"), ha="right", va="top",
                  transform=axes.transAxes, fontsize=7, color=RATE_COLOR)  # fmt: skip
    axes.set_title(_plain(f"{numeric.name}: distribution"))
    return figure


def binned_rate_figure(numeric: NumericProfile, *, overall_rate: float, unit: str = "") -> Figure:
    """Target rate per quantile bin (or per value) of one numeric feature, with the overall rate."""
    bins = numeric.target_rate_bins
    codes = {sentinel.value for sentinel in numeric.sentinels}
    return _rate_bars(
        _plain(f"{numeric.name}: target rate by bin"),
        [f"{bin_.label} (sentinel?)" if bin_.lower in codes and bin_.lower == bin_.upper else bin_.label
         for bin_ in bins],
        [bin_.count for bin_ in bins],
        [bin_.target_rate for bin_ in bins],
        overall_rate,
        counts_as_bars=False,
        xlabel=axis_label(numeric.name, unit),
    )  # fmt: skip


def categorical_figure(categorical: CategoricalProfile, *, overall_rate: float) -> Figure:
    """Rows per category (bars) with the target rate of each category (points) and the overall rate."""
    categories = categorical.categories
    return _rate_bars(
        _plain(f"{categorical.name}: rows and target rate"),
        [category.value for category in categories],
        [category.count for category in categories],
        [category.target_rate for category in categories],
        overall_rate,
        counts_as_bars=True,
        xlabel=_plain(categorical.name),
    )


def _rate_bars(
    title: str,
    labels: Sequence[str],
    counts: Sequence[int],
    rates: Sequence[float | None],
    overall_rate: float,
    *,
    counts_as_bars: bool,
    xlabel: str = "",
) -> Figure:
    figure, axes = _figure(max(4.2, 0.32 * len(labels) + 1.5), 2.9)
    positions = np.arange(len(labels))
    values = np.array([np.nan if rate is None else rate for rate in rates], dtype=float)
    if counts_as_bars:
        axes.bar(positions, counts, color=BAR_COLOR)
        axes.set_ylabel("rows", color=BAR_COLOR)
        rate_axes = axes.twinx()
        rate_axes.plot(positions, values, "o", color=RATE_COLOR, markersize=5)  # categories: no line between
    else:
        rate_axes = axes
        rate_axes.bar(positions, values, color=RATE_COLOR)
        for position, count in zip(positions, counts, strict=True):
            rate_axes.annotate(f"n={count:,}", (position, 0), ha="center", va="bottom", fontsize=6, rotation=90)
    rate_axes.axhline(overall_rate, color=REFERENCE_COLOR, linestyle="--", linewidth=1, label="overall")
    rate_axes.set_ylabel("target rate (share positive)", color=RATE_COLOR)
    rate_axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    top = np.nanmax(values) if np.isfinite(values).any() else 0.0
    rate_axes.set_ylim(0, max(top, overall_rate, 0.01) * 1.15)
    rate_axes.legend(loc="upper right", fontsize=7, frameon=False)
    axes.set_xticks(positions, [_short(label, 22) for label in labels], rotation=45, ha="right", fontsize=7,
                    rotation_mode="anchor")  # fmt: skip
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    return figure


def correlation_figure(correlation: Correlation) -> Figure | None:
    """Pearson correlation heatmap of the numeric features and the target; None without numeric features."""
    names = correlation.columns
    if not names:
        return None
    matrix = np.array([[np.nan if v is None else v for v in row] for row in correlation.matrix], dtype=float)
    size = 1.2 + 0.45 * len(names)
    figure, axes = _figure(size + 1.0, size)
    image = axes.imshow(matrix, cmap="RdBu_r", vmin=-1, vmax=1)
    figure.colorbar(image, ax=axes, shrink=0.8)
    axes.set_xticks(range(len(names)), [_short(name, 12) for name in names], rotation=60, ha="right", fontsize=7)
    axes.set_yticks(range(len(names)), [_short(name, 12) for name in names], fontsize=7)
    if len(names) <= 15:
        for (row, column), value in np.ndenumerate(matrix):
            text = "n/a" if np.isnan(value) else f"{value:.2f}"
            color = "white" if not np.isnan(value) and abs(value) > 0.6 else "black"
            axes.text(column, row, text, ha="center", va="center", fontsize=6, color=color)
    axes.set_title("Correlations (Pearson; target as 0/1)")
    return figure


def missing_share_figure(profile: EdaProfile) -> Figure | None:
    """Share of missing values (empty, or a missing token such as "unknown") per feature."""
    shares = sorted(
        ((item.name, item.missing_share) for item in profile.features()),
        key=lambda pair: pair[1],
    )
    if not shares:
        return None
    figure, axes = _figure(4.6, 0.9 + 0.22 * len(shares))
    names = [_short(name) for name, _ in shares]
    values = [share for _, share in shares]
    colors = [RATE_COLOR if share > MISSING_THRESHOLD else BAR_COLOR for share in values]
    bars = axes.barh(names, values, color=colors)
    axes.bar_label(bars, labels=[f"{share:.1%}" if share else "" for share in values], fontsize=7, padding=2)
    axes.axvline(MISSING_THRESHOLD, color=REFERENCE_COLOR, linestyle="--", linewidth=1)
    axes.set_xlim(0, 1.1)
    axes.set_xlabel("share of rows")
    axes.tick_params(axis="y", labelsize=7)
    tokens = ", ".join(repr(token) for token in profile.settings.get("missing_tokens", ()))
    axes.set_title(_plain(f"Missing values (empty{' or ' + tokens if tokens else ''})"))
    return figure

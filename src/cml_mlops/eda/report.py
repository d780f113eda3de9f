"""The EDA report: the profile rendered as a self-contained HTML page, plus the same numbers as JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cml_mlops.eda import plots
from cml_mlops.eda.profile import EdaProfile, profile_frame
from cml_mlops.features import FeatureSpec
from cml_mlops.reports.files import dumps_json, write_files_atomic
from cml_mlops.reports.html import HtmlReport, Table, html_document

HTML_NAME = "eda.html"
JSON_NAME = "eda.json"


@dataclass(frozen=True)
class EdaReport:
    """A rendered EDA report: `html` is a whole document, `fragment` the same content for embedding."""

    title: str
    metadata: dict[str, str]
    profile: EdaProfile
    html: str = field(repr=False)
    fragment: str = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """What `eda.json` holds."""
        return {"title": self.title, "metadata": dict(self.metadata), "profile": self.profile.to_dict()}

    def _repr_html_(self) -> str:
        """Shown inline by Jupyter: the fragment, whose styles stay scoped to the report."""
        return self.fragment


def build_eda_report(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    *,
    title: str,
    metadata: Mapping[str, object] | None = None,
    bins: int = 10,
    missing_tokens: Sequence[str] = ("unknown",),
    leakage_auc: float = 0.75,
    units: Mapping[str, str] | None = None,
) -> EdaReport:
    """Profile `frame` against `spec` and render the report (ContractViolation for unusable data)."""
    profile = profile_frame(frame, spec, bins=bins, missing_tokens=missing_tokens, leakage_auc=leakage_auc)
    return render_eda_report(profile, title=title, metadata=metadata, units=units)


def render_eda_report(
    profile: EdaProfile,
    *,
    title: str,
    metadata: Mapping[str, object] | None = None,
    units: Mapping[str, str] | None = None,
) -> EdaReport:
    """Render an already computed profile; `units` (column -> unit, from the contract) label the value axes."""
    details = {str(key): str(value) for key, value in (metadata or {}).items()}
    report = HtmlReport(title=title, metadata=details, warnings=list(profile.warnings))
    _overview(report, profile)
    _class_balance(report, profile)
    _leakage(report, profile)
    _missing(report, profile)
    _numeric(report, profile, units or {})
    _categorical(report, profile)
    _correlations(report, profile)
    fragment = report.render_fragment()
    return EdaReport(title, details, profile, html_document(title, fragment), fragment)


def write_eda_report(report: EdaReport, directory: Path) -> tuple[Path, Path]:
    """Write `eda.html` and `eda.json` into `directory` (created if needed), both or neither."""
    html_path, json_path = Path(directory) / HTML_NAME, Path(directory) / JSON_NAME
    write_files_atomic({html_path: report.html, json_path: dumps_json(report.to_dict())})
    return html_path, json_path


def expected_figure_count(profile: EdaProfile) -> int:
    """How many figures the report embeds: balance, 2 per numeric, 1 per categorical, correlations, missing."""
    features = len(profile.numeric) + len(profile.categorical)
    return 1 + 2 * len(profile.numeric) + len(profile.categorical) + bool(profile.numeric) + bool(features)


def _overview(report: HtmlReport, profile: EdaProfile) -> None:
    balance = profile.class_balance
    section = report.section("Overview")
    section.text(
        f"{profile.rows:,} rows; target {profile.target!r} (positive label {profile.positive_label!r}): "
        f"{balance.positives:,} positives, rate {balance.positive_rate:.2%}. "
        f"{len(profile.numeric)} numeric and {len(profile.categorical)} categorical features."
    )
    for note in profile.notes:
        section.text(f"Note: {note}.")


def _class_balance(report: HtmlReport, profile: EdaProfile) -> None:
    balance = profile.class_balance
    section = report.section("Class balance")
    section.figure(
        plots.class_balance_figure(balance, positive_label=profile.positive_label),
        caption="Rows per target value",
    )
    rows = [(label, count, count / profile.rows) for label, count in balance.counts.items()]
    section.table(Table(("target value", "rows", "share"), tuple(rows)))


def _leakage(report: HtmlReport, profile: EdaProfile) -> None:
    threshold = profile.settings["leakage_auc"]
    section = report.section("Leakage candidates")
    section.text(
        "A feature known only after the outcome makes a model look better than it can be in production. "
        f"Listed: the columns declared as leakage, and any feature whose univariate ROC AUC (target-rate "
        f"encoding for categories, fitted on the same rows) exceeds {threshold:.2f}."
    )
    if profile.leakage:
        rows = [(item.column, item.declared, item.roc_auc, "; ".join(item.reasons)) for item in profile.leakage]
        section.table(Table(("feature", "declared", "ROC AUC", "reasons"), tuple(rows)))
    else:
        section.text("No leakage candidate found.")
    ranked = sorted(
        profile.features(),
        key=lambda item: -1.0 if item.roc_auc is None else item.roc_auc,
        reverse=True,
    )
    kinds = {item.name: "numeric" for item in profile.numeric}
    section.table(
        Table(
            ("feature", "kind", "ROC AUC"),
            tuple((item.name, kinds.get(item.name, "categorical"), item.roc_auc) for item in ranked),
            caption="Univariate ROC AUC, max(AUC, 1 - AUC); blank when undefined",
        )
    )


def _missing(report: HtmlReport, profile: EdaProfile) -> None:
    section = report.section("Missing values")
    figure = plots.missing_share_figure(profile)
    if figure is not None:
        section.figure(figure, caption="Share of missing values per feature (dashed line: 20%)")
    rows = [(item.name, item.missing, item.missing_share) for item in profile.features() if item.missing]
    if rows:
        section.table(Table(("feature", "missing rows", "share"), tuple(rows)))
    else:
        section.text("No missing values.")


def _numeric(report: HtmlReport, profile: EdaProfile, units: Mapping[str, str]) -> None:
    if not profile.numeric:
        return
    section = report.section("Numeric features")
    section.table(
        Table(
            ("feature", "count", "missing", "min", "p25", "median", "p75", "max", "mean", "std", "ROC AUC"),
            tuple(
                (
                    item.name,
                    item.count,
                    item.missing,
                    item.min,
                    item.quantiles["p25"],
                    item.quantiles["p50"],
                    item.quantiles["p75"],
                    item.max,
                    item.mean,
                    item.std,
                    item.roc_auc,
                )
                for item in profile.numeric
            ),
        )
    )
    rate = profile.class_balance.positive_rate
    for item in profile.numeric:
        unit = units.get(item.name, "")
        section.figure(plots.histogram_figure(item, unit=unit), caption=f"{item.name}: distribution")
        section.figure(
            plots.binned_rate_figure(item, overall_rate=rate, unit=unit),
            caption=f"{item.name}: target rate by quantile bin (dashed: overall rate)",
        )


def _categorical(report: HtmlReport, profile: EdaProfile) -> None:
    if not profile.categorical:
        return
    section = report.section("Categorical features")
    section.table(
        Table(
            ("feature", "distinct", "most common", "missing share", "ROC AUC"),
            tuple(
                (
                    item.name,
                    item.distinct,
                    item.categories[0].value if item.categories else None,
                    item.missing_share,
                    item.roc_auc,
                )
                for item in profile.categorical
            ),
        )
    )
    rate = profile.class_balance.positive_rate
    for item in profile.categorical:
        section.figure(
            plots.categorical_figure(item, overall_rate=rate),
            caption=f"{item.name}: rows per category (bars) and target rate (points; dashed: overall rate)",
        )


def _correlations(report: HtmlReport, profile: EdaProfile) -> None:
    figure = plots.correlation_figure(profile.correlation)
    if figure is None:
        return
    section = report.section("Correlations")
    section.text(
        "Pearson correlations between numeric features, and with the target as 0/1. "
        "Strongly correlated pairs carry the same information; a strong correlation with the target "
        "deserves a leakage check."
    )
    section.figure(figure, caption="Correlation matrix (blank cells: undefined, e.g. a constant column)")

"""The EDA report reads well: units on the axes, calendar order, sentinels flagged, readable bins, HiDPI images."""

from __future__ import annotations

import base64
import re
from types import ModuleType

import pandas as pd
import pytest
from matplotlib.figure import Figure

from cml_mlops.contracts.value_patterns import MONTHS
from cml_mlops.eda import plots
from cml_mlops.eda.command import column_units
from cml_mlops.eda.profile import EdaProfile, NumericProfile, compact_number
from cml_mlops.eda.report import build_eda_report
from cml_mlops.features import FeatureSpec
from cml_mlops.reports.html import PIXEL_RATIO, HtmlReport, png_size


def numeric(profile: EdaProfile, name: str) -> NumericProfile:
    found = profile.feature(name)
    assert isinstance(found, NumericProfile)
    return found


def axis_texts(figure: Figure) -> list[str]:
    return [axes.get_xlabel() for axes in figure.axes] + [axes.get_ylabel() for axes in figure.axes]


def test_the_contract_gives_the_units_and_the_axes_show_them(
    bank_contracts: ModuleType, bank_profile: EdaProfile
) -> None:
    units = column_units(bank_contracts)
    assert units["age"] == "years" and units["duration"] == "seconds"
    histogram = plots.histogram_figure(numeric(bank_profile, "age"), unit=units["age"])
    assert "age (years)" in axis_texts(histogram)
    rates = plots.binned_rate_figure(numeric(bank_profile, "duration"), overall_rate=0.1, unit=units["duration"])
    assert "duration (seconds)" in axis_texts(rates)
    assert any("target rate" in text for text in axis_texts(rates))


def test_months_are_in_calendar_order(bank_profile: EdaProfile) -> None:
    values = [category.value for category in bank_profile.feature("month").categories]  # type: ignore[union-attr]
    assert values == [month for month in MONTHS if month in values]
    jobs = bank_profile.feature("job").categories  # type: ignore[union-attr]
    assert [job.count for job in jobs] == sorted((job.count for job in jobs), reverse=True)  # others: by count


def test_sentinels_are_flagged_and_kept_out_of_the_histogram(bank_profile: EdaProfile) -> None:
    pdays = numeric(bank_profile, "pdays")
    assert [sentinel.value for sentinel in pdays.sentinels] == [-1.0]
    assert pdays.histogram_edges[0] >= 0  # the distribution of real day counts
    assert any("'pdays': -1 in 8" in warning and "code for missing" in warning for warning in bank_profile.warnings)
    figure = plots.binned_rate_figure(pdays, overall_rate=0.1)
    labels = [tick.get_text() for tick in figure.axes[0].get_xticklabels()]
    assert labels[0] == "-1 (sentinel?)"
    assert not numeric(bank_profile, "age").sentinels


@pytest.mark.parametrize(
    ("value", "text"),
    [(71188.0, "71.2k"), (3913.0, "3913"), (-3313.0, "-3313"), (0.25, "0.25"), (1_250_000.0, "1.25M"), (19.0, "19")],
)
def test_bin_edges_read_at_a_glance(value: float, text: str) -> None:
    assert compact_number(value) == text


def test_no_bin_label_uses_scientific_notation(bank_profile: EdaProfile) -> None:
    labels = [bin_.label for item in bank_profile.numeric for bin_ in item.target_rate_bins]
    assert labels and not [label for label in labels if re.search(r"\de[+-]\d", label)]


def test_figures_are_embedded_at_twice_their_display_size(bank_frame: pd.DataFrame, bank_spec: FeatureSpec) -> None:
    report = HtmlReport("t")
    report.section("s").figure(plots.histogram_figure(numeric(build_profile(bank_frame, bank_spec), "age")))
    image = report.sections[0].blocks[0]
    width, height = png_size(image.data_uri)  # type: ignore[union-attr]
    assert (width, height) == (image.width * PIXEL_RATIO, image.height * PIXEL_RATIO)  # type: ignore[union-attr]
    assert f'width="{image.width}" height="{image.height}"' in report.render()  # type: ignore[union-attr]
    assert base64.b64decode(image.data_uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"  # type: ignore[union-attr]


def build_profile(frame: pd.DataFrame, spec: FeatureSpec) -> EdaProfile:
    return build_eda_report(frame.head(500), spec, title="t").profile

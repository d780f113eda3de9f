"""The EDA report: a self-contained HTML page with one embedded plot per expected figure, and its JSON."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from cml_mlops.eda.profile import EdaProfile
from cml_mlops.eda.report import (
    EdaReport,
    build_eda_report,
    expected_figure_count,
    render_eda_report,
    write_eda_report,
)
from cml_mlops.features import FeatureSpec
from cml_mlops.reports import ReportWriteError
from tests.eda.test_eda_profile import small_frames

DATA_URI = "data:image/png;base64,"


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.references: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "img":
            self.images.append(found)
        self.references += [str(v) for k, v in attrs if k in ("src", "href", "srcset", "data") and v]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def collect(html: str) -> Collector:
    collector = Collector()
    collector.feed(html)
    collector.close()
    return collector


@pytest.fixture(scope="module")
def bank_report(bank_frame: pd.DataFrame, bank_spec: FeatureSpec) -> tuple[EdaReport, float]:
    report = build_eda_report(bank_frame, bank_spec, title="EDA: bank.csv", metadata={"snapshot id": 7})
    return report, 0.0


def test_bank_report_has_one_embedded_image_per_plot(bank_report: tuple[EdaReport, float]) -> None:
    report, _ = bank_report
    parsed = collect(report.html)
    # class balance, missing values, 7 numeric x (histogram + target rate by bin), 9 categorical, correlations
    assert expected_figure_count(report.profile) == 1 + 1 + 7 * 2 + 9 + 1
    assert len(parsed.images) == expected_figure_count(report.profile)
    assert all(str(image["src"]).startswith(DATA_URI) for image in parsed.images)
    assert all(image["alt"] for image in parsed.images)
    assert all(reference.startswith(("data:", "#section-")) for reference in parsed.references)
    assert "://" not in report.html  # no http(s) or other external resource anywhere


def test_bank_report_shows_metadata_and_warnings(bank_report: tuple[EdaReport, float]) -> None:
    report, _ = bank_report
    text = " ".join(collect(report.html).text)
    assert "EDA: bank.csv" in text and "snapshot id" in text
    for warning in report.profile.warnings:
        assert warning in text
    assert "leakage candidate 'duration'" in text
    for heading in ("Class balance", "Leakage candidates", "Missing values", "Numeric features", "Correlations"):
        assert heading in text


def test_bank_report_stays_small(bank_report: tuple[EdaReport, float]) -> None:
    report, _ = bank_report
    assert len(report.html.encode()) < 3_000_000


def test_notebook_display_is_the_embeddable_fragment(bank_report: tuple[EdaReport, float]) -> None:
    report, _ = bank_report
    fragment = report._repr_html_()
    assert fragment == report.fragment and fragment in report.html
    assert "<html" not in fragment and "<body" not in fragment
    assert fragment.count("<img") == expected_figure_count(report.profile)


def test_written_files_round_trip(bank_report: tuple[EdaReport, float], tmp_path: Path) -> None:
    report, _ = bank_report
    html_path, json_path = write_eda_report(report, tmp_path / "reports" / "eda")
    assert (html_path.name, json_path.name) == ("eda.html", "eda.json")
    assert html_path.read_text(encoding="utf-8") == report.html
    loaded = json.loads(json_path.read_text(encoding="utf-8"))
    assert loaded == json.loads(json.dumps(report.to_dict()))
    assert loaded["metadata"] == {"snapshot id": "7"}
    assert loaded["profile"]["rows"] == 4521
    assert loaded["profile"]["warnings"] == list(report.profile.warnings)
    assert sorted(p.name for p in html_path.parent.iterdir()) == ["eda.html", "eda.json"]


def test_unwritable_output_leaves_nothing_behind(bank_report: tuple[EdaReport, float], tmp_path: Path) -> None:
    report, _ = bank_report
    (tmp_path / "eda.json").mkdir()
    with pytest.raises(ReportWriteError, match="is a folder"):
        write_eda_report(report, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eda.json"]


def test_no_positives_still_renders_with_a_clear_note() -> None:
    frame = pd.DataFrame({"x": [1.0, 2, 3, 4, 5], "c": list("ababa"), "y": ["no"] * 5})
    report = build_eda_report(frame, FeatureSpec("y", "yes", ("x",), ("c",)), title="No positives")
    text = " ".join(collect(report.html).text)
    assert "ROC AUC is undefined" in text and "single class" in text
    assert len(collect(report.html).images) == expected_figure_count(report.profile) == 6


def test_constant_column_warning_reaches_the_report() -> None:
    frame = pd.DataFrame({"x": [3.0] * 6, "c": list("abcabc"), "y": ["yes", "no"] * 3})
    report = build_eda_report(frame, FeatureSpec("y", "yes", ("x",), ("c",)), title="Constant")
    assert "&#39;x&#39; is constant" in report.html


def test_only_categorical_features_skip_the_correlation_plot() -> None:
    frame = pd.DataFrame({"c": list("abcabc"), "y": ["yes", "no"] * 3})
    report = build_eda_report(frame, FeatureSpec("y", "yes", (), ("c",)), title="Categories only")
    assert "Correlations" not in report.html
    assert report.html.count("<img") == expected_figure_count(report.profile) == 3


def test_labels_from_data_render_literally() -> None:
    """Dollar signs would start matplotlib mathtext and control characters have no glyph."""
    frame = pd.DataFrame({"$x$": [1.0, 2.0, 3.0], "c": ["$", "a$$b", "\x01\u4e2d"], "y": ["yes", "no", "no"]})
    report = build_eda_report(frame, FeatureSpec("y", "yes", ("$x$",), ("c",)), title="Odd labels")
    assert report.html.count("<img") == expected_figure_count(report.profile)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_frames())
def test_any_small_frame_renders(example: tuple[pd.DataFrame, FeatureSpec]) -> None:
    frame, spec = example
    report = build_eda_report(frame, spec, title="random")
    assert isinstance(report.profile, EdaProfile)
    assert len(collect(report.html).images) == expected_figure_count(report.profile)
    assert render_eda_report(report.profile, title="random").profile is report.profile

"""The shared HTML report builder: self-contained HTML, embedded figures, stable JSON, atomic writes."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a test process may have no display; the builder itself never needs pyplot

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from cml_mlops.errors import CmlMlopsError
from cml_mlops.reports import (
    HtmlReport,
    ReportWriteError,
    Table,
    dumps_json,
    figure_to_data_uri,
    to_jsonable,
    write_files_atomic,
    write_json,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class TagCollector(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> TagCollector:
    collector = TagCollector()
    collector.feed(html)
    collector.close()
    return collector


def small_figure() -> Figure:
    figure = Figure(figsize=(2, 1.5))
    figure.add_subplot().plot([0, 1, 2], [1, 0, 1])
    return figure


def test_figure_to_data_uri_is_an_embedded_png() -> None:
    uri = figure_to_data_uri(small_figure())
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix) :]).startswith(PNG_SIGNATURE)


def test_figure_to_data_uri_closes_a_pyplot_figure() -> None:
    figure = plt.figure()
    plt.plot([1, 2, 3])
    number = figure.number
    figure_to_data_uri(figure)
    assert not plt.fignum_exists(number)


def test_report_renders_metadata_warnings_sections_tables_and_figures() -> None:
    report = HtmlReport(title="Quality gates", metadata={"snapshot": "42"}, warnings=["AUC below 0.75"])
    section = report.section("Results")
    section.text("Two models were compared.")
    section.table(Table(("metric", "value"), (("roc_auc", 0.812345678), ("rows", 45211)), caption="Scores"))
    section.figure(small_figure(), caption="ROC curve")
    html = report.render()
    parsed = parse(html)
    text = " ".join(parsed.text)
    assert html.startswith("<!DOCTYPE html>")
    for expected in ("Quality gates", "snapshot", "42", "AUC below 0.75", "Two models were compared.", "Scores"):
        assert expected in text
    cells = [piece.strip() for piece in parsed.text if piece.strip()]
    assert "0.8123" in cells and "45,211" in cells
    images = [attrs for tag, attrs in parsed.tags if tag == "img"]
    assert len(images) == 1 and str(images[0]["src"]).startswith("data:image/png;base64,")
    assert "://" not in html  # no external resource of any kind (base64 has no colon)


def test_text_is_escaped_so_data_cannot_inject_markup() -> None:
    report = HtmlReport(title="<script>alert(1)</script>", metadata={"<b>key</b>": "<i>v</i>"})
    report.section("s").text("<img src=x onerror=alert(1)>")
    html = report.render()
    assert "<script>" not in html and "<img src=x" not in html and "<b>key" not in html
    assert "&lt;script&gt;" in html


def test_a_report_without_warnings_says_so_and_the_fragment_is_embeddable() -> None:
    report = HtmlReport(title="Clean")
    fragment = report.render_fragment()
    assert "No warnings." in fragment
    assert "<html" not in fragment and fragment.lstrip().startswith('<div class="cml-report">')
    assert report._repr_html_() == fragment
    assert fragment in report.render()


def test_to_jsonable_unwraps_numpy_and_pandas_values() -> None:
    payload = {
        "int": np.int64(3),
        "float": np.float32(0.5),
        "bool": np.bool_(True),
        "nan": float("nan"),
        "inf": np.float64("inf"),
        "na": pd.NA,
        "nat": pd.NaT,
        "timestamp": pd.Timestamp("2024-05-01T12:00:00Z"),
        "date": dt.date(2024, 5, 1),
        "array": np.array([1, 2]),
        "series": pd.Series([1.5, np.nan]),
        "tuple": (1, "a"),
        "path": Path("/tmp/x"),
        7: "int key",
    }
    assert to_jsonable(payload) == {
        "int": 3,
        "float": 0.5,
        "bool": True,
        "nan": None,
        "inf": None,
        "na": None,
        "nat": None,
        "timestamp": "2024-05-01T12:00:00+00:00",
        "date": "2024-05-01",
        "array": [1, 2],
        "series": [1.5, None],
        "tuple": [1, "a"],
        "path": "/tmp/x",
        "7": "int key",
    }
    assert type(to_jsonable(np.int64(3))) is int and type(to_jsonable(np.bool_(False))) is bool


def test_to_jsonable_refuses_unknown_objects() -> None:
    with pytest.raises(TypeError, match="cannot encode object"):
        to_jsonable({"x": object()})


def test_write_json_round_trips_and_is_stable(tmp_path: Path) -> None:
    payload = {"b": [np.int32(1), np.float64(2.5)], "a": {"nested": math.nan}}
    path = write_json(tmp_path / "out" / "result.json", payload)
    first = path.read_bytes()
    assert json.loads(first) == {"b": [1, 2.5], "a": {"nested": None}}
    assert list(json.loads(first)) == ["b", "a"]  # key order kept
    write_json(path, payload)
    assert path.read_bytes() == first == dumps_json(payload).encode()
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]  # no temporary file left
    assert path.stat().st_mode & 0o777 == 0o644  # readable by others, unlike mkstemp's private 0600


def test_write_files_atomic_changes_nothing_when_one_target_is_blocked(tmp_path: Path) -> None:
    (tmp_path / "b.json").mkdir()
    with pytest.raises(ReportWriteError, match="is a folder"):
        write_files_atomic({tmp_path / "a.html": "<p>", tmp_path / "b.json": "{}"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json"]


def test_write_into_a_file_instead_of_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("not a folder")
    with pytest.raises(ReportWriteError, match="cannot write the report") as caught:
        write_json(blocker / "eda" / "eda.json", {})
    assert isinstance(caught.value, CmlMlopsError)
    assert blocker.read_text() == "not a folder"

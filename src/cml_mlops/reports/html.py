"""A small self-contained HTML report builder shared by every report (EDA, quality gates, monitoring).

A report is a title, a header of metadata, a warnings box and sections made of text, tables and figures.
Figures are embedded as base64 PNG data URIs, and the CSS is inline, so the file reads offline with no
external resources. `render()` gives a whole document; `render_fragment()` the same content as one
`<div>` whose styles are scoped to it, for showing inline in a notebook.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure

from cml_mlops.reports.files import (
    to_jsonable,
)

DEFAULT_DPI = 80
# Figures are drawn at this many device pixels per CSS pixel and shown at their CSS size: sharp on HiDPI screens.
PIXEL_RATIO = 2


@dataclass(frozen=True)
class Text:
    """A paragraph of plain text (escaped when rendered)."""

    text: str


@dataclass(frozen=True)
class Table:
    """A table of cells; floats are shown with `digits` significant digits."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    caption: str = ""
    digits: int = 4

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Any]], *, columns: Sequence[str] | None = None, caption: str = ""
    ) -> Table:
        """A table from dicts; columns default to the keys of the first record."""
        records = list(records)
        names = tuple(columns) if columns is not None else tuple(records[0]) if records else ()
        return cls(names, tuple(tuple(record.get(name) for name in names) for record in records), caption)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, caption: str = "", index: bool = False) -> Table:
        """A table from a DataFrame, optionally with its index as the first column."""
        data = frame.reset_index() if index else frame
        rows = tuple(tuple(row) for row in data.itertuples(index=False, name=None))
        return cls(tuple(str(name) for name in data.columns), rows, caption)

    def formatted_rows(self) -> list[list[str]]:
        return [[format_cell(value, self.digits) for value in row] for row in self.rows]

    def to_markdown(self) -> list[str]:
        """The table as GitHub Markdown lines (cells' `|` escaped, line breaks flattened)."""

        def cell(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")

        lines = ["| " + " | ".join(cell(name) for name in self.columns) + " |", "|" + "---|" * len(self.columns)]
        return lines + ["| " + " | ".join(cell(value) for value in row) + " |" for row in self.formatted_rows()]


@dataclass(frozen=True)
class FigureImage:
    """A rendered figure: a `data:image/png;base64,...` URI and its caption."""

    data_uri: str
    caption: str = ""
    alt: str = ""
    width: int | None = None  # CSS pixels; the PNG holds PIXEL_RATIO times as many
    height: int | None = None


Block = Text | Table | FigureImage


@dataclass
class ReportSection:
    """A titled part of a report: blocks in the order they were added."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def text(self, text: str) -> ReportSection:
        self.blocks.append(Text(text))
        return self

    def table(self, table: Table) -> ReportSection:
        self.blocks.append(table)
        return self

    def figure(self, figure: MplFigure, *, caption: str = "", alt: str = "", dpi: int = DEFAULT_DPI) -> ReportSection:
        """Render `figure` to an embedded PNG at PIXEL_RATIO x its size (closing it) and add it."""
        uri = figure_to_data_uri(figure, dpi=dpi * PIXEL_RATIO)
        width, height = png_size(uri)
        self.blocks.append(FigureImage(uri, caption, alt or caption, width // PIXEL_RATIO, height // PIXEL_RATIO))
        return self


@dataclass
class HtmlReport:
    """A whole report; build it up, then `render()`."""

    title: str
    metadata: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    sections: list[ReportSection] = field(default_factory=list)

    def section(self, title: str) -> ReportSection:
        """Append a new section and return it."""
        created = ReportSection(title)
        self.sections.append(created)
        return created

    def render_fragment(self) -> str:
        """The report as one `<div>` with scoped styles: safe to embed in a notebook or another page."""
        return _environment().get_template("fragment").render(report=self, anchors=_anchors(self.sections))

    def render(self) -> str:
        """The report as a complete, self-contained HTML document."""
        return html_document(self.title, self.render_fragment())

    def _repr_html_(self) -> str:
        return self.render_fragment()


def html_document(title: str, fragment: str) -> str:
    """A complete HTML document around a rendered fragment (`HtmlReport.render_fragment()`)."""
    return _environment().get_template("document").render(title=title, body=Markup(fragment))  # noqa: S704 - rendered with autoescape


def png_size(data_uri: str) -> tuple[int, int]:
    """Width and height in pixels of a PNG data URI (from its IHDR header)."""
    header = base64.b64decode(data_uri.split(",", 1)[1][:44])
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def figure_to_data_uri(figure: MplFigure, *, dpi: int = DEFAULT_DPI) -> str:
    """PNG of `figure` as a data URI; the figure is closed afterwards (also when pyplot created it)."""
    buffer = io.BytesIO()
    try:
        # An explicit Agg canvas: no dependence on (or change to) the process-wide matplotlib backend.
        FigureCanvasAgg(figure)
        # A layout engine already fits the content; "tight" would draw the figure a second time.
        tight = "tight" if figure.get_layout_engine() is None else None
        with warnings.catch_warnings():
            # Labels come from data: a character the font lacks is drawn as a box, not worth a warning.
            warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
            figure.savefig(buffer, format="png", dpi=dpi, bbox_inches=tight, metadata={"Software": None})
    finally:
        _close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _close(figure: MplFigure) -> None:
    import matplotlib.pyplot as plt  # only to release figures that pyplot is tracking

    plt.close(figure)


def format_cell(value: Any, digits: int = 4) -> str:
    """A table cell as text: blank for missing, floats with `digits` significant digits."""
    value = to_jsonable(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 10**digits:
            return str(int(value))
        return f"{value:.{digits}g}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _anchors(sections: Sequence[ReportSection]) -> list[str]:
    return [f"section-{index}" for index, _ in enumerate(sections, start=1)]


# Styles scoped under .cml-report so that embedding in a notebook leaves the page's own styles alone.
_CSS = """
.cml-report { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
  max-width: 1100px; line-height: 1.45; }
.cml-report h1 { font-size: 1.6em; margin: 0.2em 0 0.4em; }
.cml-report h2 { font-size: 1.25em; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; margin-top: 1.6em; }
.cml-report dl.meta { display: grid; grid-template-columns: max-content auto; gap: 0.1em 1em; margin: 0 0 1em; }
.cml-report dl.meta dt { font-weight: 600; color: #57606a; }
.cml-report dl.meta dd { margin: 0; font-family: ui-monospace, monospace; }
.cml-report .warnings { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 0.6em 1em; }
.cml-report .warnings h2 { border: 0; margin: 0 0 0.3em; font-size: 1.1em; }
.cml-report .ok { background: #dafbe1; border: 1px solid #4ac26b; border-radius: 6px; padding: 0.6em 1em; }
.cml-report table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
.cml-report caption { text-align: left; font-weight: 600; padding-bottom: 0.2em; }
.cml-report th, .cml-report td { border: 1px solid #d0d7de; padding: 0.2em 0.6em; text-align: right; }
.cml-report th:first-child, .cml-report td:first-child { text-align: left; }
.cml-report th { background: #f6f8fa; }
.cml-report figure { display: inline-block; margin: 0.4em 1em 0.8em 0; vertical-align: top; }
.cml-report figure img { max-width: 100%; height: auto; }
.cml-report figcaption { font-size: 0.85em; color: #57606a; }
.cml-report nav ol { columns: 2; margin: 0; }
"""

_FRAGMENT = """\
<div class="cml-report">
<style>{{ css }}</style>
<h1>{{ report.title }}</h1>
{% if report.metadata %}<dl class="meta">
{% for key, value in report.metadata.items() %}<dt>{{ key }}</dt><dd>{{ value }}</dd>
{% endfor %}</dl>{% endif %}
{% if report.warnings %}<div class="warnings" role="alert"><h2>Warnings ({{ report.warnings | length }})</h2>
<ul>
{% for warning in report.warnings %}<li>{{ warning }}</li>
{% endfor %}</ul></div>
{% else %}<div class="ok">No warnings.</div>
{% endif %}
{% if report.sections | length > 1 %}<nav><ol>
{% for section in report.sections %}<li><a href="#{{ anchors[loop.index0] }}">{{ section.title }}</a></li>
{% endfor %}</ol></nav>{% endif %}
{% for section in report.sections %}
<section id="{{ anchors[loop.index0] }}">
<h2>{{ section.title }}</h2>
{% for block in section.blocks %}
{% if block.text is defined %}<p>{{ block.text }}</p>
{% elif block.data_uri is defined %}<figure><img src="{{ block.data_uri }}" alt="{{ block.alt }}"
{%- if block.width %} width="{{ block.width }}" height="{{ block.height }}"{% endif %}>
{% if block.caption %}<figcaption>{{ block.caption }}</figcaption>{% endif %}</figure>
{% else %}<table>{% if block.caption %}<caption>{{ block.caption }}</caption>{% endif %}
<thead><tr>{% for column in block.columns %}<th>{{ column }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in block.formatted_rows() %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
{% endif %}
{% endfor %}
</section>
{% endfor %}
</div>
"""

_DOCUMENT = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
</head>
<body>
{{ body }}
</body>
</html>
"""


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.DictLoader({"fragment": _FRAGMENT, "document": _DOCUMENT}),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["css"] = Markup(_CSS)  # noqa: S704 - a constant of this module
    return environment

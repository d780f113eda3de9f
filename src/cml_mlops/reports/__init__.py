"""Readable reports (self-contained HTML with embedded plots) and their JSON twins for machines.

The HTML part (matplotlib, jinja2) is imported on first use, so that commands that only write files start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cml_mlops.reports.files import (
    ReportWriteError,
    dumps_json,
    to_jsonable,
    write_files_atomic,
    write_json,
    write_text_atomic,
)

if TYPE_CHECKING:
    from cml_mlops.reports.html import (
        FigureImage,
        HtmlReport,
        ReportSection,
        Table,
        Text,
        figure_to_data_uri,
        html_document,
    )

_HTML_NAMES = frozenset(
    {"FigureImage", "HtmlReport", "ReportSection", "Table", "Text", "figure_to_data_uri", "html_document"}
)


def __getattr__(name: str) -> Any:
    if name in _HTML_NAMES:
        return getattr(importlib.import_module("cml_mlops.reports.html"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FigureImage",
    "HtmlReport",
    "ReportSection",
    "ReportWriteError",
    "Table",
    "Text",
    "dumps_json",
    "figure_to_data_uri",
    "html_document",
    "to_jsonable",
    "write_files_atomic",
    "write_json",
    "write_text_atomic",
]

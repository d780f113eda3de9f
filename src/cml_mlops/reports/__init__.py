"""Readable reports (self-contained HTML with embedded plots) and their JSON twins for machines."""

from cml_mlops.reports.files import (
    ReportWriteError,
    dumps_json,
    to_jsonable,
    write_files_atomic,
    write_json,
    write_text_atomic,
)
from cml_mlops.reports.html import (
    FigureImage,
    HtmlReport,
    ReportSection,
    Table,
    Text,
    figure_to_data_uri,
    html_document,
)

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

"""Exploratory data analysis: a profile of the features against the target, rendered as an HTML report.

The `eda` CLI command lives in `cml_mlops.eda.command` (not imported here, so notebooks that only build
a report do not load the lake).
"""

from cml_mlops.eda.profile import EdaProfile, profile_frame
from cml_mlops.eda.report import EdaReport, build_eda_report, render_eda_report, write_eda_report

__all__ = ["EdaProfile", "EdaReport", "build_eda_report", "profile_frame", "render_eda_report", "write_eda_report"]

"""Data contracts: validate frames against pandera models, report failures, and draft new contracts."""

from cml_mlops.contracts.csv_reader import read_raw_csv
from cml_mlops.contracts.draft import draft_contract, draft_from_csv
from cml_mlops.contracts.report import write_report
from cml_mlops.contracts.runner import CheckFailure, ContractReport, validate_frame

__all__ = [
    "CheckFailure",
    "ContractReport",
    "draft_contract",
    "draft_from_csv",
    "read_raw_csv",
    "validate_frame",
    "write_report",
]

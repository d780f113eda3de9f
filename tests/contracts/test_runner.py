"""validate_frame against the baked bank contract: what passes, and exactly which rule a broken frame breaks."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandera.api.dataframe.model import DataFrameModel

from cml_mlops.contracts.report import write_report
from cml_mlops.contracts.runner import ContractReport, validate_frame
from cml_mlops.errors import ContractViolation

FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def checks(report: ContractReport) -> set[tuple[str | None, str]]:
    return {(failure.column, failure.check) for failure in report.failures}


def column_checks(model: type[DataFrameModel], name: str) -> dict[str, dict[str, Any]]:
    """{check name: statistics} of one contract column."""
    return {check.name: check.statistics for check in model.to_schema().columns[name].checks}


def test_bank_sample_passes_the_dataset_contract(bank_contracts: ModuleType, bank_sample_raw: pd.DataFrame) -> None:
    report = validate_frame(bank_sample_raw, bank_contracts.RawDataset)
    assert report.passed, report.to_markdown()
    assert (report.contract, report.contract_version, report.rows) == ("RawDataset", "1.0.0", 4521)
    assert report.failures == [] and len(report.invalid_index) == 0
    assert report.valid_frame is not None
    assert report.valid_frame["age"].dtype == np.int64  # coerced: the contract gives the types
    report.raise_for_failures()  # a passing report does not raise


@FAST
@given(data=st.data())
def test_frames_generated_from_the_contract_pass(bank_contracts: ModuleType, data: st.DataObject) -> None:
    frame = data.draw(bank_contracts.RawRecord.strategy(size=data.draw(st.integers(1, 5))))
    report = validate_frame(frame, bank_contracts.RawRecord)
    assert report.passed, report.failures


BREAKS = ("out_of_range", "unknown_category", "not_a_number", "drop_column", "extra_column")


@FAST
@given(data=st.data())
def test_breaking_one_rule_reports_exactly_that_rule(bank_contracts: ModuleType, data: st.DataObject) -> None:
    model = bank_contracts.RawRecord
    schema = model.to_schema()
    frame = data.draw(model.strategy(size=data.draw(st.integers(1, 5))))
    row = data.draw(st.integers(0, len(frame) - 1))
    ranged = [name for name in schema.columns if "in_range" in column_checks(model, name)]
    categorical = [name for name in schema.columns if "isin" in column_checks(model, name)]
    way = data.draw(st.sampled_from(BREAKS))
    if way == "out_of_range":
        column = data.draw(st.sampled_from(ranged))
        bounds = column_checks(model, column)["in_range"]
        too_big = data.draw(st.booleans())
        frame.iloc[row, frame.columns.get_loc(column)] = bounds["max_value"] + 1 if too_big else bounds["min_value"] - 1
        expected = {(column, "in_range")}
    elif way == "unknown_category":
        column = data.draw(st.sampled_from(categorical))
        frame.iloc[row, frame.columns.get_loc(column)] = "no-such-category"
        expected = {(column, "isin")}
    elif way == "not_a_number":
        column = data.draw(st.sampled_from(ranged))
        frame[column] = frame[column].astype(object)
        frame.iloc[row, frame.columns.get_loc(column)] = "twelve"
        expected = {(column, "dtype")}
    elif way == "drop_column":
        column = data.draw(st.sampled_from(list(frame.columns)))
        frame = frame.drop(columns=[column])
        expected = {(column, "column_in_dataframe")}
    else:
        frame["unexpected"] = "x"
        expected = {("unexpected", "column_in_schema")}
    report = validate_frame(frame, model)
    assert not report.passed
    assert checks(report) == expected
    if way in ("out_of_range", "unknown_category", "not_a_number"):
        assert list(report.invalid_index) == [frame.index[row]]
        (failure,) = report.failures
        assert failure.failure_count == 1
        assert failure.samples == [
            {key: _plain(value) for key, value in frame.iloc[row].to_dict().items()}
        ]  # the failing input row, as given


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def test_a_dtype_failure_names_the_column_and_the_bad_values(
    bank_contracts: ModuleType, bank_sample_raw: pd.DataFrame
) -> None:
    frame = bank_sample_raw.head(10).copy()
    frame.loc[[2, 5], "age"] = ["forty", "40.5"]
    report = validate_frame(frame, bank_contracts.RawRecord)
    (failure,) = report.failures
    assert (failure.column, failure.check, failure.failure_count) == ("age", "dtype", 2)
    assert failure.examples == ["forty", "40.5"]
    assert "int64" in failure.description
    assert [sample["age"] for sample in failure.samples] == ["forty", "40.5"]


def test_a_missing_value_is_a_null_and_a_dtype_failure(
    bank_contracts: ModuleType, bank_sample_raw: pd.DataFrame
) -> None:
    frame = bank_sample_raw.head(10).copy()
    frame.loc[3, "balance"] = np.nan
    frame.loc[4, "job"] = np.nan
    report = validate_frame(frame, bank_contracts.RawRecord)
    assert checks(report) == {("balance", "dtype"), ("balance", "not_nullable"), ("job", "not_nullable")}
    assert sorted(report.invalid_index) == [3, 4]


def test_sample_size_caps_samples_and_examples(bank_contracts: ModuleType, bank_sample_raw: pd.DataFrame) -> None:
    frame = bank_sample_raw.head(50).copy()
    frame["job"] = [f"job-{i}" for i in range(50)]
    report = validate_frame(frame, bank_contracts.RawRecord, sample_size=3)
    (failure,) = report.failures
    assert failure.failure_count == 50
    assert len(failure.samples) == 3 and len(failure.examples) == 3


def test_invalid_index_lets_a_caller_quarantine_rows(bank_contracts: ModuleType, bank_sample_raw: pd.DataFrame) -> None:
    frame = bank_sample_raw.set_index(bank_sample_raw.index.map(lambda i: f"row-{i}"))
    frame.loc["row-7", "month"] = "smarch"
    frame.loc["row-9", "day"] = "32"
    frame.loc["row-11", "age"] = "?"
    report = validate_frame(frame, bank_contracts.RawDataset)
    assert sorted(report.invalid_index) == ["row-11", "row-7", "row-9"]
    assert report.valid_frame is None
    kept = validate_frame(frame.drop(index=report.invalid_index), bank_contracts.RawDataset)
    assert kept.passed and kept.valid_frame is not None and len(kept.valid_frame) == len(frame) - 3


# --- data-set rules -------------------------------------------------------------------------------------------


def test_header_only_fails_the_row_count(bank_contracts: ModuleType, bank_sample_raw: pd.DataFrame) -> None:
    report = validate_frame(bank_sample_raw.head(0), bank_contracts.RawDataset)
    assert all(failure.column is None for failure in report.failures)  # no row or column rule fails
    assert {failure.check for failure in report.failures} == {"enough_rows"}
    assert len(report.invalid_index) == 0


def test_positive_rate_out_of_band(bank_contracts: ModuleType, bank_sample_raw: pd.DataFrame) -> None:
    frame = bank_sample_raw.assign(y="yes")
    report = validate_frame(frame, bank_contracts.RawDataset)
    assert checks(report) == {(None, "positive_rate_in_band")}
    (failure,) = report.failures
    assert "POSITIVE_RATE_BAND" in failure.description  # the check's docstring says what it wants
    assert len(report.invalid_index) == 0  # a data-set rule condemns no single row


def test_duplicates(bank_contracts: ModuleType, bank_sample_raw: pd.DataFrame) -> None:
    frame = pd.concat([bank_sample_raw, bank_sample_raw.head(100)], ignore_index=True)
    assert checks(validate_frame(frame, bank_contracts.RawDataset)) == {(None, "few_duplicates")}


def test_a_missing_target_is_reported_once(bank_contracts: ModuleType, bank_sample_raw: pd.DataFrame) -> None:
    # positive_rate_in_band cannot run without the target: its KeyError repeats the missing column.
    report = validate_frame(bank_sample_raw.drop(columns=["y"]), bank_contracts.RawDataset)
    assert checks(report) == {("y", "column_in_dataframe")}


def test_an_eager_model_raising_a_single_schema_error_is_reported(
    bank_contracts: ModuleType, bank_sample_raw: pd.DataFrame
) -> None:
    class EagerRecord(bank_contracts.RawRecord):  # type: ignore[name-defined,misc]
        @classmethod
        def validate(cls, check_obj: pd.DataFrame, *args: Any, **kwargs: Any) -> Any:
            kwargs["lazy"] = False  # stops at the first failure with a plain SchemaError
            return super().validate(check_obj, *args, **kwargs)

    frame = bank_sample_raw.head(5).copy()
    frame.loc[1, "marital"] = "complicated"
    report = validate_frame(frame, EagerRecord)
    assert checks(report) == {("marital", "isin")}
    assert list(report.invalid_index) == [1]
    assert report.failures[0].samples[0]["marital"] == "complicated"


# --- rendering ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def failed_report(bank_contracts: ModuleType, bank_sample_raw: pd.DataFrame) -> ContractReport:
    frame = bank_sample_raw.head(40).copy()
    frame.loc[0, "job"] = "astro|naut"
    frame.loc[1, "age"] = "17"
    return validate_frame(frame, bank_contracts.RawDataset)


def test_report_dict_is_json(failed_report: ContractReport) -> None:
    payload = json.loads(json.dumps(failed_report.to_dict()))
    assert payload["passed"] is False and payload["contract"] == "RawDataset" and payload["rows"] == 40
    by_check = {(item["column"], item["check"]): item for item in payload["failures"]}
    assert set(by_check) == {("job", "isin"), ("age", "in_range"), (None, "enough_rows")}
    assert by_check[("age", "in_range")]["examples"] == [17]  # the coerced value pandera compared
    assert by_check[("age", "in_range")]["samples"][0]["age"] == "17"  # the row as it came in
    assert by_check[(None, "enough_rows")]["samples"] == by_check[(None, "enough_rows")]["examples"] == []
    assert payload["invalid_rows"] == 2


def test_markdown_summary(failed_report: ContractReport) -> None:
    text = failed_report.to_markdown()
    assert text.startswith("# Data contract RawDataset 1.0.0: FAIL")
    assert "| check | column | failures | example values |" in text
    assert "| isin: isin([" in text and "`astro\\|naut`" in text  # a pipe cannot end the cell early
    assert "| enough_rows: At least MIN_ROWS rows" in text and "| (data set) | 1 | - |" in text


def test_passing_markdown(bank_contracts: ModuleType, bank_sample_raw: pd.DataFrame) -> None:
    text = validate_frame(bank_sample_raw.head(3), bank_contracts.RawRecord).to_markdown()
    assert text.splitlines()[0] == "# Data contract RawRecord 1.0.0: PASS"
    assert "every check passed" in text and "|" not in text


def test_raise_for_failures_lists_checks_and_carries_the_report(failed_report: ContractReport) -> None:
    with pytest.raises(ContractViolation) as caught:
        failed_report.raise_for_failures()
    assert caught.value.report is failed_report
    message = str(caught.value)
    assert "RawDataset" in message and "3 checks failed" in message
    assert "job: isin (1)" in message and "age: in_range (1)" in message and "enough_rows" in message


def test_write_report_writes_json_and_markdown(failed_report: ContractReport, tmp_path: Path) -> None:
    json_path, markdown_path = write_report(failed_report, tmp_path / "reports", "raw-contract")
    assert (json_path.name, markdown_path.name) == ("raw-contract.json", "raw-contract.md")
    assert json.loads(json_path.read_text(encoding="utf-8")) == failed_report.to_dict()
    assert markdown_path.read_text(encoding="utf-8") == failed_report.to_markdown()
    assert sorted(path.name for path in json_path.parent.iterdir()) == ["raw-contract.json", "raw-contract.md"]
    assert failed_report.to_json(tmp_path / "again.json").read_text(encoding="utf-8") == json_path.read_text(
        encoding="utf-8"
    )

"""draft_contract: a contract in the template's shape that accepts the sample it was drafted from."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandera.api.dataframe.model import DataFrameModel
from sklearn.datasets import load_breast_cancer

from cml_mlops.contracts.csv_reader import read_raw_csv
from cml_mlops.contracts.draft import draft_contract, draft_from_csv, loaded_contract
from cml_mlops.contracts.runner import validate_frame
from cml_mlops.errors import DataFormatError
from cml_mlops.features import FeatureSpec


def rules(model: type[DataFrameModel]) -> dict[str, tuple[str, dict[str, object], bool]]:
    """{column: (dtype, {check name: statistics}, nullable)} of a contract."""
    return {
        name: (str(column.dtype), {check.name: check.statistics for check in column.checks}, column.nullable)
        for name, column in model.to_schema().columns.items()
    }


def frame_of(columns: dict[str, list[str | None]]) -> pd.DataFrame:
    """Text columns as read_raw_csv gives them: strings, missing values as NaN."""
    return pd.DataFrame(
        {
            name: pd.Series([np.nan if value is None else value for value in values], dtype=object)
            for name, values in columns.items()
        }
    )


# --- the bank data set: the draft is close to the handwritten contract --------------------------------------


@pytest.fixture(scope="module")
def bank_csv(bank_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bank") / "bank.csv"
    with zipfile.ZipFile(bank_zip) as archive:
        path.write_bytes(archive.read("bank.csv"))
    return path


@pytest.fixture(scope="module")
def bank_draft(bank_csv: Path) -> str:
    return draft_from_csv(bank_csv, separator=";", target="y", positive_label="yes")


def test_drafted_bank_contract_validates_bank_csv(bank_draft: str, bank_csv: Path) -> None:
    with loaded_contract(bank_draft) as module:
        report = validate_frame(read_raw_csv(bank_csv, separator=";"), module.RawDataset)
        assert report.passed, report.to_markdown()
        assert (module.TARGET, module.POSITIVE_LABEL, module.CONTRACT_VERSION) == ("y", "yes", "1.0.0")
        assert module.MIN_ROWS == 450  # a tenth of the sample, rounded down
        low, high = module.POSITIVE_RATE_BAND
        assert 0 < low <= 521 / 4521 <= high < 1


def test_drafted_bank_contract_has_the_handwritten_types_and_categories(
    bank_draft: str, bank_contracts: ModuleType
) -> None:
    handwritten = rules(bank_contracts.RawRecord)
    with loaded_contract(bank_draft) as module:
        drafted = rules(module.RawRecord)
        spec = FeatureSpec.from_contract(module.RawRecord, target="y", positive_label="yes")
    assert list(drafted) == list(handwritten)
    for name, (dtype, checks, nullable) in handwritten.items():
        assert drafted[name][0] == dtype, name
        assert drafted[name][2] == nullable, name
        assert set(drafted[name][1]) == set(checks), name  # isin where isin, in_range where in_range
        if "isin" in checks:
            assert set(drafted[name][1]["isin"]["allowed_values"]) == set(checks["isin"]["allowed_values"]), name
    expected = FeatureSpec.from_contract(bank_contracts.RawRecord, target="y", positive_label="yes")
    assert (spec.numeric, spec.categorical) == (expected.numeric, expected.categorical)


def test_drafted_ranges_cover_the_sample_with_a_margin_and_stay_non_negative(bank_draft: str) -> None:
    with loaded_contract(bank_draft) as module:
        drafted = rules(module.RawRecord)
    age = drafted["age"][1]["in_range"]  # sample: 19..87
    assert (age["min_value"], age["max_value"]) == (12, 94)
    duration = drafted["duration"][1]["in_range"]  # sample: 4..3025, never negative
    assert duration["min_value"] == 0 and duration["max_value"] >= 3025 * 1.1
    balance = drafted["balance"][1]["in_range"]  # sample: -3313..71188, rounded outwards to thousands
    assert (balance["min_value"], balance["max_value"]) == (-11_000, 79_000)


def test_drafted_source_is_ruff_clean_and_stable(bank_draft: str, tmp_path: Path) -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    path = tmp_path / "contracts.py"
    path.write_text(bank_draft, encoding="utf-8")
    # The generated project's ruff settings (template pyproject.toml).
    options = ["--isolated", "--line-length", "110", "--target-version", "py310"]
    lint = subprocess.run(
        [ruff, "check", *options, "--select", "E,F,W,I,B,UP,SIM,RUF", str(path)], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    formatted = subprocess.run([ruff, "format", *options, "--diff", str(path)], capture_output=True, text=True)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


# --- another data set -------------------------------------------------------------------------------------


def test_draft_for_breast_cancer_data(tmp_path: Path) -> None:
    data = load_breast_cancer(as_frame=True).frame
    data["target"] = data["target"].map({0: "malignant", 1: "benign"})
    csv_path = tmp_path / "breast_cancer.csv"
    data.to_csv(csv_path, index=False)
    output = tmp_path / "contracts.py"
    source = draft_from_csv(csv_path, separator=",", target="target", positive_label="malignant", output=output)
    assert output.read_text(encoding="utf-8") == source
    frame = read_raw_csv(csv_path, separator=",")
    with loaded_contract(source) as module:
        assert validate_frame(frame, module.RawDataset).passed
        drafted = rules(module.RawRecord)
        spec = FeatureSpec.from_contract(module.RawRecord, target=module.TARGET, positive_label="malignant")
        assert len(spec.numeric) == 30 and spec.categorical == ()
        assert drafted["mean radius"][0] == "float64"
        assert "mean_radius: Series[float] = pa.Field(" in source
        assert "in_range" in drafted["mean radius"][1]
        assert 'alias="mean radius"' in source
        assert module.POSITIVE_RATE_BAND[0] <= 212 / 569 <= module.POSITIVE_RATE_BAND[1]
        broken = frame.copy()
        broken.loc[3, "mean radius"] = "-1.5"
        report = validate_frame(broken, module.RawRecord)
        assert {(failure.column, failure.check) for failure in report.failures} == {("mean radius", "in_range")}


# --- inference rules --------------------------------------------------------------------------------------


def test_missing_values_make_a_column_nullable_and_ints_nullable_ints() -> None:
    frame = frame_of(
        {
            "count": ["1", None, "3", "4"],
            "score": ["0.5", "1e-3", None, "2"],
            "colour": ["red", None, "blue", "red"],
            "label": ["a", "b", "a", "a"],
        }
    )
    source = draft_contract(frame, target="label", positive_label="b")
    with loaded_contract(source) as module:
        drafted = rules(module.RawRecord)
        assert validate_frame(frame, module.RawDataset).passed
    assert drafted["count"][0] == "Int64" and drafted["count"][2] is True
    assert drafted["score"][0] == "float64" and drafted["score"][2] is True
    assert drafted["colour"][2] is True and set(drafted["colour"][1]["isin"]["allowed_values"]) == {"red", "blue"}
    assert drafted["label"][2] is False


def test_many_distinct_values_are_free_text() -> None:
    frame = frame_of({"name": [f"client {i}" for i in range(12)], "y": ["no", "yes"] * 6})
    source = draft_contract(frame, target="y", positive_label="yes", max_categories=10)
    assert "# free text: 12 distinct values in the sample" in source
    with loaded_contract(source) as module:
        assert rules(module.RawRecord)["name"] == ("str", {}, False)


def test_awkward_column_names_get_safe_attributes_with_aliases() -> None:
    names = ["mean radius", "class", "1st", "int", "validate", "Series", "a b", "a_b", "target", "LABELS", "x²"]
    frame = frame_of({**{name: ["1", "2"] for name in names}, "outcome": ["bad", "good"]})
    source = draft_contract(frame, target="outcome", positive_label="bad")
    with loaded_contract(source) as module:
        assert list(rules(module.RawRecord)) == [*names, "outcome"]
        assert validate_frame(frame, module.RawDataset).passed
    for attribute, alias in [("class_", "class"), ("col_1st", "1st"), ("int_", "int"), ("a_b_2", "a_b")]:
        assert (
            f'    {attribute}: Series[int] = pa.Field(in_range={{"min_value": 1, "max_value": 3}}, alias="{alias}")'
            in source
        )


def test_non_negative_columns_stay_non_negative() -> None:
    frame = frame_of({"n": ["0", "100"], "x": ["0.0", "0.5"], "y": ["no", "yes"]})
    with loaded_contract(draft_contract(frame, target="y", positive_label="yes")) as module:
        drafted = rules(module.RawRecord)
    assert drafted["n"][1]["in_range"]["min_value"] == 0 and drafted["n"][1]["in_range"]["max_value"] == 110
    assert drafted["x"][1]["in_range"]["min_value"] == 0.0 and drafted["x"][1]["in_range"]["max_value"] == 0.55


@pytest.mark.parametrize(
    ("target_values", "positive", "message"),
    [
        (["no", "yes", "maybe"], "yes", "exactly two values .* it holds 3: 'maybe', 'no', 'yes'"),
        (["no", "no", "no"], "no", "exactly two values .* it holds 1"),
        (["no", "yes", "no"], "YES", "positive label 'YES' is not a value of target column 'y'"),
        (["no", None, "yes"], "yes", "empty on 1 rows"),
    ],
)
def test_target_must_be_binary_complete_and_hold_the_positive_label(
    target_values: list[str | None], positive: str, message: str
) -> None:
    frame = frame_of({"a": ["1", "2", "3"], "y": target_values})
    with pytest.raises(DataFormatError, match=message):
        draft_contract(frame, target="y", positive_label=positive)


def test_target_column_must_exist() -> None:
    with pytest.raises(DataFormatError, match="target column 'outcome' is not in the data; its columns are: a, y"):
        draft_contract(frame_of({"a": ["1"], "y": ["no"]}), target="outcome", positive_label="yes")


# --- property: every drafted contract accepts its own sample ------------------------------------------------

COLUMN_NAMES = ["age", "mean radius", "class", "1st", "float", "to_schema", "Series", "a b", "a_b", "TARGET", "größe"]
CATEGORIES = ["a", "b", "c, d", 'say "hi"', "it's", "ünï", "NA", " padded ", "1.5", "x;y"]
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=6)


def _values(kind: str, rows: int) -> st.SearchStrategy[list[str]]:
    if kind == "int":
        element = st.integers(-(2**63), 2**63 - 1).map(str)
    elif kind == "small_int":
        element = st.integers(0, 20).map(str)
    elif kind == "float":
        element = st.floats(allow_nan=False, allow_infinity=False).map(repr)
    elif kind == "category":
        element = st.sampled_from(CATEGORIES)
    else:
        element = TEXT
    return st.lists(element, min_size=rows, max_size=rows)


@st.composite
def samples(draw: st.DrawFn) -> tuple[pd.DataFrame, str, str]:
    rows = draw(st.integers(2, 12))
    names = draw(st.lists(st.sampled_from(COLUMN_NAMES), min_size=1, max_size=4, unique=True))
    columns: dict[str, list[str | None]] = {}
    for name in names:
        kind = draw(st.sampled_from(["int", "small_int", "float", "category", "text"]))
        values: list[str | None] = list(draw(_values(kind, rows)))
        for position in draw(st.sets(st.integers(0, rows - 1), max_size=rows)):
            values[position] = None
        columns[name] = values
    negative, positive = draw(st.sampled_from([("no", "yes"), ("0", "1"), ("benign", "malignant")]))
    target = draw(st.sampled_from(["y", "target", "class label"]).filter(lambda name: name not in names))
    columns[target] = [
        negative,
        positive,
        *draw(st.lists(st.sampled_from([negative, positive]), min_size=rows - 2, max_size=rows - 2)),
    ]
    return frame_of(columns), target, positive


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=samples())
def test_a_drafted_contract_accepts_the_csv_it_was_drafted_from(sample: tuple[pd.DataFrame, str, str]) -> None:
    frame, target, positive = sample
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sample.csv"
        frame.to_csv(path, index=False)
        read = read_raw_csv(path, separator=",")
        # draft_from_csv validates its draft against the file and refuses to return one that fails.
        source = draft_from_csv(path, separator=",", target=target, positive_label=positive)
    with loaded_contract(source) as module:
        report = validate_frame(read, module.RawDataset)
        assert report.passed, (report.failures, source)
        assert list(module.RawRecord.to_schema().columns) == list(read.columns)

"""The README's examples come from the contract: curl with Content-Type, an example row, a drifted newbatch."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from sklearn.datasets import load_breast_cancer

from cml_mlops.cli import cli
from cml_mlops.contracts.draft import loaded_contract
from cml_mlops.contracts.examples import END, START, example_row, render_examples
from cml_mlops.contracts.runner import validate_frame
from tests.conftest import bake


def block_of(readme: str) -> str:
    start = readme.index(START.split(" (")[0])
    return readme[start : readme.index(END, start) + len(END)]


def curl_body(block: str) -> dict[str, object]:
    line = next(line for line in block.splitlines() if line.lstrip().startswith("-d "))
    body = json.loads(shlex.split(line.strip())[1])
    assert isinstance(body, dict)
    return body


CONTRACT = """
import pandera.pandas as pa
from pandera.typing import Series

TARGET = "quality.label"
SHIFTS = ["night", "day", "late"]


class RawRecord(pa.DataFrameModel):
    sensor_temp: Series[float] = pa.Field(in_range={"min_value": -40.0, "max_value": 85.0}, alias="sensor.temp")
    shift: Series[str] = pa.Field(isin=SHIFTS)
    count: Series[int] = pa.Field(in_range={"min_value": 1, "max_value": 20})
    target: Series[str] = pa.Field(isin=["bad", "good"], alias=TARGET)
"""


def test_examples_come_from_a_non_bank_contract() -> None:
    with loaded_contract(CONTRACT) as module:
        block = render_examples(module.RawRecord, module.TARGET, port=9001)
        row = example_row(module.RawRecord, module.TARGET)
        frame = pd.DataFrame([{**row, "quality.label": "good"}])
        assert validate_frame(frame, module.RawRecord).passed  # the example is a row the contract accepts
    assert '-H "Content-Type: application/json"' in block
    assert "http://127.0.0.1:9001/model" in block
    assert curl_body(block) == {"request": row}
    assert set(row) == {"sensor.temp", "shift", "count"}
    assert "cml-mlops newbatch --shift sensor.temp=2" in block
    assert "age" not in block and "bank" not in block


def test_the_bank_readme_shows_what_the_library_renders(baked_project: Path) -> None:
    readme = (baked_project / "README.md").read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, ["--project-dir", str(baked_project), "contract", "examples"])
    assert result.exit_code == 0, result.output
    assert block_of(readme) == result.output.strip()
    assert "duration" not in curl_body(result.output)["request"]  # a leakage column is no model input


def test_drafting_a_custom_contract_rewrites_the_readme_examples(tmp_path: Path) -> None:
    project = bake(
        tmp_path,
        project_name="Tumour Study",
        dataset_preset="custom",
        dataset_url="https://example.org/cells.zip",
        dataset_member="tables/cells.csv",
        csv_separator=",",
        target_column="diagnosis",
        positive_label="malignant",
    )
    readme = project / "README.md"
    assert "appear here once the contract is drafted" in readme.read_text(encoding="utf-8")
    data = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "diagnosis"})
    data["diagnosis"] = data["diagnosis"].map({0: "malignant", 1: "benign"})
    csv_path = project / "data/raw/tables/cells.csv"
    csv_path.parent.mkdir(parents=True)
    data.to_csv(csv_path, index=False)
    args = ["--project-dir", str(project), "contract", "draft", str(csv_path), "--output"]
    result = CliRunner().invoke(cli, [*args, str(project / "src/tumour_study/contracts.py"), "--force"])
    assert result.exit_code == 0, result.output
    block = block_of(readme.read_text(encoding="utf-8"))
    body = curl_body(block)["request"]
    assert isinstance(body, dict) and "mean radius" in body and "diagnosis" not in body
    assert re.search(r"cml-mlops newbatch --shift 'mean radius=2'", block)
    assert '-H "Content-Type: application/json"' in block
    try:
        rewritten = CliRunner().invoke(cli, ["--project-dir", str(project), "contract", "examples", "--write"])
        assert rewritten.exit_code == 0, rewritten.output
    finally:
        for name in [name for name in sys.modules if name.split(".")[0] == "tumour_study"]:
            del sys.modules[name]
        if str(project / "src") in sys.path:
            sys.path.remove(str(project / "src"))

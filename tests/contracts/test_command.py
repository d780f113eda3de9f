"""`cml-mlops contract draft`, driven through click's test runner."""

from __future__ import annotations

import importlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sklearn.datasets import load_breast_cancer

from cml_mlops.cli_support import CliState
from cml_mlops.contracts.command import contract
from cml_mlops.contracts.csv_reader import read_raw_csv
from cml_mlops.contracts.draft import loaded_contract
from cml_mlops.contracts.runner import validate_frame
from tests.conftest import bake

BANK_OPTIONS = ["--target", "y", "--positive-label", "yes", "--separator", ";"]


@pytest.fixture(scope="module")
def bank_csv(bank_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bank") / "bank.csv"
    with zipfile.ZipFile(bank_zip) as archive:
        path.write_bytes(archive.read("bank.csv"))
    return path


@pytest.fixture
def outside_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no cml-mlops.yaml here or above
    return tmp_path


def test_draft_writes_the_contract_outside_a_project(bank_csv: Path, outside_project: Path) -> None:
    output = outside_project / "contracts.py"
    result = CliRunner().invoke(contract, ["draft", str(bank_csv), *BANK_OPTIONS, "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert f"wrote {output}" in result.output
    with loaded_contract(output.read_text(encoding="utf-8")) as module:
        assert validate_frame(read_raw_csv(bank_csv, separator=";"), module.RawDataset).passed


def test_draft_prints_the_source_without_output(bank_csv: Path, outside_project: Path) -> None:
    result = CliRunner().invoke(contract, ["draft", str(bank_csv), *BANK_OPTIONS])
    assert result.exit_code == 0, result.output
    assert result.output.startswith('"""Data contract drafted by `cml-mlops contract draft` from bank.csv')
    assert 'TARGET = "y"\n' in result.output
    assert list(outside_project.iterdir()) == []


def test_draft_refuses_to_overwrite_without_force(bank_csv: Path, outside_project: Path) -> None:
    output = outside_project / "contracts.py"
    output.write_text("# hand-written rules\n", encoding="utf-8")
    args = ["draft", str(bank_csv), *BANK_OPTIONS, "--output", str(output)]
    refused = CliRunner().invoke(contract, args)
    assert refused.exit_code == 1
    assert "exists; pass --force to overwrite it" in refused.output
    assert output.read_text(encoding="utf-8") == "# hand-written rules\n"
    forced = CliRunner().invoke(contract, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert output.read_text(encoding="utf-8").startswith('"""Data contract drafted')


def test_a_missing_target_column_fails_clearly_and_writes_nothing(bank_csv: Path, outside_project: Path) -> None:
    output = outside_project / "contracts.py"
    args = ["draft", str(bank_csv), "--target", "outcome", "--positive-label", "yes", "--separator", ";"]
    result = CliRunner().invoke(contract, [*args, "--output", str(output)])
    assert result.exit_code == 1
    assert "target column 'outcome' is not in the data; its columns are: age, job" in result.output
    assert "Traceback" not in result.output
    assert not output.exists()


def test_a_wrong_separator_fails_clearly(bank_csv: Path, outside_project: Path) -> None:
    result = CliRunner().invoke(contract, ["draft", str(bank_csv), "--target", "y", "--positive-label", "yes"])
    assert result.exit_code == 1
    assert "wrong separator? header has no ','" in result.output


def test_outside_a_project_target_and_positive_label_are_required(bank_csv: Path, outside_project: Path) -> None:
    result = CliRunner().invoke(contract, ["draft", str(bank_csv), "--separator", ";"])
    assert result.exit_code == 2
    assert "pass --target and --positive-label" in result.output


def test_inside_a_project_the_defaults_come_from_its_config_and_contract(bank_csv: Path, baked_project: Path) -> None:
    # No --target/--positive-label/--separator: y, yes and ';' come from the bank project.
    result = CliRunner().invoke(contract, ["draft", str(bank_csv)], obj=CliState(project_dir=baked_project))
    assert result.exit_code == 0, result.output
    assert 'TARGET = "y"\nPOSITIVE_LABEL = "yes"\n' in result.output


def test_a_custom_project_gets_a_working_contract(tmp_path: Path) -> None:
    """The path the template's custom preset describes: draft into src/<package>/contracts.py, then use it."""
    project = bake(
        tmp_path,
        project_name="Tumour Study",
        dataset_preset="custom",
        dataset_url="https://example.org/cells.zip",
        dataset_member="cells.csv",
        csv_separator=",",
        target_column="diagnosis",
        positive_label="malignant",
    )
    data = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "diagnosis"})
    data["diagnosis"] = data["diagnosis"].map({0: "malignant", 1: "benign"})
    csv_path = project / "data/raw/cells.csv"
    csv_path.parent.mkdir(parents=True)
    data.to_csv(csv_path, index=False)
    output = project / "src/tumour_study/contracts.py"
    runner = CliRunner()
    args = ["draft", str(csv_path), "--output", str(output)]
    refused = runner.invoke(contract, args, obj=CliState(project_dir=project))
    assert refused.exit_code == 1 and "--force" in refused.output  # the placeholder contract is there
    result = runner.invoke(contract, [*args, "--force"], obj=CliState(project_dir=project))
    assert result.exit_code == 0, result.output
    # formatted with the project's own ruff settings: its lint passes right after the draft
    ruff = str(Path(sys.executable).with_name("ruff"))
    for check in (["check", "--no-cache"], ["format", "--no-cache", "--check"]):
        linted = subprocess.run([ruff, *check, str(output)], cwd=project, capture_output=True, text=True, check=False)
        assert linted.returncode == 0, linted.stdout + linted.stderr
    sys.path.insert(0, str(project / "src"))
    try:
        features = importlib.import_module("tumour_study.features")
        contracts = importlib.import_module("tumour_study.contracts")
        assert (contracts.TARGET, contracts.POSITIVE_LABEL) == ("diagnosis", "malignant")
        assert len(features.FEATURES.numeric) == 30 and features.FEATURES.target == "diagnosis"
        assert validate_frame(read_raw_csv(csv_path, separator=","), contracts.RawDataset).passed
    finally:
        sys.path.remove(str(project / "src"))
        for name in [name for name in sys.modules if name.split(".")[0] == "tumour_study"]:
            del sys.modules[name]

"""`import cml_mlops`: the lifecycle steps as typed, documented functions, loaded lazily."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import cml_mlops
from tests.conftest import BANK_SAMPLE_SHA256, bake

VERBS = ("ingest", "load", "validate", "profile", "train", "gate", "deploy", "score", "simulate", "monitor", "report")
HEAVY = ("mlflow", "sklearn", "pandas", "pandera", "pyiceberg", "matplotlib", "numpy")


def test_every_lifecycle_verb_is_a_documented_fully_annotated_function() -> None:
    assert set(VERBS) <= set(cml_mlops.__all__)
    for name in (name for name in cml_mlops.__all__ if name != "__version__"):
        function = getattr(cml_mlops, name)
        assert inspect.isfunction(function), name
        assert function.__doc__ and function.__doc__.strip(), f"{name} has no docstring"
        signature = inspect.signature(function)
        assert signature.return_annotation is not inspect.Signature.empty, f"{name} has no return annotation"
        for parameter in signature.parameters.values():
            assert parameter.annotation is not inspect.Parameter.empty, f"{name}({parameter.name}) is not annotated"
        assert name in dir(cml_mlops)


def test_importing_the_package_imports_no_heavy_library() -> None:
    code = "import sys, cml_mlops; print(','.join(m for m in sys.argv[1:] if m in sys.modules))"
    found = subprocess.run([sys.executable, "-c", code, *HEAVY], capture_output=True, text=True, check=True, timeout=60)
    assert found.stdout.strip() == ""


def test_a_step_stays_the_function_when_its_subpackage_is_imported() -> None:
    import cml_mlops.deploy.base
    import cml_mlops.ingest.command

    assert inspect.isfunction(cml_mlops.deploy) and inspect.isfunction(cml_mlops.ingest)
    assert sys.modules["cml_mlops.deploy.base"].deploy_version is not None
    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        cml_mlops.trian  # noqa: B018 - the attribute access is the test


def test_the_package_is_marked_typed() -> None:
    assert (Path(cml_mlops.__file__).parent / "py.typed").is_file()


def test_the_data_steps_run_through_the_api(tmp_path: Path, bank_zip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = bake(tmp_path, dataset_member="bank.csv", dataset_sha256=BANK_SAMPLE_SHA256)
    monkeypatch.setenv("CML_MLOPS_DATA_URL", bank_zip.as_uri())
    monkeypatch.delenv("CML_MLOPS_PROFILE", raising=False)
    config = cml_mlops.load_config(project)
    assert cml_mlops.ingest(config).csv_path.is_file()
    loaded = cml_mlops.load(config)
    assert loaded.rows == 4521
    assert cml_mlops.validate(config).report.passed


def test_the_template_notebooks_use_only_the_public_api() -> None:
    notebooks = sorted((Path(__file__).parents[1] / "template").glob("*/notebooks/*.ipynb"))
    assert len(notebooks) >= 2
    for path in notebooks:
        code = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
        imports = [line for cell in code for line in cell.source.splitlines() if "import" in line]
        assert imports == ["import cml_mlops"], path.name

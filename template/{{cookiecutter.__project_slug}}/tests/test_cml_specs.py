"""The CML files of the project are valid: the job spec, the AMP spec, and the model entry function."""

from __future__ import annotations

from pathlib import Path

import pytest
from cml_mlops.cml.amp import load_amp_file, runtime_of
from cml_mlops.cml.jobs import load_jobs_file
from cml_mlops.config import load_config

from {{ cookiecutter.package_name }}.cml_model import predict


def test_the_job_spec_is_valid_and_its_scripts_exist(project_root: Path) -> None:
    config = load_config(project_root, environ={})
    spec = load_jobs_file(project_root / "cml" / "jobs.yaml", default_runtime=config.cml.runtime_identifier)
    missing = [script for script in spec.scripts() if not (project_root / script).is_file()]
    assert missing == []


def test_the_amp_spec_is_valid_and_what_it_runs_exists(project_root: Path) -> None:
    spec = load_amp_file(project_root / ".project-metadata.yaml")
    missing = [path for path in spec.referenced_files() if not (project_root / path).is_file()]
    assert missing == []


def test_the_amp_runtime_is_the_configured_runtime(project_root: Path) -> None:
    config = load_config(project_root, environ={})
    expected = runtime_of(config.cml.runtime_identifier)
    if expected is None:
        pytest.skip("cml.runtime_identifier is not a standard ML Runtime: check the AMP's runtimes by hand")
    assert load_amp_file(project_root / ".project-metadata.yaml").runtimes == [expected]


def test_the_model_entry_function_imports_without_cml() -> None:
    # Outside CML it is the plain function (its behaviour is tested in the cml-mlops library).
    assert callable(predict) and predict.__name__ == "predict"

"""`cml-mlops cml run-job` follows job statuses without importing MLflow, scikit-learn or the data libraries."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cml_mlops.cli import cli
from cml_mlops.cml.emulator import CmlEmulator
from tests.cml.conftest import API_KEY, PROJECT
from tests.test_cli_startup import DATA_LIBRARIES, MODEL_LIBRARIES, imported_by


def test_run_job_and_its_status_polling_import_no_heavy_library(baked_project: Path, emulator: CmlEmulator) -> None:
    env = {
        "CML_MLOPS_CML_WORKSPACE_URL": emulator.url,
        "CML_MLOPS_CML_PROJECT_ID": PROJECT,
        "CDSW_APIV2_KEY": API_KEY,
        "CDSW_API_URL": "",
        "CDSW_DOMAIN": "",
        "CDSW_PROJECT_ID": "",
        "CML_MLOPS_PROFILE": "local",
    }
    synced = CliRunner().invoke(cli, ["--project-dir", str(baked_project), "cml", "sync-jobs"], env=env)
    assert synced.exit_code == 0, synced.output
    code, modules = imported_by(
        "--project-dir", str(baked_project), "cml", "run-job", "newbatch", "--poll-interval", "0.01", "--timeout", "60",
        env=env,
    )  # fmt: skip
    assert code == 0
    assert modules & (MODEL_LIBRARIES | DATA_LIBRARIES) == set()

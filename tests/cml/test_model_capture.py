"""The default CML deploy is the project's script model: it answers our contract, records its version, and captures.

Through the emulator's model service, a client that is not `simulate` (httpx) calls the deployed model; the
script model runs in its own process with the deployment's environment and secrets, and every prediction it
answered is in the store: the project's SQLite file, or PostgreSQL from the deployment secret.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from cml_mlops.cml.deployment_env import MODEL_VERSION_ENV, REGISTERED_VERSION_ENV
from cml_mlops.cml.emulator import CmlEmulator
from cml_mlops.monitoring.database import store_url
from cml_mlops.monitoring.schema import predictions
from cml_mlops.serving.answers import parse_answers
from cml_mlops.serving.scoring import load_scorer
from tests.cml.conftest import API_KEY
from tests.cml.deploy_support import CmlProject, deploy, point_at, run
from tests.lake.conftest import postgres_catalog_uri  # noqa: F401 - a fresh PostgreSQL database per test
from tests.simulation.private_postgres import wait_until

pytestmark = pytest.mark.slow  # deploys through the emulator and starts a model process


def call(cml: CmlEmulator, request: Any) -> dict[str, Any]:
    (model,) = cml.state.models.values()
    body = {"accessKey": model["access_key"], "request": request}
    answer = httpx.post(f"{cml.url}/model", json=body, headers={"authorization": f"Bearer {API_KEY}"}, timeout=60)
    assert answer.status_code == 200, answer.text
    payload: dict[str, Any] = answer.json()
    return payload


def captured(url: str) -> dict[str, dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(predictions)).mappings().all()
    except (OperationalError, ProgrammingError):  # not made yet
        return {}
    finally:
        engine.dispose()
    return {row["prediction_id"]: dict(row) for row in rows}


def served_ids(cml: CmlEmulator, project: CmlProject, version: str) -> list[str]:
    record = load_scorer(project.config(), version=version).validator.example_record()
    one = parse_answers(call(cml, record), 1)
    batch = parse_answers(call(cml, {"dataframe_records": [record, record]}), 2)
    split = {"columns": list(record), "data": [list(record.values())] * 3}
    frame = parse_answers(call(cml, {"dataframe_split": split}), 3)
    answers = [*one, *batch, *frame]
    assert {a.model_version for a in answers} == {version} and all(a.probability is not None for a in answers)
    return [str(a.prediction_id) for a in answers]


def test_the_script_model_records_its_version_and_captures_what_it_serves(
    cml: CmlEmulator, cml_project: CmlProject
) -> None:
    before = set(captured(store_url(cml_project.config())))
    assert deploy(cml_project, cml_project.v1).exit_code == 0
    (build,) = cml.state.builds.values()
    assert build["file_path"] == "src/bank_marketing/cml_model.py" and build["function_name"] == "predict"
    assert not build["registered_model_version_id"]  # built from the project's file, tied to the version:
    assert f"version {cml_project.v1} (run " in build["comment"] and build["comment"].endswith("cml_model.py:predict")
    (deployment,) = cml.state.deployments.values()
    environment = json.loads(deployment["environment"])
    assert environment[MODEL_VERSION_ENV] == cml_project.v1 and environment[REGISTERED_VERSION_ENV] == "1"
    ids = served_ids(cml, cml_project, cml_project.v1)
    url = store_url(cml_project.config())
    assert wait_until(lambda: set(ids) <= set(captured(url)), timeout=60)
    rows = captured(url)
    assert {rows[i]["model_version"] for i in ids} == {cml_project.v1} and set(rows) - before - set(ids) <= {
        i for i in rows if rows[i]["scenario"] == "served"
    }  # only the smoke test's prediction besides ours
    status = run(cml_project, "serving-status", "--target", "cml")
    assert status.exit_code == 0 and f"answers as version {cml_project.v1}" in status.output


@pytest.mark.postgres
def test_the_store_comes_from_the_deployment_secret(
    cml: CmlEmulator,
    cml_project: CmlProject,
    postgres_catalog_uri: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CML_MLOPS_MONITORING_DSN", postgres_catalog_uri)  # the deployer's environment
    assert deploy(cml_project, cml_project.v1).exit_code == 0
    (deployment,) = cml.state.deployments.values()
    assert deployment["_secrets"] == {"CML_MLOPS_MONITORING_DSN": postgres_catalog_uri}
    assert "CML_MLOPS_MONITORING_DSN" not in deployment["environment"]  # a secret, never in the environment
    ids = served_ids(cml, cml_project, cml_project.v1)
    assert wait_until(lambda: set(ids) <= set(captured(postgres_catalog_uri)), timeout=60)


def test_a_registry_build_stays_an_option_and_its_labels_are_read(
    cml: CmlEmulator, cml_project: CmlProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, cml, build_from="registry")
    assert deploy(cml_project, cml_project.v2).exit_code == 0
    (build,) = cml.state.builds.values()
    assert build["registered_model_version_id"] and not build["file_path"]
    record = load_scorer(cml_project.config(), version=cml_project.v2).validator.example_record()
    payload = call(cml, {"dataframe_split": {"columns": list(record), "data": [list(record.values())]}})
    (answer,) = parse_answers(payload, 1)
    assert answer.label in ("yes", "no") and answer.probability is None and answer.prediction_id
    status = run(cml_project, "serving-status", "--target", "cml")
    assert status.exit_code == 0 and f"answers as version {cml_project.v2}" in status.output

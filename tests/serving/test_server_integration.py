"""`cml-mlops deploy --target local` end to end: a real background server scoring over loopback HTTP.

One server serves the whole module (starting one takes seconds); the tests only read from it, so they pass
in any order and on any xdist worker (each worker that runs some of them starts its own). Undeploying is
tested in tests/deploy, on a server of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cml_mlops.cli import cli
from cml_mlops.config import ProjectConfig
from cml_mlops.registry import alias_version
from cml_mlops.serving.process import PID_FILE, STATE_FILE, health, read_record, state_dir
from cml_mlops.tracking import CHAMPION, load_model_version
from tests.conftest import BANK_SAMPLE_SHA256, bake
from tests.serving.helpers import (
    ACCESS_KEY,
    client,
    envelope,
    gated_version,
    kill_servers,
    lake_frame,
    project_config,
    run_cli,
    serving_env,
)

pytestmark = pytest.mark.slow
BEARER = {"Authorization": f"Bearer {ACCESS_KEY}"}


@dataclass
class Served:
    project: Path
    config: ProjectConfig
    url: str
    version: str
    pid: int
    rows: list[dict[str, Any]]  # 1,000 lake rows, as JSON gives them back
    frame: pd.DataFrame  # the same rows, typed as in the lake


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, bank_zip: Path) -> Iterator[Served]:
    with pytest.MonkeyPatch.context() as env:
        project = bake(tmp_path_factory.mktemp("served"), dataset_member="bank.csv", dataset_sha256=BANK_SAMPLE_SHA256)
        try:
            env.setenv("CML_MLOPS_DATA_URL", bank_zip.as_uri())
            env.delenv("CML_MLOPS_PROFILE", raising=False)
            for args in (["ingest", "--no-progress"], ["lake", "load"]):
                assert CliRunner().invoke(cli, ["--project-dir", str(project), *args]).exit_code == 0
            port = serving_env(env)
            config = project_config(project)
            version = gated_version(config).version
            result = run_cli(project, "deploy")
            assert result.exit_code == 0, result.output
            record = read_record(config)
            assert record is not None
            frame = lake_frame(config).sample(1000, random_state=3).reset_index(drop=True)
            rows = json.loads(frame.to_json(orient="records"))
            yield Served(project, config, f"http://127.0.0.1:{port}", str(version), record.pid, rows, frame)
        finally:
            run_cli(project, "undeploy")
            kill_servers(project)


def test_deploy_reports_the_served_version(served: Served) -> None:
    assert health(served.url) == {
        "status": "ok", "model_name": served.config.tracking.model_name, "model_version": served.version,
        "live": True, "pid": served.pid, "capture": "ok",
    }  # fmt: skip
    status = run_cli(served.project, "serving-status", "--json")
    assert status.exit_code == 0
    reported = json.loads(status.output)
    assert reported["healthy"] is True and reported["deployment"]["version"] == served.version
    assert reported["deployment"]["endpoint"] == served.url
    alias = alias_version(served.config, CHAMPION)
    assert alias is not None and str(alias.version) == served.version
    folder = state_dir(served.config)
    assert (folder / PID_FILE).read_text().strip() == str(served.pid)
    state = json.loads((folder / STATE_FILE).read_text())
    assert {"version", "pid", "port", "started_at"} <= set(state)
    assert Path(state["log_file"]).is_file() and ACCESS_KEY not in Path(state["log_file"]).read_text()


def test_scores_1000_rows_in_batches_and_one_by_one(served: Served) -> None:
    expected = load_model_version(served.config, version=served.version).predict(served.frame)
    columns = list(served.rows[0])
    split = {"columns": columns, "data": [[row[c] for c in columns] for row in served.rows]}
    with client(base_url=served.url) as http:
        in_envelope = http.post("/model", json=envelope({"dataframe_split": split})).json()["response"]
        invocations = http.post("/invocations", json={"dataframe_records": served.rows}, headers=BEARER).json()
        one_by_one = [http.post("/model", json=envelope(row)).json()["response"] for row in served.rows]
    for predictions in (in_envelope["predictions"], invocations["predictions"], one_by_one):
        assert len(predictions) == 1000
        assert np.allclose([p["probability"] for p in predictions], expected["probability"], rtol=0, atol=1e-12)
        assert [p["label"] for p in predictions] == expected["label"].tolist()
        assert {p["model_version"] for p in predictions} == {served.version}
    ids = [p["prediction_id"] for p in (*in_envelope["predictions"], *invocations["predictions"], *one_by_one)]
    assert len(set(ids)) == 3000


def _with(row: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**row, **changes}


def _without(row: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != field}


# (name, request keyword arguments for POST /model built from a good row, status, field the message names)
BAD_INPUT = [
    ("malformed JSON", lambda row: {"content": b'{"request": {"age": 41,', "headers": BEARER}, 400, None),
    ("missing field", lambda row: {"json": envelope(_without(row, "age"))}, 422, "age"),
    ("extra field", lambda row: {"json": envelope(_with(row, shoe_size=44))}, 422, "shoe_size"),
    ("wrong type", lambda row: {"json": envelope(_with(row, balance="a lot"))}, 422, "balance"),
    ("unknown category", lambda row: {"json": envelope(_with(row, job="astronaut"))}, 422, "job"),
    ("out of range", lambda row: {"json": envelope(_with(row, age=130))}, 422, "age"),
    ("empty batch", lambda row: {"json": envelope({"dataframe_records": []})}, 400, None),
    ("bad row in batch", lambda row: {"json": envelope({"dataframe_records": [row, _with(row, day=32)]})}, 422, "day"),
    ("oversized body", lambda row: {"content": b" " * 10_000_000, "headers": BEARER}, 413, None),
    ("wrong access key", lambda row: {"json": envelope(row, key="not-the-key")}, 401, "accessKey"),
    ("missing access key", lambda row: {"json": envelope(row, key=None)}, 401, "accessKey"),
]


@pytest.mark.parametrize(("case", "build", "status", "field"), BAD_INPUT, ids=[case[0] for case in BAD_INPUT])
def test_bad_input_is_a_4xx_naming_the_field_and_the_server_stays_up(
    served: Served, case: str, build: Any, status: int, field: str | None
) -> None:
    request = build(served.rows[0])
    request.setdefault("headers", {}).setdefault("content-type", "application/json")
    answer = httpx.post(f"{served.url}/model", timeout=60, **request)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is False and body["errors"]
    if field is not None:
        assert body["errors"][0]["field"] == field
        assert repr(field) in body["errors"][0]["message"] or field in body["errors"][0]["message"]
    assert ACCESS_KEY not in answer.text
    after = health(served.url)
    assert after is not None and after["pid"] == served.pid

"""A generated project with its own derived feature and its own model goes through train -> gate -> serve.

The README's worked examples: `never_contacted = pdays == -1` in features.py, an ExtraTrees factory in models.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from cml_mlops.tracking import CHALLENGER, load_model_version
from tests.conftest import BANK_SAMPLE_SHA256, bake
from tests.gates.conftest import TEST_FLOOR, TEST_SEGMENT_FLOOR
from tests.serving.helpers import client, envelope, kill_servers, lake_frame, project_config, run_cli, serving_env
from tests.training.test_train_leakage import use_project_modules

FEATURE = """    return pd.DataFrame({"never_contacted": frame["pdays"] == -1})
"""
CANDIDATES = {
    "extra_trees": {"estimator": "bank_marketing.models:extra_trees", "grid": {"n_estimators": [60]}},
}


def add_user_code(project: Path) -> None:
    """What the README tells a user to do: edit derive() at its TODO, name the factory in cml-mlops.yaml."""
    features = project / "src" / "bank_marketing" / "features.py"
    text, edits = re.subn(r"    return pd\.DataFrame\(index=frame\.index\)\n", FEATURE, features.read_text("utf-8"))
    assert edits == 1
    features.write_text(text, encoding="utf-8")
    path = project / "cml-mlops.yaml"
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    content["training"]["candidates"] = CANDIDATES
    content["gates"]["floors"] = {"roc_auc": TEST_FLOOR}
    content["gates"]["segments"]["floors"] = {"roc_auc": TEST_SEGMENT_FLOOR}
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")


@pytest.mark.slow
def test_a_custom_feature_and_a_custom_model_go_through_train_gate_and_serve(
    tmp_path: Path, bank_zip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = bake(tmp_path, dataset_member="bank.csv", dataset_sha256=BANK_SAMPLE_SHA256)
    add_user_code(project)
    use_project_modules(project, "bank_marketing", monkeypatch)
    monkeypatch.setenv("CML_MLOPS_DATA_URL", bank_zip.as_uri())
    monkeypatch.delenv("CML_MLOPS_PROFILE", raising=False)
    port = serving_env(monkeypatch)
    try:
        for args in (["ingest", "--no-progress"], ["lake", "load"], ["train", "--no-progress"], ["gate"]):
            result = run_cli(project, *args)
            assert result.exit_code == 0, f"{args}: {result.output}"
        config = project_config(project)
        model = load_model_version(config, alias=CHALLENGER)
        steps = model.pipeline.named_steps
        assert list(steps) == ["derive", "columns", "model"]
        assert type(steps["model"]).__name__ == "ExtraTreesClassifier" and steps["model"].n_estimators == 60
        assert steps["derive"].columns_ == ["never_contacted"]
        assert "never_contacted" not in model.features  # clients send raw columns only
        training = json.loads((project / "reports" / "training.json").read_text())
        assert [c["estimator"] for c in training["candidates"]] == ["bank_marketing.models:extra_trees"]

        result = run_cli(project, "deploy")
        assert result.exit_code == 0, result.output
        frame = lake_frame(config).sample(50, random_state=5).reset_index(drop=True)
        rows = json.loads(frame[model.features].to_json(orient="records"))
        with client(base_url=f"http://127.0.0.1:{port}") as http:
            answers = [http.post("/model", json=envelope(row)).json()["response"] for row in rows]
        assert {answer["model_version"] for answer in answers} == {model.version}
        served = [answer["probability"] for answer in answers]
        assert np.allclose(served, model.predict_proba(frame), rtol=0, atol=1e-12)
    finally:
        run_cli(project, "undeploy")
        kill_servers(project)

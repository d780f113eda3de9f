"""`predict(args)` of a baked project's cml_model.py: real predictions of a registered version, like POST /model."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest

from cml_mlops.cml.model_function import MODEL_VERSION_ENV, ModelFunction, ModelFunctionError
from cml_mlops.config import load_config
from cml_mlops.features import FeatureSpec
from cml_mlops.registry import remove_alias, set_alias
from cml_mlops.serving.validation import InvalidRequest
from cml_mlops.tracking import CHALLENGER, CHAMPION, load_model_version
from tests.conftest import bake
from tests.support.models import register_test_model

pytestmark = pytest.mark.slow  # registers two MLflow model versions (~10 s)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, bank_frame: pd.DataFrame, bank_spec: FeatureSpec) -> Path:
    """A baked project with versions 1 and 2 of its model registered (no aliases)."""
    root = bake(tmp_path_factory.mktemp("model-function"))
    config = load_config(root, "local", environ={})
    for seed in (0, 1):
        register_test_model(config, bank_frame, bank_spec, seed=seed)
    return root


@pytest.fixture
def aliases(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Set aliases for one test ({alias: version}); removed afterwards. Profile local, no version variable."""
    monkeypatch.delenv("CML_MLOPS_PROFILE", raising=False)
    monkeypatch.delenv(MODEL_VERSION_ENV, raising=False)
    config = load_config(project, "local", environ={})
    wanted: dict[str, str] = {}
    yield wanted
    for alias in wanted:
        remove_alias(config, alias)


def point(project: Path, aliases: dict[str, str], **chosen: str) -> None:
    config = load_config(project, "local", environ={})
    for alias, version in chosen.items():
        set_alias(config, version, alias)
        aliases[alias] = version


def cml_model_module(project: Path) -> ModuleType:
    """The baked src/<package>/cml_model.py, imported from its file under a name of its own."""
    path = project / "src" / "bank_marketing" / "cml_model.py"
    spec = importlib.util.spec_from_file_location(f"cml_model_{id(project)}_{len(sys.modules)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record_of(frame: pd.DataFrame, row: int, spec: FeatureSpec) -> dict[str, Any]:
    """One lake row as a client sends it: plain JSON values of the model's input columns."""
    return json.loads(frame[list(spec.inputs())].iloc[[row]].to_json(orient="records"))[0]


def test_predict_scores_a_contract_record_with_the_champion(
    project: Path, aliases: dict[str, str], bank_frame: pd.DataFrame, bank_spec: FeatureSpec
) -> None:
    point(project, aliases, champion="1", challenger="2")
    predict = cml_model_module(project).predict
    record = record_of(bank_frame, 7, bank_spec)
    answer = predict(record)
    assert set(answer) == {"prediction_id", "probability", "label", "model_version"}
    assert answer["model_version"] == "1"
    loaded = load_model_version(load_config(project, "local", environ={}), version="1")
    expected = float(loaded.predict_proba(bank_frame.iloc[[7]])[0])
    assert answer["probability"] == pytest.approx(expected, abs=1e-12)
    assert answer["label"] == (loaded.positive_label if expected >= loaded.threshold else loaded.negative_label)
    assert json.loads(json.dumps(answer)) == answer


def test_predict_scores_batches_like_the_model_server(
    project: Path, aliases: dict[str, str], bank_frame: pd.DataFrame, bank_spec: FeatureSpec
) -> None:
    point(project, aliases, champion="1")
    predict = cml_model_module(project).predict
    records = [record_of(bank_frame, row, bank_spec) for row in (0, 1, 2)]
    by_records = predict({"dataframe_records": records})
    columns = list(records[0])
    split = {"columns": columns, "data": [[r[c] for c in columns] for r in records]}
    by_split = predict({"dataframe_split": split})
    assert by_records["model_version"] == by_split["model_version"] == "1"
    assert [p["probability"] for p in by_records["predictions"]] == [p["probability"] for p in by_split["predictions"]]
    single = [predict(r)["probability"] for r in records]
    assert [p["probability"] for p in by_records["predictions"]] == pytest.approx(single, abs=1e-12)


def test_bad_input_is_refused_naming_the_field(
    project: Path, aliases: dict[str, str], bank_frame: pd.DataFrame, bank_spec: FeatureSpec
) -> None:
    point(project, aliases, champion="1")
    predict = cml_model_module(project).predict
    record = {**record_of(bank_frame, 0, bank_spec), "age": "old"}
    with pytest.raises(InvalidRequest, match="age"):
        predict(record)
    with pytest.raises(InvalidRequest, match="JSON object"):
        predict(["not", "a", "record"])


def test_the_version_is_the_variable_then_champion_then_challenger(
    project: Path, aliases: dict[str, str], monkeypatch: pytest.MonkeyPatch, bank_frame: pd.DataFrame,
    bank_spec: FeatureSpec,
) -> None:  # fmt: skip
    record = record_of(bank_frame, 0, bank_spec)
    point(project, aliases, challenger="2")
    assert ModelFunction(project, profile="local")(record)["model_version"] == "2"  # first deployment
    point(project, aliases, champion="1")
    assert ModelFunction(project, profile="local")(record)["model_version"] == "1"
    monkeypatch.setenv(MODEL_VERSION_ENV, "2")
    assert ModelFunction(project, profile="local")(record)["model_version"] == "2"


def test_no_version_to_serve_is_a_clear_error(
    project: Path, aliases: dict[str, str], bank_frame: pd.DataFrame, bank_spec: FeatureSpec
) -> None:
    with pytest.raises(ModelFunctionError, match=f"no {CHAMPION} or {CHALLENGER} version.*{MODEL_VERSION_ENV}"):
        ModelFunction(project, profile="local")(record_of(bank_frame, 0, bank_spec))


def test_inside_cml_predict_is_registered_with_the_cml_model_decorator(
    project: Path, aliases: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `cml.models_v1` exists only inside CML workspaces: this stand-in records what the decorator is given.
    package = tmp_path / "cml"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "models_v1.py").write_text(
        "registered = []\n\ndef cml_model(function):\n    registered.append(function)\n    return function\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        module = cml_model_module(project)
        registered = importlib.import_module("cml.models_v1").registered
    finally:
        for name in ("cml.models_v1", "cml"):
            sys.modules.pop(name, None)
    assert registered == [module.predict]

"""The project's own model factories and derived features, checked before any run starts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sklearn.preprocessing import FunctionTransformer

from cml_mlops.config import CandidateSection
from cml_mlops.derived import DerivedFeatures
from cml_mlops.errors import ConfigError
from cml_mlops.training.candidates import CandidateRun, build_pipeline

MODELS = """
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.svm import LinearSVC

def extra_trees():
    return ExtraTreesClassifier(n_estimators=5)

def no_probabilities():
    return LinearSVC()

NOT_CALLABLE = 3
"""


@pytest.fixture
def models_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    package = tmp_path / "user_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(MODELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "user_pkg.models"


def pipeline(reference: str, **params: object) -> object:
    return build_pipeline(CandidateRun("mine", reference, dict(params)), numeric=("x",), categorical=("c",), seed=3)


def test_a_factory_is_built_with_the_seed_and_its_grid(models_module: str) -> None:
    built = pipeline(f"{models_module}:extra_trees", max_depth=4)
    model = built.named_steps["model"]  # type: ignore[attr-defined]
    assert (type(model).__name__, model.random_state, model.max_depth) == ("ExtraTreesClassifier", 3, 4)


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ("missing", "user_pkg.models has no function missing"),
        ("NOT_CALLABLE", "user_pkg.models has no function NOT_CALLABLE"),
        ("no_probabilities", "returned LinearSVC, not a scikit-learn classifier with predict_proba"),
    ],
)
def test_a_bad_factory_is_a_one_line_config_error(models_module: str, attribute: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        pipeline(f"{models_module}:{attribute}")
    assert "training.candidates.mine.estimator" in str(raised.value) and "\n" not in str(raised.value)


def test_a_module_that_does_not_import_is_named() -> None:
    with pytest.raises(ConfigError, match=r"cannot import no_such_pkg\.models"):
        pipeline("no_such_pkg.models:extra_trees")


@pytest.mark.parametrize("reference", ["extra_trees", "pkg.models:", ":f", "pkg models:f", "1pkg:f"])
def test_the_config_accepts_only_built_in_names_or_module_function(reference: str) -> None:
    with pytest.raises(ValidationError):
        CandidateSection(estimator=reference)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-1, 5), min_size=1, max_size=30))
def test_derived_features_from_a_function_or_a_transformer_append_new_columns(pdays: list[int]) -> None:
    frame = pd.DataFrame({"pdays": pdays, "job": ["a"] * len(pdays)}, index=np.arange(len(pdays)) + 10)
    as_function = DerivedFeatures(lambda f: pd.DataFrame({"never": f["pdays"] == -1})).fit(frame)
    transformer = FunctionTransformer(lambda f: pd.DataFrame({"never": f["pdays"] == -1}))
    as_transformer = DerivedFeatures(transformer).fit(frame)
    for step in (as_function, as_transformer):
        out = step.transform(frame)
        assert list(out.columns) == ["pdays", "job", "never"] and step.columns_ == ["never"]
        assert out.index.equals(frame.index)
        assert out["never"].tolist() == [int(value == -1) for value in pdays]


def test_a_derived_column_that_shadows_an_input_is_refused() -> None:
    frame = pd.DataFrame({"pdays": [1, -1]})
    with pytest.raises(ConfigError, match="already inputs: pdays"):
        DerivedFeatures(lambda f: f[["pdays"]]).fit(frame)

"""Candidate models: the configured estimators and grids expanded into runs, each a scikit-learn Pipeline.

Every pipeline takes the raw typed input columns (as read from the lake) and does its own preprocessing, so the
logged model scores the rows a client sends without any other code.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from cml_mlops.config import CandidateSection
from cml_mlops.derived import Derive, DerivedFeatures
from cml_mlops.errors import ConfigError

# HistGradientBoosting bins a categorical column into at most 255 codes; rarer categories share one code.
HGB_MAX_CATEGORIES = 255
# Types in these pipelines that skops (MLflow's safe model format) does not trust by default: reviewed, our own
# fitted scikit-learn objects. MLflow writes the list into the model, and loading refuses any type not on it.
SKOPS_TRUSTED_TYPES = (
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
    "functools.partial",
)


@dataclass(frozen=True)
class CandidateRun:
    """One combination of one candidate's grid: what one MLflow run trains."""

    name: str  # the key under training.candidates
    estimator: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def run_name(self) -> str:
        settings = ",".join(f"{key}={value}" for key, value in sorted(self.params.items()))
        return f"{self.name}[{settings}]" if settings else self.name


def expand_candidates(candidates: Mapping[str, CandidateSection]) -> list[CandidateRun]:
    """Every grid combination of every candidate, in config order (grid keys sorted, so runs are stable)."""
    runs: list[CandidateRun] = []
    for name, candidate in candidates.items():
        keys = sorted(candidate.grid)
        empty = [key for key in keys if not candidate.grid[key]]
        if empty:
            raise ConfigError(f"training.candidates.{name}.grid: {', '.join(empty)} lists no values; give at least one")
        for values in itertools.product(*(candidate.grid[key] for key in keys)):
            runs.append(CandidateRun(name, candidate.estimator, dict(zip(keys, values, strict=True))))
    return runs


def build_pipeline(
    candidate: CandidateRun,
    *,
    numeric: tuple[str, ...],
    categorical: tuple[str, ...],
    seed: int,
    derive: Derive = None,
) -> Pipeline:
    """The unfitted Pipeline of a candidate run; ConfigError when its grid names or sets a parameter wrongly.

    `derive` (the project's derived features) becomes the first step; `numeric` and `categorical` then include
    the derived columns.
    """
    columns, model = builder_of(candidate)(list(numeric), list(categorical), seed)
    allowed = model.get_params(deep=False)
    unknown = sorted(set(candidate.params) - set(allowed))
    if unknown:
        raise ConfigError(
            f"training.candidates.{candidate.name}.grid: {type(model).__name__} has no parameter "
            f"{', '.join(unknown)}; it has {', '.join(sorted(allowed))}"
        )
    model.set_params(**candidate.params)
    try:
        # Check the values now rather than at fit, so that a bad grid stops training before any run starts.
        if hasattr(model, "_validate_params"):  # scikit-learn's own estimators; a project's may lack it
            model._validate_params()
    except ValueError as exc:
        raise ConfigError(f"training.candidates.{candidate.name}.grid: {exc}") from None
    steps: list[tuple[str, Any]] = [("columns", columns), ("model", model)]
    if derive is not None:
        steps.insert(0, ("derive", DerivedFeatures(derive)))
    return Pipeline(steps)


def builder_of(candidate: CandidateRun) -> Builder:
    """A built-in builder by name, or the project's factory `package.module:function` with standard preprocessing."""
    if ":" in candidate.estimator:
        factory = project_factory(candidate.name, candidate.estimator)
        return lambda numeric, categorical, seed: _user_model(factory, numeric, categorical, seed)
    try:
        return BUILDERS[candidate.estimator]
    except KeyError:
        raise ConfigError(
            f"training.candidates.{candidate.name}: unknown estimator {candidate.estimator!r}; "
            f"use one of {', '.join(BUILDERS)} or a factory 'package.models:function'"
        ) from None


def project_factory(name: str, reference: str) -> Callable[[], Any]:
    """The factory `module:function` names, checked: importable, callable, returning a classifier with predict_proba.

    The project's `src/` is on sys.path once its features module was loaded (training loads it first).
    """
    where = f"training.candidates.{name}.estimator {reference!r}"
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"{where}: write it as 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"{where}: cannot import {module_name} ({exc})") from None
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ConfigError(f"{where}: {module_name} has no function {attribute}")
    model = factory()
    if not (hasattr(model, "fit") and hasattr(model, "predict_proba") and hasattr(model, "get_params")):
        raise ConfigError(
            f"{where}: {attribute}() returned {type(model).__name__}, not a scikit-learn classifier with predict_proba"
        )
    return factory


def _user_model(
    factory: Callable[[], Any], numeric: list[str], categorical: list[str], seed: int
) -> tuple[ColumnTransformer, Any]:
    # The project's model gets the forest's preprocessing (median-imputed numbers, one-hot categories) and the seed.
    columns = ColumnTransformer(
        [("numeric", SimpleImputer(strategy="median"), numeric), ("categorical", _one_hot(), categorical)]
    )
    model = factory()
    if "random_state" in model.get_params(deep=False) and model.get_params(deep=False)["random_state"] is None:
        model.set_params(random_state=seed)
    return columns, model


def _one_hot() -> Pipeline:
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            ("encode", OneHotEncoder(handle_unknown="ignore")),
        ]
    )


def _logistic_regression(numeric: list[str], categorical: list[str], seed: int) -> tuple[ColumnTransformer, Any]:
    # A linear model needs imputed, scaled numbers: coefficients and the penalty depend on the scale.
    numbers = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    columns = ColumnTransformer([("numeric", numbers, numeric), ("categorical", _one_hot(), categorical)])
    return columns, LogisticRegression(max_iter=2000, random_state=seed)


def _random_forest(numeric: list[str], categorical: list[str], seed: int) -> tuple[ColumnTransformer, Any]:
    # Trees split on order only: no scaling.
    numbers = SimpleImputer(strategy="median")
    columns = ColumnTransformer([("numeric", numbers, numeric), ("categorical", _one_hot(), categorical)])
    return columns, RandomForestClassifier(random_state=seed, n_jobs=-1)


def _hist_gradient_boosting(numeric: list[str], categorical: list[str], seed: int) -> tuple[ColumnTransformer, Any]:
    # Native categorical splits on ordinal codes; unknown and missing values become NaN, which HGB handles.
    codes = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
        max_categories=HGB_MAX_CATEGORIES,
    )
    columns = ColumnTransformer([("numeric", "passthrough", numeric), ("categorical", codes, categorical)])
    # The transformer puts the numeric columns first, then the categorical ones.
    categorical_features = list(range(len(numeric), len(numeric) + len(categorical))) or None
    return columns, HistGradientBoostingClassifier(categorical_features=categorical_features, random_state=seed)


# (numeric columns, categorical columns, seed) -> (column preprocessing, unfitted estimator)
Builder = Callable[[list[str], list[str], int], tuple[ColumnTransformer, Any]]
BUILDERS: dict[str, Builder] = {
    "logistic_regression": _logistic_regression,
    "random_forest": _random_forest,
    "hist_gradient_boosting": _hist_gradient_boosting,
}

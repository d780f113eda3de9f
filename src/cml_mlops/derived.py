"""Derived features: the project's own columns, computed inside the logged pipeline from the raw input columns.

`DerivedFeatures` is the first step of a pipeline whose project defines `derive=` in its FeatureSpec: the model
takes the raw columns (serving, batch scoring, monitoring and the contract see the same inputs) and appends the
derived ones. `derive` is a function (raw frame -> frame of new columns) or a scikit-learn transformer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone

from cml_mlops.errors import ConfigError

Derive = Callable[[pd.DataFrame], pd.DataFrame] | Any  # a function, or a scikit-learn transformer


class DerivedFeatures(TransformerMixin, BaseEstimator):
    """The raw input frame with the derived columns appended (booleans as 0/1)."""

    def __init__(self, derive: Derive = None) -> None:
        self.derive = derive

    def fit(self, X: pd.DataFrame, y: Any = None) -> DerivedFeatures:
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        if hasattr(self.derive, "transform"):
            self.transformer_ = clone(self.derive).fit(X, y)
        self.columns_ = list(self.transform(X.head(1)).columns[X.shape[1] :])
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        new = derived_columns(self.derive, getattr(self, "transformer_", None), X)
        return pd.concat([X, new], axis=1)


def derived_columns(derive: Derive, fitted: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """The new columns `derive` computes for `frame`, on its index; ConfigError when they are not a frame of new
    columns with one row per input row."""
    if fitted is not None:
        new = fitted.transform(frame)
        if not isinstance(new, pd.DataFrame):
            names = getattr(fitted, "get_feature_names_out", lambda: None)()
            new = pd.DataFrame(np.asarray(new), columns=names)
    elif callable(derive):
        new = derive(frame)
    else:
        raise ConfigError(f"derive= must be a function or a scikit-learn transformer, found {type(derive).__name__}")
    if isinstance(new, pd.Series):
        new = new.to_frame()
    if not isinstance(new, pd.DataFrame) or len(new) != len(frame):
        raise ConfigError(
            f"the derived features must be a DataFrame with one row per input row ({len(frame)}), "
            f"found {type(new).__name__} of length {len(new) if hasattr(new, '__len__') else '?'}"
        )
    clashes = [str(name) for name in new.columns if name in frame.columns]
    if clashes:
        raise ConfigError(f"derived features must be new columns; already inputs: {', '.join(clashes)}")
    new = new.set_axis(frame.index)
    booleans = [name for name in new.columns if pd.api.types.is_bool_dtype(new[name].dtype)]
    return new.astype(dict.fromkeys(booleans, "int8")) if booleans else new


def split_kinds(frame: pd.DataFrame) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(numeric, categorical) column names of a frame of derived columns."""
    numeric = tuple(str(name) for name in frame.columns if pd.api.types.is_numeric_dtype(frame[name].dtype))
    return numeric, tuple(str(name) for name in frame.columns if str(name) not in numeric)

"""Which contract columns feed a model: derived from the contract so that the two never drift apart."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pandera.api.dataframe.model import DataFrameModel


@dataclass(frozen=True)
class FeatureSpec:
    """The target, the numeric and categorical input columns of a use case, and its derived features.

    `derive`: None, a function (raw input frame -> frame of new columns) or a scikit-learn transformer; it runs
    as the first step of every trained pipeline (see cml_mlops.derived), so the model still takes raw columns.
    """

    target: str
    positive_label: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    leakage: tuple[str, ...] = ()
    derive: Any = None

    @classmethod
    def from_contract(
        cls,
        contract: type[DataFrameModel],
        *,
        target: str,
        positive_label: str,
        leakage: Iterable[str] = (),
        exclude: Iterable[str] = (),
        derive: Any = None,
    ) -> FeatureSpec:
        """Numeric columns are the contract's int and float columns; every other column is categorical."""
        columns = contract.to_schema().columns
        leakage, exclude = tuple(leakage), set(exclude)
        unknown = [name for name in (target, *leakage, *exclude) if name not in columns]
        if unknown:
            raise ValueError(f"not columns of {contract.__name__}: {', '.join(unknown)}")
        numeric: list[str] = []
        categorical: list[str] = []
        for name, column in columns.items():
            if name == target or name in exclude:
                continue
            dtype = pd.api.types.pandas_dtype(str(column.dtype))
            is_number = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            (numeric if is_number else categorical).append(name)
        return cls(target, positive_label, tuple(numeric), tuple(categorical), leakage, derive)

    def inputs(self, *, use_leakage_columns: bool = False) -> tuple[str, ...]:
        """Model input columns in contract order; leakage columns only when asked for (benchmarking)."""
        kept = (*self.numeric, *self.categorical)
        if use_leakage_columns:
            return kept
        return tuple(name for name in kept if name not in self.leakage)

    def numeric_inputs(self, *, use_leakage_columns: bool = False) -> tuple[str, ...]:
        inputs = self.inputs(use_leakage_columns=use_leakage_columns)
        return tuple(name for name in self.numeric if name in inputs)

    def categorical_inputs(self, *, use_leakage_columns: bool = False) -> tuple[str, ...]:
        inputs = self.inputs(use_leakage_columns=use_leakage_columns)
        return tuple(name for name in self.categorical if name in inputs)

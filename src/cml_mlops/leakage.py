"""The leakage screen: a column that alone ranks the outcome too well is probably only known after the outcome.

One measure for every step that looks for leakage (train refuses, the gate fails, `contract draft` proposes
`LEAKAGE`, EDA warns): the univariate ROC AUC of a column, direction-free (max(auc, 1 - auc)). A numeric column
scores with its own values (missing values left out); any other column with the target rate of its category
(missing is a category of its own), fitted on the same rows: optimistic for many small categories, which a leakage
screen should flag anyway (an id-like column predicts its own rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cml_mlops.config import FeaturesSection
from cml_mlops.errors import CmlMlopsError

if TYPE_CHECKING:
    from cml_mlops.gates.checks import CheckResult

GATE_KIND = "leakage"

MISSING = "<missing>"


class LeakageError(CmlMlopsError):
    """An input column that is not declared as leakage predicts the target alone above the configured ceiling."""


@dataclass(frozen=True)
class LeakageSuspect:
    """A column whose univariate ROC AUC exceeds the ceiling."""

    column: str
    roc_auc: float

    def describe(self) -> str:
        return f"{self.column!r} (univariate ROC AUC {self.roc_auc:.3f})"


def direction_free_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC of `score` for the 0/1 `y`, as max(auc, 1 - auc); None with one class (or no finite score)."""
    from sklearn.metrics import roc_auc_score  # heavy: imported when a screen runs, not with the module

    y = np.asarray(y, dtype=int)
    score = np.asarray(score, dtype=float)
    scored = np.isfinite(score)  # a feature missing on some rows says nothing about them
    y, score = y[scored], score[scored]
    if len(y) == 0 or y.all() or not y.any():
        return None
    auc = float(roc_auc_score(y, score))
    return max(auc, 1.0 - auc)


def target_rate_encoding(values: pd.Series, y: np.ndarray) -> np.ndarray:
    """Each row's category replaced by the positive rate of that category (missing is one category)."""
    labels = values.astype("string").fillna(MISSING).to_numpy(dtype=object)
    rates = pd.Series(np.asarray(y, dtype=float)).groupby(labels).mean()
    return np.asarray(pd.Series(labels).map(rates), dtype=float)


def column_auc(values: pd.Series, y: np.ndarray) -> float | None:
    """The screen's measure for one column (see the module docstring)."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return direction_free_auc(y, values.to_numpy(dtype=float, na_value=np.nan))
    return direction_free_auc(y, target_rate_encoding(values, y))


def outcomes(frame: pd.DataFrame, target: str, positive_label: str) -> np.ndarray:
    """The 0/1 outcome of each row: 1 where the target is the positive label."""
    if target not in frame.columns:
        raise ValueError(f"no target column {target!r} among {', '.join(map(str, frame.columns))}")
    return (frame[target].astype("string") == positive_label).fillna(False).to_numpy(dtype=int)


def screen(frame: pd.DataFrame, columns: Iterable[str], *, target: str, positive_label: str) -> dict[str, float | None]:
    """The univariate ROC AUC of each of `columns` in `frame` (None when undefined: one class)."""
    y = outcomes(frame, target, positive_label)
    return {column: column_auc(frame[column], y) for column in columns}


def find_suspects(
    frame: pd.DataFrame, columns: Iterable[str], *, target: str, positive_label: str, ceiling: float
) -> list[LeakageSuspect]:
    """The columns whose univariate ROC AUC is above `ceiling`, strongest first."""
    if not 0.5 <= ceiling <= 1.0:
        raise ValueError(f"the leakage ceiling must be within [0.5, 1], got {ceiling}")
    scores = screen(frame, columns, target=target, positive_label=positive_label)
    found = [LeakageSuspect(name, auc) for name, auc in scores.items() if auc is not None and auc > ceiling]
    return sorted(found, key=lambda suspect: (-suspect.roc_auc, suspect.column))


def undeclared_suspects(
    frame: pd.DataFrame,
    inputs: Sequence[str],
    *,
    target: str,
    positive_label: str,
    ceiling: float,
    acknowledged: Iterable[str] = (),
) -> list[LeakageSuspect]:
    """Suspects among the model's `inputs`, except those acknowledged as legitimately strong."""
    known = set(acknowledged)
    columns = [name for name in inputs if name not in known]
    return find_suspects(frame, columns, target=target, positive_label=positive_label, ceiling=ceiling)


def refusal(suspects: Sequence[LeakageSuspect], ceiling: float, *, where: str) -> str:
    """One line: which columns, their AUC, the ceiling, and the two ways out."""
    names = ", ".join(suspect.describe() for suspect in suspects)
    return (
        f"{where}: input column {names} predicts the target alone above the leakage ceiling {ceiling:.2f}; "
        "if it is only known after the outcome, add it to LEAKAGE in the project's contracts.py; if it is a "
        "legitimately strong feature, list it under features.acknowledged_strong in cml-mlops.yaml"
    )


def check_inputs(
    frame: pd.DataFrame,
    inputs: Sequence[str],
    *,
    target: str,
    positive_label: str,
    ceiling: float,
    acknowledged: Iterable[str] = (),
    where: str = "training refused",
) -> None:
    """Raise LeakageError naming every undeclared input column above the ceiling."""
    suspects = undeclared_suspects(
        frame, inputs, target=target, positive_label=positive_label, ceiling=ceiling, acknowledged=acknowledged
    )
    if suspects:
        raise LeakageError(refusal(suspects, ceiling, where=where))


def gate_check(
    model: Any, test: pd.DataFrame, *, target: str, declared: Iterable[str], settings: FeaturesSection
) -> CheckResult:
    """The gate's leakage check on the test split: the model's inputs (derived ones included) against the ceiling.

    `model` is a LoadedModel; declared LEAKAGE columns and features.acknowledged_strong are not screened.
    """
    from cml_mlops.gates.checks import CheckResult

    inputs = test[model.features]
    steps = getattr(model.pipeline, "named_steps", {})
    rows = steps["derive"].transform(inputs) if "derive" in steps else inputs
    rows = pd.concat([rows, test[[target]]], axis=1)
    columns = [str(name) for name in rows.columns if name != target]
    suspects = undeclared_suspects(
        rows,
        columns,
        target=target,
        positive_label=model.positive_label,
        ceiling=settings.leakage_ceiling,
        acknowledged=(*settings.acknowledged_strong, *declared),
    )
    strongest = max((s.roc_auc for s in suspects), default=None)
    return CheckResult(
        GATE_KIND,
        "no undeclared leakage",
        "failed" if suspects else "passed",
        metric="univariate_roc_auc",
        value=strongest,
        operator="<=",
        threshold=settings.leakage_ceiling,
        detail=refusal(suspects, settings.leakage_ceiling, where="gate") if suspects else f"{len(columns)} inputs",
        data={"suspects": {s.column: s.roc_auc for s in suspects}},
    )

"""Train / validation / test splits: stratified at random (default) or in table order (time-ordered data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from cml_mlops.errors import CmlMlopsError

SplitStrategy = Literal["stratified", "time"]
PARTS = ("train", "validation", "test")


class SplitError(CmlMlopsError):
    """The data cannot be split as configured (too few rows, or a split without one of the classes)."""


@dataclass(frozen=True)
class Splits:
    """The three parts of one table snapshot; each keeps the table's row labels (its position in the table)."""

    strategy: SplitStrategy
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame

    def parts(self) -> dict[str, pd.DataFrame]:
        return {"train": self.train, "validation": self.validation, "test": self.test}

    def summary(self, target: str, positive_label: str) -> dict[str, Any]:
        """Sizes and positive rates per part: what the run records about the split it used."""
        summary: dict[str, Any] = {"strategy": self.strategy}
        for name, part in self.parts().items():
            summary[f"{name}_rows"] = len(part)
            summary[f"{name}_positive_rate"] = round(float((part[target] == positive_label).mean()), 6)
        return summary


def split_frame(
    frame: pd.DataFrame,
    *,
    target: str,
    positive_label: str,
    strategy: SplitStrategy,
    validation: float,
    test: float,
    seed: int,
) -> Splits:
    """Split `frame` into train, validation and test parts of the given shares.

    `stratified`: a seeded random split keeping the positive rate in every part. `time`: the rows are in time
    order, so the first rows train, the next validate and the last test (no future rows leak into training).
    """
    if not (0 < validation < 1 and 0 < test < 1 and validation + test < 1):
        raise SplitError(f"validation ({validation}) and test ({test}) shares must be positive and sum to below 1")
    sizes = _sizes(len(frame), validation, test)
    positive = (frame[target] == positive_label).to_numpy()
    if strategy == "time":
        cut_validation, cut_test = sizes["train"], sizes["train"] + sizes["validation"]
        splits = Splits(
            strategy, frame.iloc[:cut_validation], frame.iloc[cut_validation:cut_test], frame.iloc[cut_test:]
        )
    elif strategy == "stratified":
        _check_stratifiable(positive, sizes)
        rest, test_part = train_test_split(
            frame, test_size=sizes["test"], random_state=seed, stratify=positive, shuffle=True
        )
        rest_positive = (rest[target] == positive_label).to_numpy()
        train_part, validation_part = train_test_split(
            rest, test_size=sizes["validation"], random_state=seed, stratify=rest_positive, shuffle=True
        )
        splits = Splits(strategy, train_part, validation_part, test_part)
    else:
        raise SplitError(f"unknown split strategy {strategy!r}: use 'stratified' or 'time'")
    _check_both_classes(splits, target, positive_label)
    return splits


def _sizes(rows: int, validation: float, test: float) -> dict[str, int]:
    n_test = int(np.ceil(rows * test))
    n_validation = int(np.ceil(rows * validation))
    n_train = rows - n_test - n_validation
    if min(n_train, n_validation, n_test) < 2:
        raise SplitError(
            f"{rows} rows are too few to split into train, validation ({validation:.0%}) and test ({test:.0%})"
        )
    return {"train": n_train, "validation": n_validation, "test": n_test}


def _check_stratifiable(positive: np.ndarray, sizes: dict[str, int]) -> None:
    counts = {"positive": int(positive.sum()), "negative": int((~positive).sum())}
    scarce = {name: count for name, count in counts.items() if count < len(sizes)}
    if scarce:
        listed = ", ".join(f"{count} {name}" for name, count in scarce.items())
        raise SplitError(f"cannot stratify: only {listed} rows; every split needs both classes")


def _check_both_classes(splits: Splits, target: str, positive_label: str) -> None:
    for name, part in splits.parts().items():
        positives = int((part[target] == positive_label).sum())
        if positives in (0, len(part)):
            only = "negatives" if positives == 0 else "positives"
            raise SplitError(
                f"the {splits.strategy} split leaves only {only} in {name} ({len(part)} rows): "
                "metrics and thresholds need both classes; use more data, larger shares or the stratified strategy"
            )

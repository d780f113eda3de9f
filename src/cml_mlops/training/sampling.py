"""Training on a table larger than `training.max_rows`: a stratified sample, the same on every engine's input.

Each class keeps its share of the rows (so the positive rate the gate and the threshold see is the table's),
the seed makes it reproducible, and the sample is recorded on the run (tags), so nobody mistakes it for the
whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SAMPLE_TAG_PREFIX = "cml_mlops.sample."
OVERDRAW = 1.1


@dataclass(frozen=True)
class SampleRecord:
    """How the training rows were drawn from the snapshot."""

    source_rows: int
    rows: int
    max_rows: int
    seed: int
    stratified_by: str | None

    def tags(self) -> dict[str, str]:
        return {
            f"{SAMPLE_TAG_PREFIX}source_rows": str(self.source_rows),
            f"{SAMPLE_TAG_PREFIX}rows": str(self.rows),
            f"{SAMPLE_TAG_PREFIX}max_rows": str(self.max_rows),
            f"{SAMPLE_TAG_PREFIX}seed": str(self.seed),
            f"{SAMPLE_TAG_PREFIX}stratified_by": self.stratified_by or "",
        }


def class_quotas(counts: dict[object, int], max_rows: int) -> dict[object, int]:
    """Rows to keep per class: proportional to the class's count, at most `max_rows` in total, at least 1 each."""
    total = sum(counts.values())
    quotas = {label: max(1, int(count * max_rows // total)) for label, count in counts.items()}
    return {label: min(quota, counts[label]) for label, quota in quotas.items()}


def stratified_sample(frame: pd.DataFrame, target: str | None, max_rows: int, seed: int) -> pd.DataFrame:
    """At most `max_rows` rows of `frame`, each class in proportion, in the frame's own row order."""
    if len(frame) <= max_rows:
        return frame
    if target is None or target not in frame.columns:
        return frame.sample(n=max_rows, random_state=seed).sort_index().reset_index(drop=True)
    quotas = class_quotas({label: int(n) for label, n in frame[target].value_counts(dropna=False).items()}, max_rows)
    return cut_to_quotas(frame, target, quotas, seed)


def cut_to_quotas(frame: pd.DataFrame, target: str, quotas: dict[object, int], seed: int) -> pd.DataFrame:
    """At most `quotas[label]` rows of each class, drawn at random, in the frame's own row order."""
    parts = [
        group.sample(n=min(quotas.get(label, 0), len(group)), random_state=seed)
        for label, group in frame.groupby(target, dropna=False)
    ]
    return pd.concat(parts).sort_index().reset_index(drop=True)


def spark_stratified_sample(
    data: DataFrame, target: str | None, max_rows: int, seed: int
) -> tuple[DataFrame, int, dict[object, int]]:
    """A little more than each class's quota, drawn by Spark without collecting the table; its rows; the quotas.

    Spark's `sampleBy` is a Bernoulli draw per row, so a class's count is only close to its fraction: it draws
    10% more, and `cut_to_quotas` then cuts the collected draw to the exact quotas (none without a target).
    """
    if target is None or target not in data.columns:
        total = data.count()
        drawn = data if total <= max_rows else data.sample(fraction=min(1.0, OVERDRAW * max_rows / total), seed=seed)
        return drawn, total, {}
    counts = {row[0]: int(row[1]) for row in data.groupBy(target).count().collect()}
    total = sum(counts.values())
    quotas = class_quotas(counts, max_rows) if total > max_rows else counts
    if total <= max_rows:
        return data, total, quotas
    fractions = {label: min(1.0, OVERDRAW * quotas[label] / counts[label]) for label in counts}
    return data.sampleBy(target, fractions=fractions, seed=seed), total, quotas

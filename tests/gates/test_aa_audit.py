"""A/A audit of the gate: retrain repeatedly with no drift and count how often non-inferiority fails.

Each replication draws a history table, trains v1, then twice adds a `newbatch` batch (bootstrap plus noise, no
drift: cml_mlops.batches.generate_batch) and retrains on the whole table, gating v2 against v1 and v3 against v2.
Splits and the gate's comparison are the library's own (training.row_parts.assign_parts,
gates.sources.compare_by_source). The learner is ridge regression on 4 informative and 16 noise columns, fitted in
closed form with numpy: fast, stable from one retrain to the next, and it fits its training rows better than
unseen ones, as real learners do, so a champion scored on its own training rows looks better than it is.

Three audits over the same replications:
- new split behaviour: failures must stay at or below 1 - confidence (what a calibrated one-sided bound allows for
  a challenger no worse than the champion) plus TOLERANCE;
- old behaviour (anchored split re-splitting the previous table with a plain split, synthetic rows split as new,
  pooled bootstrap): it leaks the champion's training rows into the test split, and the failures show it;
- a real degradation (the challenger never sees its strongest column): the gate must catch it.
The measured rates are in README.md, section "The quality gate".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from cml_mlops.batches import BatchSpec, Drift, generate_batch
from cml_mlops.batches.generator import source_positions
from cml_mlops.batches.lineage import batch_label
from cml_mlops.gates.bootstrap import paired_bootstrap
from cml_mlops.gates.sources import compare_by_source
from cml_mlops.row_keys import row_keys
from cml_mlops.training.row_parts import HISTORY, assign_parts, empty_record, sources_of
from cml_mlops.training.splits import PARTS, Splits, split_frame

pytestmark = pytest.mark.slow  # 100 replications of three trainings and two gates: ~15 s idle, more when busy

REPLICATIONS = 100
GENERATIONS = 2  # retrains per replication, each gated against the version before it
HISTORY_ROWS, BATCH_ROWS = 1500, 300
COLUMNS = [f"x{i}" for i in range(20)]
BETA = np.r_[1.0, -0.8, 0.6, 0.4, np.zeros(len(COLUMNS) - 4)]
MARGIN, CONFIDENCE, SAMPLES = 0.02, 0.95, 200
TOLERANCE = 0.03  # about two binomial standard errors of a 5% rate over 200 gate decisions
SPLIT = {"target": "y", "positive_label": "yes", "strategy": "stratified", "validation": 0.15, "test": 0.15}


@dataclass
class Audit:
    decisions: int = 0
    failures: dict[str, int] = field(default_factory=lambda: {"new": 0, "old": 0, "old_pooled": 0, "degraded": 0})

    def rate(self, kind: str) -> float:
        return self.failures[kind] / self.decisions


def history(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    x = rng.normal(size=(rows, len(COLUMNS)))
    positive = rng.random(rows) < 1 / (1 + np.exp(-(x @ BETA - 1.5)))
    return pd.DataFrame(x, columns=COLUMNS).round(3).assign(y=np.where(positive, "yes", "no"))


def fit(train: pd.DataFrame, blind: tuple[str, ...] = ()) -> np.ndarray:
    """Ridge regression of the 0/1 outcome (closed form); `blind` columns are zeroed (a degraded learner)."""
    x = design(train, blind)
    return np.linalg.solve(x.T @ x + np.eye(x.shape[1]), x.T @ (train["y"] == "yes").to_numpy(float))


def design(frame: pd.DataFrame, blind: tuple[str, ...] = ()) -> np.ndarray:
    return np.c_[np.ones(len(frame)), frame[COLUMNS].assign(**dict.fromkeys(blind, 0.0)).to_numpy()]


def old_split(table: pd.DataFrame, previous_rows: int | None, seed: int) -> Splits:
    """The split before issue 16: the previous table re-split plainly, the rows after it split on their own."""
    if previous_rows is None:
        return split_frame(table, seed=seed, **SPLIT)
    before = split_frame(table.iloc[:previous_rows], seed=seed, **SPLIT).parts()
    after = split_frame(table.iloc[previous_rows:], seed=seed, **SPLIT).parts()
    return Splits("stratified", *(pd.concat([before[name], after[name]]) for name in PARTS))


def add_batch(table: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`newbatch` without drift: the grown table and the batch's lineage lines."""
    spec = BatchSpec(rows=BATCH_ROWS, seed=seed, noise=0.1, drift=Drift(), target="y", positive_label="yes")
    batch = generate_batch(table, spec)
    picked = table.iloc[source_positions(table, spec)]
    lines = pd.DataFrame(
        {
            "row_key": row_keys(batch).to_numpy(),
            "source_key": row_keys(picked).to_numpy(),
            "source": batch_label(0, seed),
        }
    )
    return pd.concat([table, batch], ignore_index=True), lines


def fails(comparison_lower: float) -> int:
    return int(comparison_lower < -MARGIN)


def gate(y: np.ndarray, challenger: np.ndarray, champion: np.ndarray, sources: np.ndarray, seed: int) -> int:
    result = compare_by_source(
        y, challenger, champion, sources, metric="roc_auc", samples=SAMPLES, confidence=CONFIDENCE, seed=seed
    )
    return fails(result.lower)


def replicate(seed: int, audit: Audit) -> None:
    table = history(HISTORY_ROWS, np.random.default_rng(seed))
    record, lineage = empty_record(), []
    new_split, record = assign_parts(table, known=record, lineage=None, new_source=HISTORY, seed=seed, **SPLIT)
    old = old_split(table, None, seed)
    champion = {"new": fit(new_split.train), "old": fit(old.train)}
    for generation in range(1, GENERATIONS + 1):
        previous_rows = len(table)
        table, lines = add_batch(table, seed=1000 * seed + generation)
        lineage.append(lines)
        new_split, record = assign_parts(
            table, known=record, lineage=pd.concat(lineage), new_source="real", seed=seed, **SPLIT
        )
        old = old_split(table, previous_rows, seed)
        challenger = {"new": fit(new_split.train), "old": fit(old.train)}
        test = new_split.test
        y = (test["y"] == "yes").to_numpy(int)
        sources = sources_of(test, record).to_numpy()
        x = design(test)
        audit.failures["new"] += gate(y, x @ challenger["new"], x @ champion["new"], sources, seed)
        blind = design(test) @ fit(new_split.train, blind=("x0",))
        audit.failures["degraded"] += gate(y, blind, x @ champion["new"], sources, seed)
        old_y, old_x = (old.test["y"] == "yes").to_numpy(int), design(old.test)
        old_scores = (old_x @ challenger["old"], old_x @ champion["old"])
        pooled = paired_bootstrap(
            old_y, *old_scores, metric="roc_auc", samples=SAMPLES, confidence=CONFIDENCE, seed=seed
        )
        audit.failures["old_pooled"] += fails(pooled.lower)
        audit.failures["old"] += gate(old_y, *old_scores, np.full(len(old_y), "all"), seed)
        audit.decisions += 1
        champion = challenger


@pytest.fixture(scope="module")
def audit() -> Audit:
    result = Audit()
    with threadpool_limits(limits=1):  # tiny matrices: BLAS threads only contend
        for seed in range(REPLICATIONS):
            replicate(seed, result)
    print(f"A/A audit over {result.decisions} gate decisions:", {k: result.rate(k) for k in result.failures})
    return result


def test_without_drift_the_gate_fails_no_more_often_than_its_confidence_allows(audit: Audit) -> None:
    assert audit.decisions == REPLICATIONS * GENERATIONS >= 200
    assert audit.rate("new") <= (1 - CONFIDENCE) + TOLERANCE


def test_the_old_split_behaviour_shows_its_false_failures(audit: Audit) -> None:
    """The same replications split the old way: the champion's training rows leak into the test split."""
    assert audit.rate("old") > (1 - CONFIDENCE) + TOLERANCE + 0.05
    assert audit.rate("old_pooled") > (1 - CONFIDENCE) + TOLERANCE + 0.05
    assert audit.rate("old") > 3 * max(audit.rate("new"), 0.01)


def test_a_real_degradation_is_caught(audit: Audit) -> None:
    """A challenger blind to its strongest column (ROC AUC ~0.1 lower) fails non-inferiority nearly always."""
    assert audit.rate("degraded") >= 0.9

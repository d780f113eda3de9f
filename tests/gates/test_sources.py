"""Non-inferiority per data source: a mixture of sources cannot inflate it; the overlap check fails closed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cml_mlops.config import NonInferioritySection
from cml_mlops.gates.bootstrap import paired_bootstrap
from cml_mlops.gates.report import GateReport
from cml_mlops.gates.sources import compare_by_source, non_inferiority_check, overlap_check
from cml_mlops.metrics import compute_metrics

SETTINGS = NonInferioritySection(metric="roc_auc", margin=0.01, confidence=0.95, bootstrap_samples=300)


def mixture(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two sources with very different base rates (5% and 50%), like the history and a drifted batch.

    Within each source both models rank by the same signal, the challenger a little better. The champion also adds
    a constant to every row of the high-rate source: that changes no ranking inside a source, yet pooled it puts
    that source's many positives above the other source's rows and so wins pooled ROC AUC.
    """
    rng = np.random.default_rng(seed)
    sizes, rates = (3000, 1000), (0.05, 0.5)
    y = np.concatenate([(rng.random(n) < rate).astype(int) for n, rate in zip(sizes, rates, strict=True)])
    sources = np.repeat(np.array(["history", "drifted batch"]), sizes)
    signal = y + rng.normal(scale=1.2, size=len(y))
    challenger = 1 / (1 + np.exp(-(signal + rng.normal(scale=0.2, size=len(y)))))
    champion = 1 / (1 + np.exp(-(signal + rng.normal(scale=0.6, size=len(y)) + 3.0 * (sources == "drifted batch"))))
    return y, challenger, champion, sources


def test_pooled_auc_misleads_on_the_mixture_and_the_per_source_comparison_does_not() -> None:
    y, challenger, champion, sources = mixture()
    for name in ("history", "drifted batch"):
        mask = sources == name
        within = [compute_metrics(y[mask], s[mask], 0.5)["roc_auc"] for s in (challenger, champion)]
        assert within[0] > within[1]  # the challenger ranks better inside every source
    pooled = paired_bootstrap(y, challenger, champion, metric="roc_auc", samples=300, seed=0)
    assert pooled.difference < -0.02 and pooled.lower < -SETTINGS.margin  # pooled: the champion "wins"
    result = compare_by_source(y, challenger, champion, sources, metric="roc_auc", samples=300, seed=0)
    assert result.difference > 0 and result.lower > -SETTINGS.margin
    assert {s.source: round(s.weight, 2) for s in result.sources} == {"history": 0.75, "drifted batch": 0.25}
    check = non_inferiority_check(
        y, challenger, champion, sources=sources, thresholds=(0.5, 0.5), settings=SETTINGS, seed=0, champion_version="1"
    )
    assert check.status == "passed" and len(check.data["sources"]) == 2
    # Pooled the other way round: a worse challenger that separates the sources cannot pass on the mixture.
    worse = non_inferiority_check(
        y, champion - 0.0, challenger, sources=sources, thresholds=(0.5, 0.5), settings=SETTINGS, seed=0,
        champion_version="1",
    )  # fmt: skip
    assert worse.status == "failed" and "worse on drifted batch" in worse.detail and "history" in worse.detail


def test_a_worse_source_fails_the_check_and_is_named() -> None:
    y, challenger, _, sources = mixture(seed=1)
    rng = np.random.default_rng(1)
    damaged = challenger.copy()
    batch = sources == "drifted batch"
    damaged[batch] = rng.random(int(batch.sum()))  # no signal left on the batch's rows
    check = non_inferiority_check(
        y, damaged, challenger, sources=sources, thresholds=(0.5, 0.5), settings=SETTINGS, seed=0, champion_version="3"
    )
    assert check.status == "failed"
    assert "worse on drifted batch" in check.detail and "history (" not in check.detail
    rows = {row["source"]: row for row in check.data["sources"]}
    assert rows["drifted batch"]["difference"] < -0.1 and abs(rows["history"]["difference"]) < 1e-12


def test_a_source_with_one_class_gets_no_weight_and_the_rest_decide() -> None:
    y, challenger, champion, sources = mixture(seed=2)
    y = np.r_[y, np.zeros(50, dtype=int)]
    sources = np.r_[sources, np.full(50, "tiny batch")]
    challenger, champion = np.r_[challenger, np.full(50, 0.1)], np.r_[champion, np.full(50, 0.9)]
    result = compare_by_source(y, challenger, champion, sources, metric="roc_auc", samples=200, seed=0)
    tiny = next(s for s in result.sources if s.source == "tiny batch")
    assert tiny.weight == 0 and np.isnan(tiny.challenger)
    assert abs(sum(s.weight for s in result.sources) - 1) < 1e-12


def test_the_same_seed_gives_the_same_bounds() -> None:
    y, challenger, champion, sources = mixture(seed=3)
    first = compare_by_source(y, challenger, champion, sources, metric="pr_auc", samples=200, seed=4)
    assert first == compare_by_source(y, challenger, champion, sources, metric="pr_auc", samples=200, seed=4)


def test_the_gate_fails_closed_on_test_rows_the_champion_trained_or_validated_on() -> None:
    record = pd.DataFrame(
        {"row_key": ["a", "b", "c", "d"], "part": ["train", "validation", "test", "train"], "source": "history"}
    )
    leaked = overlap_check(pd.Series(["a", "b", "c", "e"]), record, "2")
    assert leaked.failed and leaked.value == 2 and leaked.data == {"train": 1, "validation": 1}
    assert "2 of 4 test rows were in champion v2's training (1) or validation (1) rows" in leaked.detail
    assert "fails closed" in leaked.detail
    clean = overlap_check(pd.Series(["c", "e"]), record, "2")
    assert clean.status == "passed" and clean.value == 0
    unknown = overlap_check(pd.Series(["c"]), None, "2")
    assert unknown.failed and "no record of its rows' parts" in unknown.detail


def test_the_report_shows_the_per_source_table_next_to_the_champions_own_test_score() -> None:
    y, challenger, champion, sources = mixture()
    check = non_inferiority_check(
        y, challenger, champion, sources=sources, thresholds=(0.5, 0.5), settings=SETTINGS, seed=0, champion_version="1"
    )
    own = {"version": "1", "rows": 700, "positives": 80, "roc_auc": 0.81}
    check = check.__class__(**{**check.__dict__, "data": {**check.data, "champion_own_test": own}})
    report = GateReport("m", "2", "run", "1", len(y), 0.5, [check], "2026-12-06T00:00:00+00:00")
    markdown = report.to_markdown()
    assert "### roc_auc per data source: challenger v. champion v1" in markdown
    assert "| source | rows | positive | challenger | champion | difference | weight |" in markdown
    assert "| history | 3000 |" in markdown and "| drifted batch | 1000 |" in markdown
    assert "| champion v1 on its own original test split | 700 | 80 | | 0.81 | | |" in markdown
    assert [row["source"] for row in report.to_dict()["checks"][0]["data"]["sources"]] == ["drifted batch", "history"]

"""Drift statistics on binned counts: PSI properties, KS against scipy's exact two-sample test, chi-square."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cml_mlops.config import MonitoringDriftSection
from cml_mlops.monitoring.drift import (
    categorical_drift,
    chi_square,
    ks_p_value,
    ks_statistic,
    numeric_drift,
    population_stability_index,
)
from cml_mlops.monitoring.profile import categorical_reference, numeric_reference

DEFAULTS = MonitoringDriftSection()
counts = st.lists(st.integers(0, 10_000), min_size=2, max_size=30).filter(lambda c: sum(c) > 0)


@given(counts, st.integers(1, 50))
def test_psi_of_identical_distributions_is_zero(histogram: list[int], scale: int) -> None:
    # Same shares, different sample sizes: no drift at all.
    assert population_stability_index(np.array(histogram), np.array(histogram) * scale) == pytest.approx(0, abs=1e-12)


@given(counts, counts)
def test_psi_is_never_negative(first: list[int], second: list[int]) -> None:
    size = min(len(first), len(second))
    if sum(first[:size]) and sum(second[:size]):
        assert population_stability_index(np.array(first[:size]), np.array(second[:size])) >= 0


def _normal_fine_counts(edges: list[float], shift: float, rows: int = 100_000) -> np.ndarray:
    """Expected rows per fine bin of N(shift, 1): exact shares, no sampling noise."""
    cdf = stats.norm.cdf(np.asarray(edges) - shift)
    return rows * np.diff(np.concatenate([[0.0], cdf, [1.0]]))


@settings(max_examples=50, deadline=None)
@given(st.floats(0, 2.5), st.floats(0.05, 1.5))
def test_psi_grows_with_the_shift(smaller: float, step: float) -> None:
    reference = numeric_reference("x", np.random.default_rng(0).normal(size=20_000))
    first = numeric_drift(reference, _normal_fine_counts(reference.edges, smaller), 0, DEFAULTS)
    second = numeric_drift(reference, _normal_fine_counts(reference.edges, smaller + step), 0, DEFAULTS)
    assert second.psi > first.psi
    assert second.statistic >= first.statistic


def test_conventional_cut_offs_on_samples() -> None:
    rng = np.random.default_rng(1)
    reference = numeric_reference("x", rng.normal(size=30_000))

    def drift(shift: float):
        sample = rng.normal(loc=shift, size=20_000)
        fine = np.bincount(reference.bin_of(sample), minlength=len(reference.edges) + 1)
        return numeric_drift(reference, fine, 0, DEFAULTS)

    same, shifted = drift(0.0), drift(1.0)
    assert same.psi < DEFAULTS.psi_watch and same.status == "ok" and not same.drifted
    assert shifted.psi > DEFAULTS.psi_alert and shifted.status == "alert" and shifted.drifted
    assert shifted.p_value < 1e-6


samples = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=5, max_size=400)


@settings(max_examples=100, deadline=None)
@given(samples, samples)
def test_binned_ks_is_within_one_bin_of_scipys_exact_statistic(training: list[float], window: list[float]) -> None:
    reference = numeric_reference("x", training)
    fine = np.bincount(reference.bin_of(np.array(window)), minlength=len(reference.edges) + 1)
    binned = ks_statistic(np.array(reference.counts), fine)
    exact = stats.ks_2samp(training, window, method="asymp").statistic
    # The binned CDFs are the exact ones at the edges; between two edges each moves by at most its bin's share.
    largest_bin = max(max(reference.counts) / len(training), fine.max() / len(window))
    assert binned <= exact + 1e-12
    assert exact - binned <= largest_bin + 1e-12


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=20, max_size=300), st.lists(st.integers(0, 30), min_size=20, max_size=300))
def test_ks_of_a_discrete_feature_is_exact_with_scipys_asymptotic_p_value(
    training: list[int], window: list[int]
) -> None:
    # Every value of the window is a value of the training data: then each value has its own bin.
    window = [value for value in window if value in set(training)] or training[:5]
    reference = numeric_reference("x", training)
    if len(reference.edges) < len(set(training)) - 1:
        return  # more than 99 distinct values: percentiles skip some (not the case this test is about)
    fine = np.bincount(reference.bin_of(np.array(window)), minlength=len(reference.edges) + 1)
    statistic = ks_statistic(np.array(reference.counts), fine)
    expected = stats.ks_2samp(training, window, method="asymp")
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert ks_p_value(statistic, len(training), len(window)) == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-15)


def test_chi_square_matches_scipy_and_is_one_for_the_same_proportions() -> None:
    reference, current = np.array([500, 300, 200, 0]), np.array([40, 35, 25, 0])
    statistic, p_value = chi_square(reference, current)
    expected = stats.chi2_contingency(np.vstack([reference[:3], current[:3]]), correction=False)
    assert (statistic, p_value) == pytest.approx((expected.statistic, expected.pvalue))
    assert chi_square(reference, reference * 2) == pytest.approx((0.0, 1.0))


def test_unseen_categories_count_as_other_and_a_new_mix_drifts() -> None:
    reference = categorical_reference("job", ["admin."] * 600 + ["technician"] * 300 + ["student"] * 100)
    same = categorical_drift(reference, {"admin.": 300, "technician": 150, "student": 50}, 0, DEFAULTS)
    changed = categorical_drift(reference, {"student": 300, "astronaut": 200}, 50, DEFAULTS)
    assert same.psi == pytest.approx(0) and same.p_value == pytest.approx(1) and not same.drifted
    assert changed.rows == 550 and changed.missing == 50
    assert changed.drifted and changed.status == "alert" and changed.p_value < 1e-6


def test_small_windows_are_not_judged() -> None:
    reference = categorical_reference("loan", ["no"] * 900 + ["yes"] * 100)
    drift = categorical_drift(reference, {"yes": 60}, 0, DEFAULTS)
    assert drift.status == "insufficient" and not drift.drifted and drift.rows < DEFAULTS.min_rows


@pytest.mark.parametrize("rule, expected", [("psi", True), ("test", True), ("psi_and_test", True)])
def test_every_rule_flags_a_large_significant_shift(rule: str, expected: bool) -> None:
    settings_ = MonitoringDriftSection(rule=rule)  # type: ignore[arg-type]
    reference = categorical_reference("loan", ["no"] * 9000 + ["yes"] * 1000)
    assert categorical_drift(reference, {"no": 500, "yes": 500}, 0, settings_).drifted is expected


def test_the_rules_differ_on_a_small_but_significant_shift() -> None:
    reference = categorical_reference("loan", ["no"] * 90_000 + ["yes"] * 10_000)
    window = {"no": 88_000, "yes": 12_000}  # PSI ~0.004: negligible, yet p < 1e-40 with these rows
    judged = {
        rule: categorical_drift(reference, window, 0, MonitoringDriftSection(rule=rule))
        for rule in ("psi", "test", "psi_and_test")
    }  # type: ignore[arg-type]
    assert judged["test"].drifted and not judged["psi"].drifted and not judged["psi_and_test"].drifted
    assert not math.isnan(judged["test"].p_value)

"""The EDA profile: its numbers agree with pandas and scikit-learn computed independently here."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from cml_mlops.eda.profile import (
    DECLARED_REASON,
    MISSING_LABEL,
    OTHER_LABEL,
    CategoricalProfile,
    EdaProfile,
    NumericProfile,
    profile_frame,
)
from cml_mlops.errors import ContractViolation
from cml_mlops.features import FeatureSpec


def numeric(profile: EdaProfile, name: str) -> NumericProfile:
    found = profile.feature(name)
    assert isinstance(found, NumericProfile)
    return found


def categorical(profile: EdaProfile, name: str) -> CategoricalProfile:
    found = profile.feature(name)
    assert isinstance(found, CategoricalProfile)
    return found


def direction_free_auc(y: pd.Series, score: pd.Series) -> float:
    auc = roc_auc_score(y, score)
    return max(auc, 1 - auc)


# bank.csv -------------------------------------------------------------------------------------------


def test_class_balance_matches_pandas(bank_profile: EdaProfile, bank_frame: pd.DataFrame) -> None:
    counts = bank_frame["y"].value_counts()
    balance = bank_profile.class_balance
    assert bank_profile.rows == len(bank_frame) == 4521
    assert balance.counts == {"no": counts["no"], "yes": counts["yes"]}
    assert balance.positives == counts["yes"] == 521
    assert balance.negatives == counts["no"]
    assert balance.positive_rate == pytest.approx((bank_frame["y"] == "yes").mean())


def test_target_rate_by_category_matches_pandas(bank_profile: EdaProfile, bank_frame: pd.DataFrame) -> None:
    expected = bank_frame.assign(hit=bank_frame["y"].eq("yes")).groupby("job")["hit"].agg(["size", "mean"])
    job = categorical(bank_profile, "job")
    assert {c.value for c in job.categories} == set(expected.index)
    for category in job.categories:
        assert category.count == expected.loc[category.value, "size"]
        assert category.target_rate == pytest.approx(expected.loc[category.value, "mean"])
    counts = [c.count for c in job.categories]
    assert counts == sorted(counts, reverse=True)  # most common first


def test_unknown_share_of_poutcome(bank_profile: EdaProfile, bank_frame: pd.DataFrame) -> None:
    poutcome = categorical(bank_profile, "poutcome")
    assert poutcome.missing_share == pytest.approx((bank_frame["poutcome"] == "unknown").mean())
    assert poutcome.missing_share == pytest.approx(0.82, abs=0.005)
    assert categorical(bank_profile, "marital").missing_share == 0


def test_numeric_summary_matches_pandas(bank_profile: EdaProfile, bank_frame: pd.DataFrame) -> None:
    for name in ("age", "balance", "duration", "pdays"):
        column, summary = bank_frame[name], numeric(bank_profile, name)
        assert (summary.min, summary.max) == (column.min(), column.max())
        assert summary.mean == pytest.approx(column.mean())
        assert summary.std == pytest.approx(column.std())
        assert summary.quantiles["p50"] == pytest.approx(column.quantile(0.5, interpolation="lower"))
        assert summary.count == len(column) and summary.missing == 0


def test_histograms_and_bins_cover_every_row(bank_profile: EdaProfile, bank_frame: pd.DataFrame) -> None:
    for summary in bank_profile.numeric:
        # sentinel codes (pdays = -1) are kept out of the histogram: it shows the real values
        coded = sum(round(sentinel.share * summary.count) for sentinel in summary.sentinels)
        assert sum(summary.histogram_counts) + coded == len(bank_frame)
        assert len(summary.histogram_edges) == len(summary.histogram_counts) + 1
        assert sum(b.count for b in summary.target_rate_bins) == len(bank_frame)
    expected, _ = np.histogram(bank_frame["age"], bins=30)
    assert list(numeric(bank_profile, "age").histogram_counts) == expected.tolist()


def test_a_dominant_value_gets_its_own_bin(bank_profile: EdaProfile, bank_frame: pd.DataFrame) -> None:
    """pdays = -1 ("never contacted") is 82% of rows: a bin of its own, not lumped with real day counts."""
    bins = numeric(bank_profile, "pdays").target_rate_bins
    never = next(b for b in bins if b.lower == b.upper == -1)
    rows = bank_frame["pdays"] == -1
    assert never.count == rows.sum()
    assert never.target_rate == pytest.approx(bank_frame.loc[rows, "y"].eq("yes").mean())
    assert len(bins) > 5


def test_correlation_matches_pandas(bank_profile: EdaProfile, bank_frame: pd.DataFrame) -> None:
    correlation = bank_profile.correlation
    names = list(correlation.columns)
    assert names[-1] == "y" and set(names[:-1]) == {s.name for s in bank_profile.numeric}
    value = correlation.matrix[names.index("duration")][names.index("y")]
    assert value == pytest.approx(bank_frame["duration"].corr(bank_frame["y"].eq("yes").astype(float)))
    assert correlation.matrix[0][0] == pytest.approx(1.0)


def test_univariate_auc_matches_sklearn(bank_profile: EdaProfile, bank_frame: pd.DataFrame) -> None:
    y = bank_frame["y"].eq("yes")
    assert numeric(bank_profile, "age").roc_auc == pytest.approx(direction_free_auc(y, bank_frame["age"]))
    encoded = bank_frame["month"].map(y.groupby(bank_frame["month"]).mean())
    assert categorical(bank_profile, "month").roc_auc == pytest.approx(direction_free_auc(y, encoded))


def test_duration_is_a_leakage_candidate_twice_and_age_is_not(bank_profile: EdaProfile) -> None:
    candidates = {c.column: c for c in bank_profile.leakage}
    duration = candidates["duration"]
    assert duration.declared
    assert duration.reasons[0] == DECLARED_REASON
    assert duration.reasons[1].startswith("univariate ROC AUC 0.8")
    assert "age" not in candidates
    assert set(candidates) == {"duration"}
    assert any("leakage candidate 'duration'" in w for w in bank_profile.warnings)


def test_undeclared_feature_with_a_high_auc_is_flagged(bank_frame: pd.DataFrame, bank_spec: FeatureSpec) -> None:
    undeclared = FeatureSpec(bank_spec.target, bank_spec.positive_label, bank_spec.numeric, bank_spec.categorical)
    profile = profile_frame(bank_frame, undeclared)
    (candidate,) = profile.leakage
    assert candidate.column == "duration" and not candidate.declared
    assert len(candidate.reasons) == 1 and "ROC AUC" in candidate.reasons[0]
    assert any("not declared" in w and "'duration'" in w for w in profile.warnings)
    stricter = profile_frame(bank_frame, undeclared, leakage_auc=0.6)
    assert {"duration", "month", "poutcome"} <= {c.column for c in stricter.leakage}
    assert "age" not in {c.column for c in stricter.leakage}


def test_bank_warnings(bank_profile: EdaProfile) -> None:
    warnings = "\n".join(bank_profile.warnings)
    assert "accuracy is misleading; use ROC/PR AUC" in warnings
    assert "'poutcome': 82.0% of values are missing" in warnings
    assert "'contact': 29.3% of values are missing" in warnings
    assert "'education'" not in warnings  # 4% unknown: below the 20% threshold
    assert "constant" not in warnings


def test_to_dict_is_plain_json(bank_profile: EdaProfile) -> None:
    payload = bank_profile.to_dict()
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload
    assert payload["class_balance"]["positives"] == 521
    assert payload["leakage"][0]["column"] == "duration"


# small frames ----------------------------------------------------------------------------------------

SPEC = FeatureSpec(target="y", positive_label="yes", numeric=("x",), categorical=("c",))


def test_constant_column_gives_a_warning() -> None:
    frame = pd.DataFrame({"x": [1.0] * 6, "c": list("abcabc"), "y": ["yes", "no"] * 3})
    profile = profile_frame(frame, SPEC)
    assert numeric(profile, "x").constant
    assert numeric(profile, "x").roc_auc == pytest.approx(0.5)
    assert any("'x' is constant" in w for w in profile.warnings)
    assert not any("'c' is constant" in w for w in profile.warnings)
    matrix = profile.correlation.matrix
    assert matrix[0][1] is None  # undefined for a constant column, not NaN
    frame["c"] = "same"
    assert any("'c' is constant" in w for w in profile_frame(frame, SPEC).warnings)


def test_no_positives_profiles_without_auc_and_says_why() -> None:
    frame = pd.DataFrame({"x": [1.0, 2, 3, 4], "c": list("abab"), "y": ["no"] * 4})
    profile = profile_frame(frame, SPEC)
    assert profile.class_balance.positives == 0 and profile.class_balance.positive_rate == 0
    assert numeric(profile, "x").roc_auc is None and categorical(profile, "c").roc_auc is None
    assert profile.leakage == ()
    assert any("only one class" in note and "ROC AUC is undefined" in note for note in profile.notes)
    assert any("single class" in w for w in profile.warnings)
    assert all(b.target_rate == 0 for b in numeric(profile, "x").target_rate_bins)
    json.dumps(profile.to_dict(), allow_nan=False)


def test_missing_values_are_counted_in_their_own_bin() -> None:
    frame = pd.DataFrame(
        {
            "x": [1.0, np.nan, 3.0, np.inf, 5.0, np.nan],
            "c": ["a", None, "unknown", "a", "b", "a"],
            "y": ["yes", "yes", "no", "no", "yes", "no"],
        }
    )
    profile = profile_frame(frame, SPEC)
    x, c = numeric(profile, "x"), categorical(profile, "c")
    assert (x.count, x.missing) == (3, 3)  # infinity counts as missing
    missing_bin = x.target_rate_bins[-1]
    assert (missing_bin.label, missing_bin.count, missing_bin.positives) == (MISSING_LABEL, 3, 1)
    assert c.missing == 2 and c.missing_share == pytest.approx(2 / 6)
    assert {cat.value: cat.count for cat in c.categories} == {"a": 3, MISSING_LABEL: 1, "unknown": 1, "b": 1}
    assert any("'x': 50.0% of values are missing" in w for w in profile.warnings)


def test_many_categories_are_pooled_and_still_add_up() -> None:
    frame = pd.DataFrame({"x": range(100), "c": [f"id{i}" for i in range(100)], "y": ["yes", "no"] * 50})
    profile = profile_frame(frame, SPEC, max_categories=10)
    c = categorical(profile, "c")
    assert len(c.categories) == 10 and c.categories[-1].value == OTHER_LABEL
    assert sum(cat.count for cat in c.categories) == 100 and c.distinct == 100
    # An id-like column predicts its own rows perfectly: exactly what the leakage screen should catch.
    assert c.roc_auc == pytest.approx(1.0)
    assert "c" in {candidate.column for candidate in profile.leakage}


def test_integer_target_matches_a_text_positive_label() -> None:
    frame = pd.DataFrame({"x": [1, 2, 3, 4], "c": list("abab"), "y": [1, 0, 0, 1]})
    spec = FeatureSpec("y", "1", ("x",), ("c",))
    assert profile_frame(frame, spec).class_balance.positives == 2


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"x": [1.0], "y": ["yes"]}), "lacks columns of the feature spec: c"),
        (pd.DataFrame({"x": [], "c": [], "y": []}), "no rows"),
        (pd.DataFrame({"x": ["1", "two"], "c": ["a", "b"], "y": ["yes", "no"]}), "'x' holds 1 non-numbers"),
    ],
)
def test_unusable_data_is_a_contract_violation(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(ContractViolation, match=message):
        profile_frame(frame, SPEC)


def test_numbers_stored_as_text_are_accepted() -> None:
    frame = pd.DataFrame({"x": ["1", "2.5", None], "c": ["a", "b", "a"], "y": ["yes", "no", "no"]})
    assert numeric(profile_frame(frame, SPEC), "x").max == 2.5


# property ---------------------------------------------------------------------------------------------

numbers = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 5).map(float),  # ties, so that few-distinct-values and dominant-value bins occur
)
categories = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "unknown"]), st.text(max_size=3))


@st.composite
def small_frames(draw: st.DrawFn) -> tuple[pd.DataFrame, FeatureSpec]:
    rows = draw(st.integers(1, 30))
    numeric_names = [f"n{i}" for i in range(draw(st.integers(0, 3)))]
    categorical_names = [f"c{i}" for i in range(draw(st.integers(0, 3)))]
    data: dict[str, list[object]] = {}
    for name in numeric_names:
        data[name] = draw(st.lists(numbers, min_size=rows, max_size=rows))
    for name in categorical_names:
        data[name] = draw(st.lists(categories, min_size=rows, max_size=rows))
    data["y"] = draw(st.lists(st.sampled_from(["yes", "no"]), min_size=rows, max_size=rows))
    frame = pd.DataFrame(data)
    for name in numeric_names:
        frame[name] = frame[name].astype(float)
    return frame, FeatureSpec("y", "yes", tuple(numeric_names), tuple(categorical_names))


def rate_ok(rate: float | None, count: int) -> bool:
    return rate is None if count == 0 else 0.0 <= rate <= 1.0  # type: ignore[operator]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_frames(), st.integers(1, 6))
def test_profile_counts_add_up_and_rates_are_probabilities(
    example: tuple[pd.DataFrame, FeatureSpec], bins: int
) -> None:
    frame, spec = example
    profile = profile_frame(frame, spec, bins=bins)
    rows = len(frame)
    assert sum(profile.class_balance.counts.values()) == rows
    assert 0.0 <= profile.class_balance.positive_rate <= 1.0
    for summary in profile.numeric:
        assert summary.count + summary.missing == rows
        # Sentinel codes (-1, 999) are kept out of the histogram: they and the histogram make up the count.
        sentinel_rows = int(frame[summary.name].isin([sentinel.value for sentinel in summary.sentinels]).sum())
        assert sum(summary.histogram_counts) + sentinel_rows == summary.count
        assert sum(b.count for b in summary.target_rate_bins) == rows
        assert len([b for b in summary.target_rate_bins if b.label != MISSING_LABEL]) <= bins
        for rate_bin in summary.target_rate_bins:
            assert 0 <= rate_bin.positives <= rate_bin.count
            assert rate_ok(rate_bin.target_rate, rate_bin.count)
        assert summary.roc_auc is None or 0.5 <= summary.roc_auc <= 1.0
    for summary in profile.categorical:
        assert sum(c.count for c in summary.categories) == rows
        assert all(rate_ok(c.target_rate, c.count) for c in summary.categories)
        assert 0.0 <= summary.missing_share <= 1.0
        assert summary.roc_auc is None or 0.5 <= summary.roc_auc <= 1.0
    json.dumps(profile.to_dict(), allow_nan=False)

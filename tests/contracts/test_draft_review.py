"""Drafted contracts are ready for review: sentinels named, sensible bounds, complete calendars, ruff's layout."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cml_mlops.contracts import python_format
from cml_mlops.contracts.draft import draft_contract, draft_from_csv, loaded_contract
from cml_mlops.contracts.runner import validate_frame
from cml_mlops.contracts.value_patterns import MONTHS, calendar, calendar_order, sentinels
from tests.contracts.test_draft import frame_of, rules


def drafted(columns: dict[str, list[str | None]]) -> tuple[str, dict[str, tuple[str, dict[str, object], bool]]]:
    frame = frame_of({**columns, "y": ["no", "yes"] * (len(next(iter(columns.values()))) // 2)})
    source = draft_contract(frame, target="y", positive_label="yes")
    with loaded_contract(source) as module:
        assert validate_frame(frame, module.RawDataset).passed
        return source, rules(module.RawRecord)


def test_a_negative_sentinel_is_commented_with_its_share_and_admitted() -> None:
    pdays = ["-1"] * 80 + [str(day) for day in range(1, 21)]
    source, found = drafted({"pdays": pdays})
    assert "# sentinel? -1 in 80.0% of rows" in source
    bounds = found["pdays"][1]["in_range"]
    assert bounds["min_value"] == -1  # the code itself, nothing below it
    assert bounds["max_value"] >= 20


def test_a_high_sentinel_is_commented_and_the_range_follows_the_other_values() -> None:
    pdays = ["999"] * 60 + [str(day % 28) for day in range(40)]
    source, found = drafted({"pdays": pdays})
    assert "# sentinel? 999 in 60.0% of rows" in source
    bounds = found["pdays"][1]["in_range"]
    assert (bounds["min_value"], bounds["max_value"]) == (0, 999)


def test_ordinary_values_are_no_sentinels() -> None:
    assert sentinels(pd.Series([str(v) for v in range(-5, 995)])) == []  # -1 inside a signed range
    assert sentinels(pd.Series(["999"] + [str(v) for v in range(900)])) == []  # 999 continues the data
    assert sentinels(pd.Series(["-1"] + [str(v) for v in range(1000)])) == []  # one row: an outlier, not a code


@pytest.mark.parametrize(
    ("values", "low"),
    [(["1", "5", "63"], 1), (["0", "5", "63"], 0), (["4", "50", "3000"], 0), (["-3", "0", "7"], -4)],
    ids=["minimum-1", "count", "duration", "signed"],
)
def test_bounds_follow_the_data_without_crossing_natural_floors(values: list[str], low: int) -> None:
    _, found = drafted({"n": values + values[:1]})
    assert found["n"][1]["in_range"]["min_value"] == low


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=2, max_size=30))
def test_a_non_negative_count_never_gets_a_negative_bound(counts: list[int]) -> None:
    frame = frame_of({"n": [str(c) for c in counts], "y": (["no", "yes"] * len(counts))[: len(counts)]})
    if frame["y"].nunique() < 2:
        return
    with loaded_contract(draft_contract(frame, target="y", positive_label="yes")) as module:
        bounds = rules(module.RawRecord)["n"][1]["in_range"]
    assert bounds["min_value"] >= (1 if min(counts) == 1 else 0)
    assert bounds["min_value"] <= min(counts) and bounds["max_value"] >= max(counts)


def test_an_incomplete_month_set_gets_all_twelve_in_order_with_a_comment() -> None:
    seen = ["may", "jun", "jul", "aug", "oct", "nov", "dec", "jan", "feb", "apr"]  # no mar, no sep
    source, found = drafted({"month": seen * 2})
    assert found["month"][1]["isin"]["allowed_values"] == list(MONTHS)
    assert "# calendar months: the sample lacks mar, sep; all 12 are allowed" in source


def test_weekdays_keep_the_samples_case() -> None:
    found = calendar(["Mon", "Tue", "Fri"])
    assert found is not None
    assert found.members == ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    assert calendar(["MONDAY", "FRIDAY", "SUNDAY"]) is not None
    assert calendar(["may", "yes", "no"]) is None  # not a calendar
    assert calendar(["mar", "may"]) is None  # too few to tell
    assert calendar_order(["oct", "jan", "may"]) == ["jan", "may", "oct"]
    assert calendar_order(["b", "a"]) == ["a", "b"]


def test_the_draft_starts_at_version_1_0_0() -> None:
    source, _ = drafted({"n": ["1", "2"]})
    assert 'CONTRACT_VERSION = "1.0.0"' in source


def test_the_output_follows_the_projects_ruff_settings(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 60\n", encoding="utf-8")
    columns = {f"a rather long column name {i}": [str(v) for v in np.arange(40) * (i + 1)] for i in range(3)}
    csv = tmp_path / "sample.csv"
    pd.DataFrame({**columns, "y": ["no", "yes"] * 20}).to_csv(csv, index=False)
    source = draft_from_csv(csv, separator=",", target="y", positive_label="yes", output=tmp_path / "contracts.py")
    body = source.split("from __future__ import annotations", 1)[1]  # after the module docstring
    code_lines = [line for line in body.splitlines() if "#" not in line and not line.lstrip().startswith('"')]
    assert any("pa.Field(" in line for line in code_lines)
    assert max(len(line) for line in code_lines) <= 60


def test_without_ruff_the_drafters_own_layout_is_kept_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setattr(python_format, "find_ruff", lambda: None)
    source = "x = [1,2]\n"
    with caplog.at_level(logging.WARNING):
        assert python_format.ruff_format(source, tmp_path / "contracts.py") == (source, False)
    assert "ruff is not installed" in caplog.text

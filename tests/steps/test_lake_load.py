"""`cml-mlops lake load`: a CSV that breaks the contract is refused with a clear message, and the lake is unchanged."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cml_mlops.lake import open_lake
from tests.steps.conftest import Invoke, current_snapshot_id, project_config, write_sample_csv


def bad_csv(bank_zip: Path, tmp_path: Path, change: Callable[[str], bytes]) -> Path:
    text = write_sample_csv(bank_zip, tmp_path / "sample.csv").read_text(encoding="utf-8")
    path = tmp_path / "bad.csv"
    path.write_bytes(change(text))
    return path


def replace_in_row(text: str, row: int, old: str, new: str) -> bytes:
    lines = text.splitlines()
    assert old in lines[row], (old, lines[row])
    lines[row] = lines[row].replace(old, new, 1)
    return ("\n".join(lines) + "\n").encode()


def drop_column(text: str, index: int) -> bytes:
    rows = [line.split(";") for line in text.splitlines()]
    return ("\n".join(";".join(r[:index] + r[index + 1 :]) for r in rows) + "\n").encode()


def add_column(text: str) -> bytes:
    lines = text.splitlines()
    return ("\n".join([lines[0] + ';"surprise"'] + [line + ";1" for line in lines[1:]]) + "\n").encode()


# First data row of bank.csv:
# 30;"unemployed";"married";"primary";"no";1787;"no";"no";"cellular";19;"oct";79;1;-1;0;"unknown";"no"
BAD_FILES = {
    "wrong separator": (lambda t: t.replace(";", ",").encode(), "separator"),
    "missing column": (lambda t: drop_column(t, 2), "marital"),
    "extra column": (add_column, "surprise"),
    "wrong type": (lambda t: replace_in_row(t, 1, "30;", "thirty;"), "age"),
    "out-of-range value": (lambda t: replace_in_row(t, 1, "30;", "130;"), "age"),
    "unknown category": (lambda t: replace_in_row(t, 1, '"unemployed"', '"astronaut"'), "job"),
    "empty file": (lambda t: b"", "empty"),
    "header only": (lambda t: (t.splitlines()[0] + "\n").encode(), "enough_rows"),
    "non-UTF-8 bytes": (lambda t: replace_in_row(t, 1, '"married"', '"mari\xe9"').decode().encode("latin-1"), "UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_csv_is_refused_and_the_lake_is_unchanged(
    case: str, invoke: Invoke, loaded_project: Path, bank_zip: Path, tmp_path: Path
) -> None:
    change, expected = BAD_FILES[case]
    before = current_snapshot_id(loaded_project)
    result = invoke("lake", "load", "--csv", str(bad_csv(bank_zip, tmp_path, change)))
    assert result.exit_code == 1, result.output
    assert expected.lower() in result.output.lower()
    assert "Traceback" not in result.output
    assert current_snapshot_id(loaded_project) == before


def test_append_mode_adds_one_snapshot_with_the_new_rows(invoke: Invoke, loaded_project: Path, bank_zip: Path) -> None:
    before = current_snapshot_id(loaded_project)
    result = invoke(
        "lake", "load", "--mode", "append", "--csv", str(write_sample_csv(bank_zip, loaded_project / "b.csv"))
    )
    assert result.exit_code == 0, result.output
    config = project_config(loaded_project)
    with open_lake(config) as lake:
        snapshots = lake.snapshots(config.lake.table)
        assert [s.snapshot_id for s in snapshots][-2] == before
        assert len(lake.read_increment(config.lake.table, before)) == 4_521
        assert len(lake.read(config.lake.table)) == 2 * 4_521


def test_quarantine_loads_valid_rows_and_keeps_the_bad_ones(
    invoke: Invoke, loaded_project: Path, bank_zip: Path, tmp_path: Path
) -> None:
    path = bad_csv(bank_zip, tmp_path, lambda t: replace_in_row(t, 1, '"unemployed"', '"astronaut"'))
    result = invoke("lake", "load", "--csv", str(path), "--quarantine")
    assert result.exit_code == 0, result.output
    config = project_config(loaded_project)
    with open_lake(config) as lake:
        assert len(lake.read(config.lake.table)) == 4_520
        quarantined = lake.read(config.lake.quarantine_table)
    assert quarantined["job"].tolist() == ["astronaut"]
    assert "isin" in quarantined["_failed_checks"].iloc[0]
    report = json.loads((loaded_project / "reports" / "load.json").read_text())
    assert report["passed"] is False


def test_the_typed_table_has_contract_types(loaded_project: Path) -> None:
    config = project_config(loaded_project)
    with open_lake(config) as lake:
        schema = lake.schema(config.lake.table)
    assert str(schema.field("age").type) == "int64"
    assert str(schema.field("job").type) in ("string", "large_string")

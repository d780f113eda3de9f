"""The configuration says no to bad values: one clear line naming the key, exit code 1 from any command."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cml_mlops.cli import cli
from cml_mlops.config import load_config
from cml_mlops.errors import ConfigError
from cml_mlops.metrics import METRIC_RANGES

MINIMAL = {
    "project": {"name": "demo", "package": "demo"},
    "data": {"url": "https://example.com/data.zip", "member": "data.csv", "sha256": "ab" * 32},
    "lake": {"namespace": "demo", "table": "rows"},
    "tracking": {"experiment": "demo", "model_name": "demo"},
}


def write_config(folder: Path, content: dict[str, object] | str | bytes) -> Path:
    path = folder / "cml-mlops.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content), encoding="utf-8")
    return folder


def with_section(section: str, values: dict[str, object]) -> dict[str, object]:
    return {**MINIMAL, section: values}


def refusal(folder: Path) -> str:
    """Run a command that loads the config; assert the one-line refusal and return it."""
    result = CliRunner().invoke(cli, ["--project-dir", str(folder), "validate"])
    assert result.exit_code == ConfigError.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


BAD = [
    (with_section("gates", {"floors": {"roc_auc": 75}}), "gates.floors", "roc_auc 75.0 is outside [0, 1]"),
    (with_section("gates", {"floors": {"log_loss": -0.1}}), "gates.floors", "log_loss -0.1 is outside"),
    (with_section("gates", {"baseline_margin": {"roc_auc": 1.5}}), "gates.baseline_margin", "outside [0, 1]"),
    (with_section("gates", {"segments": {"floors": {"f1": 2}}}), "gates.segments.floors", "f1 2.0 is outside"),
    (with_section("monitoring", {"floors": {"roc_auc": -0.2}}), "monitoring.floors", "roc_auc -0.2 is outside"),
    (with_section("monitoring", {"ceilings": {"ece": 3}}), "monitoring.ceilings", "ece 3.0 is outside"),
    (with_section("monitoring", {"schedule": "0 25 * * *"}), "monitoring.schedule", "out of range"),
    (with_section("monitoring", {"schedule": "@daily"}), "monitoring.schedule", "five fields"),
    (with_section("monitoring", {"schedule": "0 6 * *"}), "monitoring.schedule", "five fields"),
]


@pytest.mark.parametrize(("content", "key", "message"), BAD)
def test_bad_values_are_refused_naming_the_key(
    tmp_path: Path, content: dict[str, object], key: str, message: str
) -> None:
    line = refusal(write_config(tmp_path, content))
    assert key in line
    assert message in line


def test_good_values_load(tmp_path: Path) -> None:
    content = {
        **MINIMAL,
        "gates": {"floors": {"roc_auc": 0.75, "log_loss": 0.5}, "baseline_margin": {"roc_auc": 0.05}},
        "monitoring": {"schedule": "*/15 6-18 * * 1-5", "ceilings": {"brier": 0.2}},
    }
    config = load_config(write_config(tmp_path, content), environ={})
    assert config.monitoring.schedule == "*/15 6-18 * * 1-5"
    assert config.gates.floors == {"roc_auc": 0.75, "log_loss": 0.5}


@given(
    metric=st.sampled_from(sorted(name for name, (_, high) in METRIC_RANGES.items() if high == 1.0)),
    value=st.floats(allow_nan=False, allow_infinity=False),
)
def test_a_bounded_metric_floor_loads_exactly_when_inside_its_range(metric: str, value: float) -> None:
    from cml_mlops.config import SegmentsSection

    inside = 0.0 <= value <= 1.0
    try:
        SegmentsSection(floors={metric: value})
    except ValueError as exc:
        assert not inside, exc
        assert f"{metric} " in str(exc)
    else:
        assert inside


def test_a_non_utf8_byte_gets_one_line_naming_where(tmp_path: Path) -> None:
    text = yaml.safe_dump(MINIMAL).replace("name: demo", "name: d\xe9mo")
    line = refusal(write_config(tmp_path, text.encode("latin-1")))
    assert "not UTF-8" in line
    assert "byte 0xe9" in line
    assert "save it as UTF-8" in line


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (yaml.safe_dump(MINIMAL) + "data:\n  url: https://example.com/other.zip\n", "'data'"),
        (yaml.safe_dump(MINIMAL).replace("  member: data.csv\n", "  member: a.csv\n  member: b.csv\n"), "'member'"),
    ],
    ids=["section", "field"],
)
def test_duplicate_keys_are_refused(tmp_path: Path, text: str, key: str) -> None:
    line = refusal(write_config(tmp_path, text))
    assert f"duplicate key {key}" in line
    assert "line " in line


def test_invalid_yaml_is_one_line(tmp_path: Path) -> None:
    line = refusal(write_config(tmp_path, "project: {name: [unclosed\n"))
    assert "not valid YAML" in line
    assert "line " in line


def test_an_empty_environment_value_clears_the_checksum(tmp_path: Path) -> None:
    folder = write_config(tmp_path, MINIMAL)
    assert load_config(folder, environ={}).data.sha256 == "ab" * 32
    assert load_config(folder, environ={"CML_MLOPS_DATA_SHA256": ""}).data.sha256 == ""


def test_other_empty_environment_values_are_ignored(tmp_path: Path) -> None:
    """GitHub passes an unset `${{ vars.X }}` as an empty variable: that must not wipe the file's setting."""
    folder = write_config(tmp_path, {**MINIMAL, "simulation": {"rows": 50}, "cml": {"workspace_url": "https://w.x"}})
    empty = {"CML_MLOPS_SIMULATION_ROWS": "", "CML_MLOPS_CML_WORKSPACE_URL": "", "CML_MLOPS_DATA_URL": ""}
    config = load_config(folder, environ=empty)
    assert (config.simulation.rows, config.cml.workspace_url) == (50, "https://w.x")
    assert config.data.url == "https://example.com/data.zip"
    assert (
        config.monitoring.dsn is None
        and load_config(folder, environ={"CML_MLOPS_MONITORING_DSN": ""}).monitoring.dsn is None
    )

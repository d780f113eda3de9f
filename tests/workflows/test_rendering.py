"""Cookiecutter renders the workflow files without touching GitHub's `${{ }}` expressions (checked on baked output)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import bake
from tests.template.bakery import LEFTOVER_MARKUP, TEMPLATE_DIR, TEMPLATE_PROJECT
from tests.workflows.workflows import BIN, EXPRESSION, load, workflow_files

TEMPLATE_WORKFLOWS = TEMPLATE_PROJECT / ".github" / "workflows"


def copied_verbatim() -> list[str]:
    return json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))["_copy_without_render"]


def test_workflows_without_template_variables_are_copied_byte_for_byte(baked_project: Path) -> None:
    names = copied_verbatim()
    assert sorted(Path(name).name for name in names) == ["ci.yml", "deploy.yml", "retrain.yml"]
    for name in names:
        assert (baked_project / name).read_bytes() == (TEMPLATE_PROJECT / name).read_bytes(), name
        assert LEFTOVER_MARKUP.search((TEMPLATE_PROJECT / name).read_text(encoding="utf-8")) is None, name


def test_every_expression_survives_rendering(baked_project: Path) -> None:
    for source in sorted(TEMPLATE_WORKFLOWS.glob("*.yml")):
        rendered = (baked_project / ".github" / "workflows" / source.name).read_text(encoding="utf-8")
        expected = EXPRESSION.findall(source.read_text(encoding="utf-8"))
        assert expected, source.name
        assert EXPRESSION.findall(rendered) == expected, source.name
        assert LEFTOVER_MARKUP.search(rendered) is None, source.name


def cron_field(low: int, high: int) -> st.SearchStrategy[str]:
    single = st.integers(low, high).map(str)
    ranged = st.tuples(st.integers(low, high), st.integers(low, high)).map(lambda p: f"{min(p)}-{max(p)}")
    stepped = st.integers(1, high).map(lambda n: f"*/{n}")
    return st.one_of(st.just("*"), single, ranged, stepped)


# GitHub runs a schedule at most every 5 minutes (actionlint refuses more often): a minute, or every 5-30 minutes.
MINUTE = st.one_of(st.integers(0, 59).map(str), st.sampled_from([5, 10, 15, 20, 30]).map(lambda n: f"*/{n}"))
CRON = st.tuples(MINUTE, cron_field(0, 23), cron_field(1, 31), cron_field(1, 12), cron_field(0, 6)).map(" ".join)


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cron=CRON)
def test_the_monitoring_prompt_becomes_the_schedule(tmp_path_factory: pytest.TempPathFactory, cron: str) -> None:
    project = bake(tmp_path_factory.mktemp("cron"), monitoring_cron=cron)
    monitor = project / ".github" / "workflows" / "monitor.yml"
    assert load(monitor)["on"]["schedule"] == [{"cron": cron}]
    assert f"`{cron}` (UTC)" in (project / "README.md").read_text(encoding="utf-8")
    linted = subprocess.run(
        [str(BIN / "actionlint"), "-no-color", str(monitor)], cwd=project, capture_output=True, text=True, timeout=60
    )
    assert linted.returncode == 0, linted.stdout
    assert workflow_files(project)

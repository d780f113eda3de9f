"""The CLI starts fast: `--help` and the light commands import no heavy library (issue 14).

Each check runs the CLI in a fresh interpreter (so that nothing the test process imported counts) and reads
`sys.modules` after the command ends. The listing's short help comes from the lazy command tables; the tests
here also keep those tables equal to the commands' own docstrings.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cml_mlops.cli import COMMANDS, cli
from cml_mlops.cli_support import CleanErrorsGroup
from cml_mlops.lake.command import lake

# Libraries that take seconds to import on a 2-core machine: no command may pay for them before it needs them.
MODEL_LIBRARIES = frozenset({"mlflow", "sklearn", "scipy", "matplotlib", "fastapi", "uvicorn"})
DATA_LIBRARIES = frozenset({"pandas", "pandera", "pyiceberg", "pyarrow", "sqlalchemy", "alembic"})
FORBIDDEN_AT_HELP = MODEL_LIBRARIES | DATA_LIBRARIES | {"numpy", "requests", "pydantic", "yaml", "jinja2"}

# Command modules that still import libraries at module level, so that their own `--help` pays for them.
# The debt may only shrink: a module that imports anything more, or any other command that imports one of
# FORBIDDEN_AT_HELP for its `--help`, fails test_each_commands_help_imports_only_what_is_known.
HELP_IMPORTS_KNOWN = {
    "ingest": {"requests", "pydantic", "yaml"},
    "lake": {"pandas", "pandera", "pyiceberg", "pyarrow", "numpy", "sqlalchemy", "pydantic", "yaml"},  # lake/__init__
    "cml": {"requests", "pydantic", "yaml"},
    "cml-emulator": {"requests", "pydantic", "yaml"},
    "contract": {"pandas", "pandera", "pyarrow", "numpy", "pydantic", "yaml"},
    "newbatch": {"pandas", "pandera", "pyiceberg", "pyarrow", "numpy", "sqlalchemy", "pydantic", "yaml"},
}
# These import MLflow or scikit-learn for `--help` (their modules import the step's code at the top): not checked
# until they are made light, as any import set would pass.
HELP_NOT_YET_LIGHT = frozenset({"eda", "train", "gate", "retrain", "lifecycle", "simulate", "monitor", "report"})

_PROBE = """
import json, sys
from cml_mlops.cli import cli
try:
    cli(sys.argv[1:], prog_name="cml-mlops")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
top_level = sorted({name.split(".")[0] for name in sys.modules})
print("\\n" + json.dumps({"exit_code": code, "modules": top_level}))
"""


# pandera imports pyspark.pandas (and with it scipy) whenever pyspark is installed, as it is with the `spark` extra:
# that cost is pandera's, so it is counted as pandera's. Without the extra (the embedded default) it is not paid.
PANDERA_WITH_PYSPARK = frozenset({"pyspark", "scipy"}) if importlib.util.find_spec("pyspark") else frozenset()


def imported_by(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    """Exit code of `cml-mlops ARGS` in a fresh interpreter, and the top-level packages it imported."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.stdout.strip(), done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    modules = set(result["modules"])
    return result["exit_code"], modules - PANDERA_WITH_PYSPARK if "pandera" in modules else modules


def test_help_lists_every_command_and_imports_no_heavy_library() -> None:
    code, modules = imported_by("--help")
    assert code == 0
    assert modules & FORBIDDEN_AT_HELP == set()


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - HELP_NOT_YET_LIGHT))
def test_each_commands_help_imports_only_what_is_known(name: str) -> None:
    code, modules = imported_by(name, "--help")
    assert code == 0
    assert modules & FORBIDDEN_AT_HELP <= HELP_IMPORTS_KNOWN.get(name, set())


def test_serving_status_and_undeploy_with_nothing_deployed_import_no_model_library(
    baked_project: Path, tmp_path: Path
) -> None:
    env = {"CML_MLOPS_SERVING_STATE_DIR": str(tmp_path / "serving")}
    for command in ("serving-status", "undeploy"):
        code, modules = imported_by(command, cwd=baked_project, env=env)
        assert code == 0, command
        # The config (pydantic, yaml) and requests (the health check of a deployment) are needed.
        assert modules & (FORBIDDEN_AT_HELP - {"pydantic", "yaml", "requests"}) == set(), command


def test_lake_snapshots_imports_no_model_library(baked_project: Path, tmp_path: Path) -> None:
    env = {
        "CML_MLOPS_LAKE_CATALOG_URI": f"sqlite:///{tmp_path}/catalog.db",
        "CML_MLOPS_LAKE_WAREHOUSE": str(tmp_path / "warehouse"),
    }
    code, modules = imported_by("lake", "snapshots", cwd=baked_project, env=env)
    assert code == 1  # no table yet: a clean error, after opening the lake
    assert modules & MODEL_LIBRARIES == set()


def _groups() -> list[CleanErrorsGroup]:
    return [cli, lake]


@pytest.mark.parametrize("group", _groups(), ids=lambda group: group.name)
def test_the_tables_short_help_is_the_commands_own(group: CleanErrorsGroup) -> None:
    for name, lazy in group.lazy_commands.items():
        command = lazy.load()
        assert command.help is not None, name
        first_paragraph = command.help.split("\n\n")[0]
        assert " ".join(lazy.short_help.split()) == " ".join(first_paragraph.split()), name


@pytest.mark.parametrize("group", _groups(), ids=lambda group: group.name)
def test_the_listing_is_what_click_shows_for_the_loaded_commands(group: CleanErrorsGroup) -> None:
    eager = {name: command for name, command in group.commands.items() if name not in group.lazy_commands}
    fresh = CleanErrorsGroup(group.name, commands=eager, lazy_commands=group.lazy_commands, params=group.params)
    fresh.help = group.help
    with click.Context(fresh, info_name=group.name) as ctx:
        lazy_listing = fresh.get_help(ctx)
        assert set(fresh.commands) == set(eager)  # the listing loaded no lazy command
        loaded = {name: fresh.get_command(ctx, name) for name in fresh.list_commands(ctx)}
    plain = click.Group(group.name, commands=loaded, params=group.params, help=group.help)
    with click.Context(plain, info_name=group.name) as ctx:
        assert lazy_listing == plain.get_help(ctx)

"""Error hints name options that exist: on the command that shows them (run) and in the code (read)."""

from __future__ import annotations

import ast
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import cml_mlops
from cml_mlops.cli import COMMANDS, cli
from tests.conftest import BANK_SAMPLE_SHA256, bake

OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
SOURCE = Path(cml_mlops.__file__).parent


def options_of(command: click.Command) -> set[str]:
    return {name for param in command.params for name in param.opts + param.secondary_opts if name.startswith("--")}


def walk(group: click.Group, ctx: click.Context) -> Iterator[click.Command]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        yield command
        if isinstance(command, click.Group):
            yield from walk(command, ctx)


def named_options(path: Path) -> set[str]:
    """`--options` that a module's messages name: not its declarations (`"--csv"` alone) nor docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    named = set()
    for node in ast.walk(tree):
        message = isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        if message and not OPTION.fullmatch(node.value):
            named |= set(OPTION.findall(node.value))
    return named


def test_every_option_named_in_the_library_exists_on_its_command() -> None:
    """A command module names only its own (or the root group's) options; other modules only existing ones."""
    ctx = click.Context(cli)
    root = options_of(cli) | {"--help", "--version"}
    everywhere = set(root)
    by_module: dict[str, set[str]] = {}
    for command in walk(cli, ctx):
        module = command.callback.__module__ if command.callback else ""
        by_module.setdefault(module, set()).update(options_of(command))
        everywhere |= options_of(command)
    problems = []
    for path in sorted(SOURCE.rglob("*.py")):
        module = "cml_mlops." + ".".join(path.relative_to(SOURCE).with_suffix("").parts)
        allowed = root | by_module[module] if module in by_module else everywhere
        for option in sorted(named_options(path) - allowed):
            problems.append(f"{module} names {option}")
    assert not problems, problems
    assert by_module, COMMANDS


@pytest.fixture
def lake_project(tmp_path: Path, bank_zip: Path) -> Path:
    project = bake(tmp_path, dataset_member="bank.csv", dataset_sha256=BANK_SAMPLE_SHA256)
    with zipfile.ZipFile(bank_zip) as archive:
        text = archive.read("bank.csv").decode("utf-8")
    (project / "latin1.csv").write_bytes(text.replace('"married"', '"mari\xe9"', 1).encode("latin-1"))
    (project / "commas.csv").write_text(text.replace(";", ","), encoding="utf-8")
    return project


@pytest.mark.parametrize(("csv", "expected"), [("latin1.csv", "not valid utf-8"), ("commas.csv", "wrong separator")])
def test_lake_load_hints_name_its_own_options_and_settings(lake_project: Path, csv: str, expected: str) -> None:
    args = ["--project-dir", str(lake_project), "lake", "load", "--csv", str(lake_project / csv)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert expected in result.output
    lake = cli.get_command(click.Context(cli), "lake")
    assert isinstance(lake, click.Group)
    load = lake.get_command(click.Context(lake), "load")
    assert load is not None
    existing = options_of(cli) | options_of(load)
    assert set(OPTION.findall(result.output)) <= existing, result.output
    assert re.search(r"data\.(encoding|separator) in cml-mlops\.yaml", result.output)

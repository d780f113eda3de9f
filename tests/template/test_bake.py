"""Bake the template for every option and check what comes out: files, markup, syntax, and its own tests."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

from ci.lifecycle import REPO_ROOT
from tests.conftest import bake
from tests.template.bakery import (
    LEFTOVER_MARKUP,
    choice_matrix,
    expected_files,
    generated_files,
    library_requirement,
    rendered_defaults,
    template_variables,
)

MATRIX = choice_matrix()


def matrix_id(options: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in options.items())


@pytest.fixture(scope="module", params=MATRIX, ids=[matrix_id(options) for options in MATRIX])
def matrix_bake(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    options: dict[str, str] = request.param
    project = bake(tmp_path_factory.mktemp("bake"), **options)
    context = rendered_defaults(**options, cml_mlops_requirement=library_requirement())
    return project, context


def test_the_matrix_covers_every_choice() -> None:
    choices = {name: set(v) for name, v in template_variables().items() if isinstance(v, list)}
    assert choices, "cookiecutter.json has no choice prompt"
    for name, values in choices.items():
        assert {options[name] for options in MATRIX if name in options} == values


def test_the_bake_has_exactly_the_expected_files(matrix_bake: tuple[Path, dict]) -> None:
    project, context = matrix_bake
    assert set(generated_files(project)) == expected_files(context)


def test_no_template_markup_is_left(matrix_bake: tuple[Path, dict]) -> None:
    project, _ = matrix_bake
    leftovers = {
        name: LEFTOVER_MARKUP.findall(text)
        for name, text in generated_files(project).items()
        if LEFTOVER_MARKUP.search(text)
    }
    assert leftovers == {}


def test_every_structured_file_parses(matrix_bake: tuple[Path, dict]) -> None:
    project, _ = matrix_bake
    parsers = {
        ".py": ast.parse,
        ".toml": tomllib.loads,
        ".yaml": yaml.safe_load,
        ".yml": yaml.safe_load,
        ".json": json.loads,
        ".ipynb": lambda text: nbformat.validate(nbformat.reads(text, as_version=4)),
    }
    checked = 0
    for name, text in generated_files(project).items():
        parser = parsers.get(Path(name).suffix)
        if parser is not None:
            parser(text)
            checked += 1
    assert checked >= 8


def test_the_project_depends_on_the_library_it_was_given(matrix_bake: tuple[Path, dict]) -> None:
    project, _ = matrix_bake
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["dependencies"] == [library_requirement()]


def test_the_generated_code_passes_its_own_linter(matrix_bake: tuple[Path, dict], tmp_path: Path) -> None:
    project = Path(shutil.copytree(matrix_bake[0], tmp_path / "project"))
    ruff = str(Path(sys.executable).with_name("ruff"))
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = subprocess.run([ruff, *args], cwd=project, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_the_projects_own_tests_pass_inside_the_bake(matrix_bake: tuple[Path, dict], tmp_path: Path) -> None:
    # On a copy: running tests leaves caches that the file checks of the shared bake must not see.
    project = Path(shutil.copytree(matrix_bake[0], tmp_path / "project"))
    # Right after generation, offline: no PYTHONPATH (pytest's own config finds src/), no package index.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | {"PIP_NO_INDEX": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def test_the_projects_library_is_this_checkout(matrix_bake: tuple[Path, dict]) -> None:
    """The bake's requirement points at this checkout, and the interpreter that runs its tests imports it from here."""
    project, _ = matrix_bake
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["pytest"]["ini_options"]["pythonpath"] == ["src"]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    found = subprocess.run(
        [sys.executable, "-c", "import cml_mlops; print(cml_mlops.__file__)"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(found).resolve().is_relative_to(REPO_ROOT / "src"), found

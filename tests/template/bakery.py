"""Helpers for baking the template in tests: its prompts, rendered defaults and generated files."""

from __future__ import annotations

import re
from pathlib import Path

from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

from ci.lifecycle import REPO_ROOT, TEMPLATE_DIR, choice_matrix, template_variables

TEMPLATE_PROJECT = next(TEMPLATE_DIR.glob("{{*}}"))
# Leftover template markup; GitHub Actions' own `${{ }}` is legitimate output.
LEFTOVER_MARKUP = re.compile(r"cookiecutter\.|\{%|(?<!\$)\{\{")


def rendered_defaults(**overrides: str) -> dict[str, object]:
    """The context cookiecutter would use with no input: defaults rendered, first choice taken."""
    context = generate_context(str(TEMPLATE_DIR / "cookiecutter.json"), extra_context=overrides)
    return dict(prompt_for_config(context, no_input=True))


def expected_files(context: dict[str, object]) -> set[str]:
    """Paths the bake must produce: every template file with its path rendered, nothing else."""
    files = set()
    for path in TEMPLATE_PROJECT.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            relative = str(path.relative_to(TEMPLATE_PROJECT))
            files.add(re.sub(r"\{\{\s*cookiecutter\.(\w+)\s*\}\}", lambda m: str(context[m.group(1)]), relative))
    return files


def generated_files(project: Path) -> dict[str, str]:
    """Relative path -> text of every file a bake produced."""
    return {
        str(path.relative_to(project)): path.read_text(encoding="utf-8")
        for path in sorted(project.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and ".pytest_cache" not in path.parts
    }


def library_requirement() -> str:
    return f"cml-mlops @ {REPO_ROOT.as_uri()}"


__all__ = ["choice_matrix", "template_variables"]

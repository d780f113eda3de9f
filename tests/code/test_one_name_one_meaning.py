"""One rule in one place: no two classes share a name, and JSON objects have one type alias."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from ci.lifecycle import REPO_ROOT

SOURCES = [REPO_ROOT / "src", REPO_ROOT / "ci"]


def modules() -> list[tuple[Path, ast.Module]]:
    paths = sorted(path for root in SOURCES for path in root.rglob("*.py"))
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in paths]


def test_no_two_classes_share_a_name() -> None:
    where: dict[str, list[str]] = defaultdict(list)
    for path, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    shared = {name: places for name, places in where.items() if len(places) > 1 and name != "Config"}
    assert shared == {}  # pandera's inner `class Config` is a pandera convention, not ours to rename


def targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def test_json_dict_is_defined_once() -> None:
    definitions = [
        f"{path.relative_to(REPO_ROOT)}:{node.lineno}"
        for path, tree in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and any(isinstance(t, ast.Name) and t.id == "JsonDict" for t in targets(node))
    ]
    assert definitions == ["src/cml_mlops/json_types.py:7"]

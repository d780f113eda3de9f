"""The effective configuration, setting by setting, with where each value came from (default, file, profile, env).

Secrets are masked: `SecretStr` settings show as `**********` whatever their source.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cml_mlops.config import (
    CONFIG_FILENAME,
    SECTIONS,
    ProjectConfig,
    env_name,
    env_overrides,
    find_project_root,
    load_config,
    read_yaml,
)

MASK = "**********"


@dataclass(frozen=True)
class Setting:
    key: str  # dotted: gates.floors.roc_auc
    value: Any
    source: str  # "default", "file", "profile <name>" or "env <VARIABLE>"


def explain_config(
    project_dir: Path | None = None, profile: str | None = None, environ: Mapping[str, str] | None = None
) -> tuple[ProjectConfig, list[Setting]]:
    """The validated config and every leaf setting with its source, in the config's order."""
    env = os.environ if environ is None else environ
    config = load_config(project_dir, profile, env)
    raw = read_yaml(find_project_root(project_dir) / CONFIG_FILENAME)
    overrides = (raw.pop("profiles", None) or {}).get(config.profile) or {}
    settings = []
    for key, value in _leaves(config.model_dump(mode="json", exclude={"root", "profile"})):
        settings.append(Setting(".".join(key), _masked(config, key, value), _source(key, raw, overrides, env, config)))
    return config, settings


def render_settings(settings: list[Setting]) -> str:
    """One line per setting: `key: value  # source`, aligned."""
    rows = [(f"{s.key}: {_text(s.value)}", s.source) for s in settings]
    width = min(60, max((len(left) for left, _ in rows), default=0))  # a long URL does not push every comment away
    return "\n".join(f"{left.ljust(width)}  # {source}" for left, source in rows)


def _leaves(tree: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(tree, dict) and tree:
        return [leaf for name, value in tree.items() for leaf in _leaves(value, (*prefix, str(name)))]
    return [(prefix, tree)]


def _source(
    key: tuple[str, ...], raw: dict[str, Any], overrides: dict[str, Any], env: Mapping[str, str], config: ProjectConfig
) -> str:
    if len(key) >= 2 and key[0] in SECTIONS and key[1] in SECTIONS[key[0]].model_fields:
        variable = env_name(key[0], key[1])
        if env_overrides(key[0], key[1], env.get(variable)):
            return f"env {variable}"
    if _has(overrides, key):
        return f"profile {config.profile}"
    if _has(raw, key):
        return "file"
    return "default"


def _has(tree: Any, key: tuple[str, ...]) -> bool:
    for part in key:
        if not isinstance(tree, dict) or part not in tree:
            return False
        tree = tree[part]
    return True


def _masked(config: ProjectConfig, key: tuple[str, ...], value: Any) -> Any:
    """SecretStr settings never show their value (pydantic already masks them; None stays None)."""
    section = getattr(config, key[0], None)
    field = type(section).model_fields.get(key[1]) if len(key) >= 2 and section is not None else None
    if field is not None and "SecretStr" in str(field.annotation) and value is not None:
        return MASK
    return value


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value) if value == "" or value != value.strip() else value
    return str(value)

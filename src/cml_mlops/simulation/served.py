"""What the simulation needs to know about the served model version, from the registry."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cml_mlops.config import ProjectConfig
from cml_mlops.project import load_feature_spec
from cml_mlops.registry import get_version, version_tags
from cml_mlops.simulation.errors import SimulationError
from cml_mlops.tracking import Tag


@dataclass(frozen=True)
class ServedVersion:
    """A registered version as training described it: its inputs, target, positive label and data snapshot."""

    model_name: str
    version: str
    run_id: str
    features: list[str]
    target: str
    positive_label: str
    snapshot_id: int | None


def served_version(config: ProjectConfig, version: str) -> ServedVersion:
    """The registry's record of `version`: tags of the version, completed by those of its training run."""
    found = get_version(config, version)
    tags = version_tags(config, found)
    if Tag.FEATURES not in tags:
        raise SimulationError(
            f"{found.name} version {found.version} has no {Tag.FEATURES} tag: it was not trained by cml-mlops, so "
            "the simulation cannot tell which columns to send"
        )
    spec = load_feature_spec(config)
    snapshot = tags.get(Tag.SNAPSHOT)
    return ServedVersion(
        model_name=found.name,
        version=str(found.version),
        run_id=str(found.run_id or ""),
        features=list(json.loads(tags[Tag.FEATURES])),
        target=str(tags.get(Tag.TARGET) or spec.target),
        positive_label=str(tags.get(Tag.POSITIVE_LABEL) or spec.positive_label),
        snapshot_id=int(snapshot) if snapshot not in (None, "") else None,
    )

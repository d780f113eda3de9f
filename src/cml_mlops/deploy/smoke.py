"""What a deploy smoke test scores: a record the contract accepts, with the model version's input columns."""

from __future__ import annotations

import json
from typing import Any

from cml_mlops.config import ProjectConfig
from cml_mlops.deploy.base import DeployError
from cml_mlops.project import load_project_module
from cml_mlops.registry import get_version, version_tags
from cml_mlops.serving.validation import RowValidator
from cml_mlops.tracking import Tag


def smoke_record(config: ProjectConfig, version: str) -> dict[str, Any]:
    """A record (field -> value) that passes the contract's checks, for the columns `version` takes."""
    contract = load_project_module(config, "contracts").RawRecord
    return RowValidator.from_contract(contract, model_features(config, version)).example_record()


def model_features(config: ProjectConfig, version: str) -> list[str]:
    """The model's input columns, as training recorded them (on the version, else on its run)."""
    tags = version_tags(config, get_version(config, version))
    if Tag.FEATURES not in tags:
        raise DeployError(f"version {version} has no {Tag.FEATURES} tag: it was not trained by cml-mlops")
    return list(json.loads(tags[Tag.FEATURES]))

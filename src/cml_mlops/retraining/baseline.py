"""The version a retrained model challenges, and the lake snapshot that version was trained on.

The champion (alias `champion`, moved by a successful deploy) normally; before any deploy, the newest version that
passed the gate. Its training snapshot comes from the tag training recorded on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from cml_mlops.config import ProjectConfig
from cml_mlops.errors import CmlMlopsError
from cml_mlops.registry import PASSED, alias_version
from cml_mlops.tracking import CHAMPION, VALIDATION_STATUS, Tag, TrackingError, configure_mlflow, search_quoted


class RetrainError(CmlMlopsError):
    """Retraining cannot start (nothing to challenge, no lineage to follow); nothing was trained or registered."""


@dataclass(frozen=True)
class Baseline:
    """The version retraining challenges: `alias` is "champion", or None for the newest gated version."""

    version: str
    alias: str | None
    snapshot_id: int

    def describe(self) -> str:
        kind = "champion" if self.alias else "newest version that passed the gate (no champion yet)"
        return f"version {self.version}, the {kind}"


def find_baseline(config: ProjectConfig) -> Baseline:
    """The champion, else the newest gated version, with its training snapshot; RetrainError when there is none."""
    found = alias_version(config, CHAMPION)
    alias: str | None = CHAMPION
    if found is None:
        alias = None
        found = newest_gated_version(config)
    if found is None:
        raise RetrainError(
            f"nothing to retrain against: {config.tracking.model_name} has no champion and no version that passed "
            "the gate. Run `cml-mlops train`, `cml-mlops gate` and `cml-mlops deploy` first."
        )
    return Baseline(str(found.version), alias, _training_snapshot(config, found))


def newest_gated_version(config: ProjectConfig) -> ModelVersion | None:
    client = configure_mlflow(config)
    name = config.tracking.model_name
    try:
        versions = client.search_model_versions(f"name = '{search_quoted(name)}'", order_by=["version_number DESC"])
    except MlflowException as exc:
        raise TrackingError(f"cannot list the versions of {name}: {exc.message}") from None
    return next((v for v in versions if (v.tags or {}).get(VALIDATION_STATUS) == PASSED), None)


def _training_snapshot(config: ProjectConfig, version: ModelVersion) -> int:
    recorded = (version.tags or {}).get(Tag.SNAPSHOT)
    if recorded is None and version.run_id:
        recorded = configure_mlflow(config).get_run(version.run_id).data.tags.get(Tag.SNAPSHOT)
    try:
        return int(str(recorded))
    except ValueError:
        raise RetrainError(
            f"{config.tracking.model_name} version {version.version} does not record the lake snapshot it was "
            f"trained on (tag {Tag.SNAPSHOT} is {recorded!r}), so there is no increment to follow: train on the "
            "whole table with `cml-mlops train` instead."
        ) from None

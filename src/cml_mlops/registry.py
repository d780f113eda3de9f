"""The model registry of the project's model: registering training runs, aliases and gate records.

Training registers its selected run here; the gate records its verdict on the version and sets `challenger`;
deployment moves `champion`. Versions can be given as a ModelVersion, or as a version number (int or text).
"""

from __future__ import annotations

import time

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from cml_mlops.config import ProjectConfig
from cml_mlops.tracking import (
    GATE_REPORT,
    MODEL_ARTIFACT,
    VALIDATION_STATUS,
    Tag,
    TrackingError,
    configure_mlflow,
    search_quoted,
)

VersionRef = ModelVersion | str | int
PASSED = "passed"
FAILED = "failed"
# When things happened to a version (epoch seconds): MLflow keeps no history of tags or aliases, so each event
# stamps its time on the version; the monitoring dashboard's event markers read these (cml_mlops.monitoring.events).
GATED_AT = "cml_mlops.gate.at"
ALIAS_SET_AT = "cml_mlops.alias.{alias}.set_at"
# Run tags that a model version carries too, so that the registry alone tells what a version is.
COPIED_TAGS = (
    Tag.THRESHOLD,
    Tag.POSITIVE_LABEL,
    Tag.NEGATIVE_LABEL,
    Tag.FEATURES,
    Tag.TARGET,
    Tag.TABLE,
    Tag.SNAPSHOT,
    Tag.CONTRACT_VERSION,
    Tag.CANDIDATE,
)
REQUIRED_TAGS = (Tag.THRESHOLD, Tag.POSITIVE_LABEL, Tag.NEGATIVE_LABEL, Tag.FEATURES)


def register_run(config: ProjectConfig, run_id: str) -> ModelVersion:
    """Register `runs:/<run_id>/model` as a version of the project's model; the existing version if already done.

    The version carries the run's conventions as tags (run id, data snapshot, threshold, contract version...).
    A run without a logged model or without the tags `load_model_version` needs is refused (TrackingError)
    before anything is registered.
    """
    client = configure_mlflow(config)
    name = config.tracking.model_name
    existing = _versions_of_run(client, name, run_id)
    if existing:
        return existing[0]
    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        raise TrackingError(f"cannot register run {run_id!r}: no such run ({exc.message})") from None
    missing = [key for key in REQUIRED_TAGS if key not in run.data.tags]
    if missing:
        raise TrackingError(
            f"cannot register run {run_id}: it lacks the tags {', '.join(missing)}; register runs of `cml-mlops train`"
        )
    model_id = _logged_model_id(client, run_id)
    if model_id is None:
        raise TrackingError(f"cannot register run {run_id}: it has no logged model named {MODEL_ARTIFACT!r}")
    tags = {key: run.data.tags[key] for key in COPIED_TAGS if key in run.data.tags}
    tags[Tag.RUN_ID] = run_id
    try:
        # MLflow 3 keeps a run's model as a LoggedModel: `models:/<id>` is what `runs:/<run_id>/model` resolves to,
        # without the warning that the run has no such artifact folder. The version still records the run id.
        return mlflow.register_model(f"models:/{model_id}", name, tags=tags)
    except MlflowException as exc:
        raise TrackingError(f"cannot register run {run_id} as {name}: {exc.message}") from None


def set_alias(config: ProjectConfig, version: VersionRef, alias: str) -> None:
    """Point `alias` (e.g. challenger, champion) at a version; the alias moves from wherever it was."""
    client = configure_mlflow(config)
    number = _number(version)
    try:
        client.set_registered_model_alias(config.tracking.model_name, alias, number)
        client.set_model_version_tag(config.tracking.model_name, number, ALIAS_SET_AT.format(alias=alias), _now())
    except MlflowException as exc:
        raise TrackingError(
            f"cannot set alias {alias!r} on {config.tracking.model_name} version {number}: {exc.message}"
        ) from None


def remove_alias(config: ProjectConfig, alias: str) -> None:
    """Remove `alias` from the model (nothing happens when it is not set): to undo a step that set it."""
    client = configure_mlflow(config)
    if alias_version(config, alias) is None:
        return
    client.delete_registered_model_alias(config.tracking.model_name, alias)


def alias_version(config: ProjectConfig, alias: str) -> ModelVersion | None:
    """The version `alias` points at, or None when the alias (or the model) does not exist yet."""
    client = configure_mlflow(config)
    try:
        return client.get_model_version_by_alias(config.tracking.model_name, alias)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise TrackingError(f"cannot read alias {alias!r} of {config.tracking.model_name}: {exc.message}") from None


def get_version(config: ProjectConfig, version: VersionRef) -> ModelVersion:
    """A version of the project's model, fresh from the registry; TrackingError when there is no such version."""
    client = configure_mlflow(config)
    number = _number(version)
    try:
        return client.get_model_version(config.tracking.model_name, number)
    except MlflowException as exc:
        raise TrackingError(f"model {config.tracking.model_name} has no version {number}: {exc.message}") from None


def version_tags(config: ProjectConfig, found: ModelVersion) -> dict[str, str]:
    """What training recorded about a version: its training run's tags, overridden by the version's own."""
    tags = dict(found.tags or {})
    if found.run_id:
        tags = {**configure_mlflow(config).get_run(found.run_id).data.tags, **tags}
    return tags


def gate_passed(config: ProjectConfig, version: VersionRef) -> bool:
    """Whether the quality gate recorded a pass on this version."""
    return (get_version(config, version).tags or {}).get(VALIDATION_STATUS) == PASSED


def set_gate_record(config: ProjectConfig, version: VersionRef, passed: bool, report_uri: str) -> None:
    """Record the gate's verdict and where its report is on the version (tags VALIDATION_STATUS, GATE_REPORT)."""
    found = get_version(config, version)
    client = configure_mlflow(config)
    # The report first: a reader that sees the status can always follow it to the report.
    client.set_model_version_tag(found.name, found.version, GATE_REPORT, report_uri)
    client.set_model_version_tag(found.name, found.version, GATED_AT, _now())
    client.set_model_version_tag(found.name, found.version, VALIDATION_STATUS, PASSED if passed else FAILED)


def version_of_run(config: ProjectConfig, run_id: str) -> ModelVersion | None:
    """The version registered from training run `run_id` (the first, should there be several), or None."""
    found = _versions_of_run(configure_mlflow(config), config.tracking.model_name, run_id)
    return found[0] if found else None


def _versions_of_run(client: MlflowClient, name: str, run_id: str) -> list[ModelVersion]:
    try:
        return list(
            client.search_model_versions(
                f"name = '{search_quoted(name)}' and run_id = '{search_quoted(run_id)}'",
                order_by=["version_number ASC"],
            )
        )
    except MlflowException as exc:
        raise TrackingError(f"cannot search the versions of {name}: {exc.message}") from None


def _logged_model_id(client: MlflowClient, run_id: str) -> str | None:
    """The id of the model the run logged under MODEL_ARTIFACT (the newest, should there be several)."""
    experiment_id = client.get_run(run_id).info.experiment_id
    logged = client.search_logged_models(
        experiment_ids=[experiment_id],
        filter_string=f"source_run_id = '{search_quoted(run_id)}'",
        order_by=[{"field_name": "creation_timestamp", "ascending": False}],
    )
    return next((model.model_id for model in logged if model.name == MODEL_ARTIFACT), None)


def _number(version: VersionRef) -> str:
    return str(version.version if isinstance(version, ModelVersion) else version)


def _now() -> str:
    return f"{time.time():.3f}"

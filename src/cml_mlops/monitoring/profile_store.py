"""Reference profiles in MLflow: logged with the selected training run, read back per served model version.

The profile is the artifact PROFILE_ARTIFACT of the run a model version was registered from. Training logs it
(`log_training_profile`); monitoring reads it (`load_profile`) and never touches the training data. Versions
trained before profiles existed get one from `ensure_profile`, which re-reads the lake snapshot the version
recorded and splits it again as the config says now (the same rows when the split settings are unchanged).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from cml_mlops.config import ProjectConfig
from cml_mlops.monitoring.outcome import MonitorExit
from cml_mlops.monitoring.profile import ProfileError, ReferenceProfile, build_profile
from cml_mlops.reports.files import dumps_json
from cml_mlops.tracking import Tag

if TYPE_CHECKING:
    from cml_mlops.training.runs import TrainingRows

PROFILE_ARTIFACT = "monitoring/reference_profile.json"


class ProfileMissing(ProfileError):
    """A served model version has no reference profile (unknown version, or trained before profiles existed)."""

    exit_code = MonitorExit.MISCONFIGURED


def log_training_profile(run_id: str, pipeline: Any, rows: TrainingRows, threshold: float) -> ReferenceProfile:
    """Profile the train split's inputs and the model's held-out predictions; log it to the selected run."""
    held_out = pd.concat([rows.inputs("validation"), rows.inputs("test")])
    profile = build_profile(
        rows.inputs("train"),
        rows.features,
        probabilities=np.asarray(pipeline.predict_proba(held_out)[:, 1], dtype=float),
        threshold=threshold,
        label_rate=float(np.mean(rows.labels("train"))),
    )
    log_profile(MlflowClient(), run_id, profile)
    return profile


def log_profile(client: MlflowClient, run_id: str, profile: ReferenceProfile) -> None:
    client.log_text(run_id, dumps_json(profile.to_dict()), PROFILE_ARTIFACT)


def tracking_client(config: ProjectConfig) -> MlflowClient:
    """A client of the project's tracking server and registry that creates nothing (unlike configure_mlflow)."""
    uri = config.tracking_uri()
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def version_run_id(client: MlflowClient, model_name: str, version: str) -> str:
    """The training run of a registered version; ProfileMissing when the registry does not know the version."""
    try:
        found = client.get_model_version(model_name, str(version))
    except MlflowException as exc:
        raise ProfileMissing(f"model {model_name} version {version} is not in the registry ({exc.message})") from None
    run_id = (found.tags or {}).get(Tag.RUN_ID) or found.run_id
    if not run_id:
        raise ProfileMissing(f"model {model_name} version {version} has no training run to hold its profile")
    return str(run_id)


def load_profile(config: ProjectConfig, model_name: str, version: str) -> ReferenceProfile:
    """The reference profile of a registered version (ProfileMissing when it has none)."""
    return read_profile(tracking_client(config), model_name, version)


def read_profile(client: MlflowClient, model_name: str, version: str) -> ReferenceProfile:
    """`load_profile` with a client at hand."""
    run_id = version_run_id(client, model_name, version)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            path = client.download_artifacts(run_id, PROFILE_ARTIFACT, dst_path=scratch)
        except (MlflowException, OSError):
            raise ProfileMissing(
                f"model {model_name} version {version} has no reference profile (trained before cml-mlops saved "
                "them): drift is not computed for it; `cml-mlops monitor --backfill-profiles` makes one"
            ) from None
        text = Path(path).read_text(encoding="utf-8")
    try:
        return ReferenceProfile.from_dict(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ProfileError(f"the reference profile of {model_name} version {version} is not JSON: {exc}") from None


def ensure_profile(config: ProjectConfig, version: str) -> ReferenceProfile:
    """The profile of a version of the project's model, made and logged from its lake snapshot if it has none."""
    model_name = config.tracking.model_name
    try:
        return load_profile(config, model_name, version)
    except ProfileMissing:
        pass
    # Only here, for a version that predates profiles, does monitoring read training data.
    from cml_mlops.tracking import load_model_version
    from cml_mlops.training.trainer import plan_training

    client = tracking_client(config)
    run_id = version_run_id(client, model_name, version)
    tags = {**client.get_run(run_id).data.tags, **(client.get_model_version(model_name, str(version)).tags or {})}
    snapshot = tags.get(Tag.SNAPSHOT)
    if snapshot is None:
        raise ProfileMissing(f"model {model_name} version {version} records no lake snapshot to profile")
    model = load_model_version(config, version=version)
    rows = plan_training(config, int(snapshot)).rows
    parts = rows.splits.parts()
    held_out = pd.concat([parts["validation"], parts["test"]])  # every column: the model picks its own inputs
    profile = build_profile(
        parts["train"],
        model.features,
        probabilities=model.predict_proba(held_out),
        threshold=model.threshold,
        label_rate=float(np.mean(rows.labels("train"))),
        source="backfill",
    )
    log_profile(client, run_id, profile)
    return profile

"""What happened to the model while it was monitored: trainings, retrainings, gate verdicts, alias moves, deploys.

One source of truth: the MLflow model registry of the project's model. A version's creation time is when it
was trained (a retraining when it carries the retraining lineage tags); the registry module stamps the time of
every gate verdict (`GATED_AT`) and alias move (`ALIAS_SET_AT`) on the version, since MLflow keeps no history of
tags or aliases. Moving `champion` is what a deploy does, so it is shown as the deploy. Limits: an alias moved
to the same version twice keeps its latest time only; versions gated before the stamps existed show no verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from cml_mlops.registry import ALIAS_SET_AT, GATED_AT
from cml_mlops.tracking import CHAMPION, VALIDATION_STATUS, search_quoted

ALIAS_TAG = re.compile("^" + re.escape(ALIAS_SET_AT).replace(re.escape("{alias}"), "(?P<alias>[^.]+)") + "$")
KINDS = ("trained", "retrained", "gate", "deploy", "alias")
# retraining's LineageTag.CHALLENGES, named here because importing the retraining module would load training and
# the gates into every monitoring run (a test checks that the two agree).
CHALLENGES_TAG = "cml_mlops.lineage.challenges_version"


@dataclass(frozen=True)
class ModelEvent:
    """One event: when (epoch seconds), what kind (one of KINDS), which version, and a short text for people."""

    at: float
    kind: str
    version: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "kind": self.kind, "version": self.version, "text": self.text}


def model_events(client: MlflowClient, model_name: str, since: float, until: float) -> list[ModelEvent]:
    """The events of `model_name` in `(since, until]`, oldest first."""
    try:
        versions = client.search_model_versions(f"name = '{search_quoted(model_name)}'")
    except MlflowException:
        return []  # no such model yet: nothing happened to it
    events: list[ModelEvent] = []
    for found in versions:
        events.extend(version_events(str(found.version), found.creation_timestamp, dict(found.tags or {})))
    return sorted((event for event in events if since < event.at <= until), key=lambda event: (event.at, event.kind))


def version_events(version: str, created_ms: int | None, tags: dict[str, str]) -> list[ModelEvent]:
    """The events one version's registry record tells."""
    events = []
    if created_ms:
        challenged = tags.get(CHALLENGES_TAG)
        if challenged:
            text = f"v{version} retrained (challenging v{challenged})"
            events.append(ModelEvent(created_ms / 1000, "retrained", version, text))
        else:
            events.append(ModelEvent(created_ms / 1000, "trained", version, f"v{version} trained"))
    gated = _seconds(tags.get(GATED_AT))
    if gated is not None:
        verdict = tags.get(VALIDATION_STATUS, "unknown")
        events.append(ModelEvent(gated, "gate", version, f"gate {verdict} on v{version}"))
    for key, value in tags.items():
        found = ALIAS_TAG.match(key)
        at = _seconds(value)
        if found is None or at is None:
            continue
        alias = found.group("alias")
        if alias == CHAMPION:
            events.append(ModelEvent(at, "deploy", version, f"v{version} deployed ({CHAMPION})"))
        else:
            events.append(ModelEvent(at, "alias", version, f"{alias} -> v{version}"))
    return events


def _seconds(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None

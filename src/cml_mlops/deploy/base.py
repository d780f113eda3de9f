"""Where a model version is served, behind one small interface; and the rules every deployment follows.

A target (`local`: a server on this machine; `cml`: a CML Model, deploy/cml.py) implements `deploy`,
`undeploy` and `status`. `deploy_version` wraps the target with what does not depend on it: only a version
with a passed gate record is deployed, and the `champion` alias moves to it only once the target serves it.
A target's `deploy` either switches to the new version or leaves what was served serving and raises DeployError.
"""

from __future__ import annotations

import abc
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from cml_mlops.errors import CmlMlopsError

if TYPE_CHECKING:  # MLflow is imported by the functions that use the registry, not by `serving-status`
    from cml_mlops.config import ProjectConfig

# Target name -> "module:class", imported only when used (the CML target needs its own client libraries).
TARGETS = {"local": "cml_mlops.deploy.local:LocalTarget", "cml": "cml_mlops.deploy.cml:CmlTarget"}


class DeployError(CmlMlopsError):
    """A deployment was refused or failed; whatever was served before is still served."""


@dataclass(frozen=True)
class Deployment:
    """A model version being served by a target."""

    target: str
    model_name: str
    version: str
    endpoint: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeploymentStatus:
    """What a target serves now: `deployment` None when nothing; `healthy` whether it answers."""

    target: str
    deployment: Deployment | None
    healthy: bool
    message: str


class DeploymentTarget(abc.ABC):
    """One place models are served."""

    name: ClassVar[str]

    def __init__(self, config: ProjectConfig) -> None:
        self.config = config

    def preflight(self) -> None:  # noqa: B027 - optional hook
        """Refuse early (DeployError) what would make any deployment fail, e.g. a missing secret."""

    @abc.abstractmethod
    def deploy(self, version: str) -> Deployment:
        """Serve `version` instead of what is served, without downtime; on failure keep the old one and raise."""

    @abc.abstractmethod
    def undeploy(self) -> Deployment | None:
        """Stop serving and remove the target's state; None when nothing was deployed."""

    @abc.abstractmethod
    def status(self) -> DeploymentStatus:
        """What is served now and whether it is healthy."""


def get_target(name: str, config: ProjectConfig) -> DeploymentTarget:
    if name not in TARGETS:
        raise DeployError(f"unknown deployment target {name!r}; choose one of {', '.join(TARGETS)}")
    module_name, attribute = TARGETS[name].split(":")
    target_class = getattr(importlib.import_module(module_name), attribute)
    target: DeploymentTarget = target_class(config)
    return target


def resolve_version(config: ProjectConfig, version: str | int | None) -> str:
    """The version asked for; by default the `challenger` (the last gated version), else the newest."""
    from cml_mlops.registry import alias_version, get_version
    from cml_mlops.tracking import CHALLENGER, configure_mlflow, model_version

    if version is not None:
        return str(get_version(config, version).version)
    challenger = alias_version(config, CHALLENGER)
    if challenger is not None:
        return str(challenger.version)
    return str(model_version(configure_mlflow(config), config.tracking.model_name).version)


def deploy_version(config: ProjectConfig, target: DeploymentTarget, version: str | int) -> Deployment:
    """Gate check, then the target's deploy, then `champion` -> version. Nothing changes when a step fails."""
    from cml_mlops.registry import gate_passed, get_version, set_alias
    from cml_mlops.tracking import CHAMPION, VALIDATION_STATUS, TrackingError

    target.preflight()
    number = str(version)
    if not gate_passed(config, number):
        status = (get_version(config, number).tags or {}).get(VALIDATION_STATUS)
        recorded = f"its gate record says {status!r}" if status else "it has no gate record"
        raise DeployError(
            f"refusing to deploy {config.tracking.model_name} version {number}: {recorded}; "
            f"run `cml-mlops gate --version {number}` and deploy a version that passed"
        )
    deployment = target.deploy(number)
    try:
        set_alias(config, number, CHAMPION)
    except TrackingError as exc:
        raise DeployError(
            f"version {number} is served by {target.name}, but the {CHAMPION!r} alias could not be moved to it: {exc}"
        ) from None
    return deployment

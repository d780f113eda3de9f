"""Deployment targets (`local`, `cml`) behind one interface; see deploy/base.py."""

from cml_mlops.deploy.base import DeployError, Deployment, DeploymentStatus, DeploymentTarget, get_target

__all__ = ["DeployError", "Deployment", "DeploymentStatus", "DeploymentTarget", "get_target"]

"""What a CML model deployment tells its model function: environment variables and the secrets folder.

Kept apart from the model function so that the deployer can name them without importing the scoring stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

MODEL_VERSION_ENV = "CML_MLOPS_MODEL_VERSION"  # the MLflow version the deployment serves
REGISTERED_VERSION_ENV = "CML_MLOPS_REGISTERED_MODEL_VERSION"  # its number in the CML Model Registry
# CML mounts a deployment's (write-only) `deployment_secrets` as files in this folder; tests point elsewhere.
SECRETS_DIR_ENV = "CML_MLOPS_DEPLOYMENT_SECRETS_DIR"
DEFAULT_SECRETS_DIR = "/etc/deployment-secrets"
DSN_ENV = "CML_MLOPS_MONITORING_DSN"


def with_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` plus the DSN from the deployment's secret file when the environment does not set one."""
    merged = dict(environ)
    if merged.get(DSN_ENV, "").strip():
        return merged
    secret = Path(merged.get(SECRETS_DIR_ENV) or DEFAULT_SECRETS_DIR) / DSN_ENV
    try:
        value = secret.read_text(encoding="utf-8").strip()
    except OSError:  # no secret mounted: the project's default store
        return merged
    if value:
        merged[DSN_ENV] = value
    return merged

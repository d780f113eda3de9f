"""An API v2 client for the project's workspace: `cmlapi` when it is importable (CML runtimes ship it), else HTTP.

Where the workspace is, first found wins:
- URL: `cml.workspace_url`, else `CDSW_API_URL` (its scheme, without `/api/v1`), else `https://$CDSW_DOMAIN`;
- project: `cml.project_id`, else `CDSW_PROJECT_ID`;
- API v2 key: `CDSW_APIV2_KEY` only (never the config file).
TLS is verified unless `cml.verify_tls: false`; `cml.ca_bundle` names a CA file for private CAs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from cml_mlops.cml.adapter import CmlapiAdapter
from cml_mlops.cml.api import CmlApi
from cml_mlops.cml.client import CmlClient, _base_url_from_env, _normalise_base
from cml_mlops.config import CmlSection, ProjectConfig
from cml_mlops.errors import ConfigError


@dataclass(frozen=True)
class Workspace:
    """Where the project's CML workspace is and how to reach it (the key never shows in repr)."""

    url: str  # scheme://host[:port], no /api path
    project_id: str
    api_key: SecretStr = field(repr=False)
    verify: bool | str  # False, True, or the CA bundle to verify against


def workspace(config: ProjectConfig, environ: Mapping[str, str] | None = None) -> Workspace:
    """The workspace from the config and the CML environment; ConfigError naming what is missing."""
    env = os.environ if environ is None else environ
    section = config.cml
    url = section.workspace_url.strip() or _base_url_from_env(env)
    project_id = section.project_id.strip() or env.get("CDSW_PROJECT_ID", "").strip()
    key = section.api_key.get_secret_value() if section.api_key is not None else env.get("CDSW_APIV2_KEY", "")
    missing = [
        what
        for what, value in (
            ("the workspace URL (cml.workspace_url, or CDSW_API_URL / CDSW_DOMAIN)", url),
            ("the project id (cml.project_id, or CDSW_PROJECT_ID)", project_id),
            ("the API v2 key (CDSW_APIV2_KEY in the environment)", key),
        )
        if not value
    ]
    if missing:
        raise ConfigError(f"cannot reach CML: set {'; '.join(missing)}")
    if section.ca_bundle and not config.path(section.ca_bundle).is_file():
        raise ConfigError(f"cml.ca_bundle: no CA bundle file at {config.path(section.ca_bundle)}")
    verify: bool | str = str(config.path(section.ca_bundle)) if section.ca_bundle else section.verify_tls
    return Workspace(_normalise_base(str(url)), project_id, SecretStr(key), verify)


def _import_cmlapi() -> Any | None:
    try:
        import cmlapi  # type: ignore[import-not-found,unused-ignore]  # shipped by CML runtimes only
    except ImportError:
        return None
    return cmlapi


def connect(found: Workspace, section: CmlSection, *, sleep: Callable[[float], None] = time.sleep) -> CmlApi:
    """A client for `found`: the cmlapi adapter when cmlapi is importable (or required), else HTTP."""
    key = found.api_key.get_secret_value()
    cmlapi = _import_cmlapi() if section.client != "http" else None
    if cmlapi is None and section.client == "cmlapi":
        raise ConfigError("cml.client is 'cmlapi' but the cmlapi package is not importable here")
    if cmlapi is None:
        return CmlClient(
            found.url, key, project_id=found.project_id, timeout=section.request_timeout_seconds,
            verify=found.verify is not False, ca_bundle=found.verify if isinstance(found.verify, str) else None,
            environ={}, sleep=sleep,
        )  # fmt: skip
    # The documented manual construction, which (unlike default_client) takes a CA bundle [D-USE].
    configuration = cmlapi.Configuration()
    configuration.host = found.url
    configuration.verify_ssl = found.verify is not False
    configuration.ssl_ca_cert = found.verify if isinstance(found.verify, str) else None
    api_client = cmlapi.ApiClient(configuration)
    api_client.set_default_header("authorization", f"Bearer {key}")
    return CmlapiAdapter(
        cmlapi.CMLServiceApi(api_client), cmlapi.rest.ApiException, project_id=found.project_id,
        secrets=[key], sleep=sleep,
    )  # fmt: skip

"""Where the workspace is: the `cml:` config first, then the workspace's CDSW_* variables; TLS settings."""

from __future__ import annotations

import pytest

from cml_mlops.cml import CmlClient
from cml_mlops.cml.connect import connect, workspace
from cml_mlops.config import load_config
from cml_mlops.errors import ConfigError
from tests.cml.conftest import API_KEY
from tests.cml.deploy_support import CmlProject


def config_of(project: CmlProject, **environ: str):  # type: ignore[no-untyped-def]
    return load_config(project.root, environ={"CDSW_APIV2_KEY": API_KEY, **environ})


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({"CDSW_API_URL": "https://ml-xyz.example.com/api/v1", "CDSW_DOMAIN": "ignored.example.com"},
         "https://ml-xyz.example.com"),
        ({"CDSW_DOMAIN": "ml-abc.example.com"}, "https://ml-abc.example.com"),
    ],
)  # fmt: skip
def test_inside_a_workspace_its_variables_are_enough(
    cml_project: CmlProject, environ: dict[str, str], url: str
) -> None:
    found = workspace(config_of(cml_project), {**environ, "CDSW_PROJECT_ID": "ab12-cd34-ef56-gh78"})
    assert (found.url, found.project_id, found.verify) == (url, "ab12-cd34-ef56-gh78", True)
    assert found.api_key.get_secret_value() == API_KEY


def test_the_config_wins_over_the_workspace_variables(cml_project: CmlProject) -> None:
    config = config_of(
        cml_project,
        CML_MLOPS_CML_WORKSPACE_URL="https://chosen.example.com/",
        CML_MLOPS_CML_PROJECT_ID="pick-ed00-0000-0001",
    )
    found = workspace(config, {"CDSW_DOMAIN": "other.example.com", "CDSW_PROJECT_ID": "othe-r000-0000-0001"})
    assert (found.url, found.project_id) == ("https://chosen.example.com", "pick-ed00-0000-0001")


def test_everything_missing_is_named_at_once(cml_project: CmlProject) -> None:
    config = load_config(cml_project.root, environ={})
    with pytest.raises(ConfigError) as err:
        workspace(config, {})
    assert str(err.value) == (
        "cannot reach CML: set the workspace URL (cml.workspace_url, or CDSW_API_URL / CDSW_DOMAIN); "
        "the project id (cml.project_id, or CDSW_PROJECT_ID); the API v2 key (CDSW_APIV2_KEY in the environment)"
    )


def test_tls_settings(cml_project: CmlProject) -> None:
    base = {"CML_MLOPS_CML_WORKSPACE_URL": "https://ml.example.com", "CML_MLOPS_CML_PROJECT_ID": "p000-0000-0000-0001"}
    with pytest.raises(ConfigError, match=r"cml.ca_bundle: no CA bundle file at .*certs/corp-ca.pem"):
        workspace(config_of(cml_project, **base, CML_MLOPS_CML_CA_BUNDLE="certs/corp-ca.pem"), {})
    bundle = cml_project.root / "certs" / "corp-ca.pem"
    bundle.parent.mkdir(exist_ok=True)
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    config = config_of(cml_project, **base, CML_MLOPS_CML_CA_BUNDLE="certs/corp-ca.pem")
    found = workspace(config, {})
    assert found.verify == str(bundle)
    client = connect(found, config.cml)
    assert isinstance(client, CmlClient) and client.verify == str(bundle)
    unverified = config_of(cml_project, **base, CML_MLOPS_CML_VERIFY_TLS="false")
    assert workspace(unverified, {}).verify is False


@pytest.mark.parametrize(
    ("field", "value"),
    [("cpu", "0"), ("memory_gb", "-1"), ("replicas", "0"), ("poll_interval_seconds", "-1"),
     ("deploy_timeout_seconds", "0"), ("client", "grpc")],
)  # fmt: skip
def test_bad_cml_settings_are_refused_by_name(cml_project: CmlProject, field: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"cml.{field}"):
        config_of(cml_project, **{f"CML_MLOPS_CML_{field.upper()}": value})

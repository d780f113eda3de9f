"""Client configuration: explicit arguments or the CML workspace environment; TLS on by default."""

from __future__ import annotations

import subprocess

import pytest
from urllib3.exceptions import InsecureRequestWarning

from cml_mlops.cml import CmlApiError, CmlClient
from cml_mlops.cml.emulator import CmlEmulator
from cml_mlops.errors import ConfigError
from tests.cml.conftest import API_KEY


def test_explicit_arguments_win() -> None:
    env = {"CDSW_DOMAIN": "env.example.com", "CDSW_APIV2_KEY": "envkey", "CDSW_PROJECT_ID": "envp"}
    client = CmlClient("https://arg.example.com/api/v2/", API_KEY, project_id="argp", environ=env)
    assert (client.base_url, client.project_id) == ("https://arg.example.com", "argp")


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"CDSW_DOMAIN": "ml-abc.example.com"}, "https://ml-abc.example.com"),
        ({"CDSW_API_URL": "https://ml-xyz.example.com/api/v1", "CDSW_DOMAIN": "ignored"}, "https://ml-xyz.example.com"),
    ],
)
def test_url_from_the_workspace_environment(env: dict[str, str], url: str) -> None:
    client = CmlClient(environ={**env, "CDSW_APIV2_KEY": API_KEY, "CDSW_PROJECT_ID": "p-1"})
    assert client.base_url == url and client.project_id == "p-1"


@pytest.mark.parametrize(
    ("env", "message"),
    [({"CDSW_APIV2_KEY": "k"}, "CDSW_DOMAIN"), ({"CDSW_DOMAIN": "d.example.com"}, "CDSW_APIV2_KEY")],
)
def test_missing_configuration_is_a_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CmlClient(environ=env)


def test_bad_retry_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="max_attempts"):
        CmlClient("https://x.example.com", "k", max_attempts=0, environ={})
    with pytest.raises(ConfigError, match="timeout"):
        CmlClient("https://x.example.com", "k", timeout=0, environ={})


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


def test_tls_is_verified_by_default_and_accepts_a_ca_bundle(certificate: tuple[str, str]) -> None:
    with CmlEmulator(api_key=API_KEY, tls=certificate) as emulator:
        assert emulator.url.startswith("https://")
        strict = CmlClient(emulator.url, API_KEY, environ={})
        with pytest.raises(CmlApiError) as err:  # self-signed: refused unless trusted
            strict.list_projects()
        assert err.value.status == 0 and "CERTIFICATE_VERIFY_FAILED" in err.value.message
        assert strict.request_count == 1  # not retried: a bad certificate does not heal
        trusting = CmlClient(emulator.url, API_KEY, ca_bundle=certificate[0], environ={})
        assert trusting.list_projects()["projects"]
        unverified = CmlClient(emulator.url, API_KEY, verify=False, environ={})
        with pytest.warns(InsecureRequestWarning):  # an explicit opt-out, still flagged
            assert unverified.list_projects()["projects"]


def test_repr_hides_the_key() -> None:
    client = CmlClient("https://x.example.com", API_KEY, environ={})
    assert API_KEY not in repr(client) and API_KEY not in str(client)

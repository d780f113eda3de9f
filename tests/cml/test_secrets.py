"""The API v2 key (a recognisable one) never appears in output, logs, errors, reports or request bodies."""

from __future__ import annotations

import logging
import sys

import pytest

from cml_mlops.cml.connect import workspace
from cml_mlops.cml.emulator import CmlEmulator
from cml_mlops.deploy.cml_report import report_paths
from tests.cml import cmlapi_double
from tests.cml.conftest import API_KEY
from tests.cml.deploy_support import CmlProject, deploy, point_at, run

WRONG_KEY = API_KEY.replace("LEAKCHECK", "WRONGKEY")


def test_the_key_shows_nowhere(
    cml: CmlEmulator, cml_project: CmlProject, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # as with `cml-mlops -v`: urllib3's connection logs too
    outputs = [deploy(cml_project, cml_project.v1).output]
    outputs.append(run(cml_project, "-v", "serving-status", "--target", "cml", "--json").output)
    # A failing redeploy: its error message, cleanup notes and report.
    cml.state.faults.stuck_deployments = 1
    point_at(monkeypatch, cml, poll_interval_seconds="0.01", deploy_timeout_seconds="0.2")
    failed = deploy(cml_project, cml_project.v2)
    assert failed.exit_code == 1 and "status still 'deploying'" in failed.output
    outputs.append(failed.output)
    outputs.append(run(cml_project, "undeploy", "--target", "cml").output)
    # A wrong key: the 401 says so without echoing it.
    monkeypatch.setenv("CDSW_APIV2_KEY", WRONG_KEY)
    refused = deploy(cml_project, cml_project.v2)
    assert refused.exit_code == 1 and "401" in refused.output and "invalid API key" in refused.output
    outputs.append(refused.output)

    reports = [path.read_text() for path in report_paths(cml_project.config())]
    bodies = [repr(r.body) + repr(r.query) for r in cml.requests]
    assert "deploying" in reports[0] and len(cml.requests) > 20
    for text in [*outputs, caplog.text, *reports, *bodies]:
        assert API_KEY not in text and WRONG_KEY not in text


def test_the_key_is_not_in_reprs_or_config_dumps(cml: CmlEmulator, cml_project: CmlProject) -> None:
    config = cml_project.config()
    found = workspace(config)
    assert found.api_key.get_secret_value() == API_KEY
    for text in (repr(found), str(found), repr(config), config.model_dump_json()):
        assert API_KEY not in text


def test_cmlapi_errors_do_not_carry_the_key(
    cml: CmlEmulator, cml_project: CmlProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = cmlapi_double.module()
    monkeypatch.setitem(sys.modules, "cmlapi", module)
    monkeypatch.setitem(sys.modules, "cmlapi.rest", module.rest)  # type: ignore[attr-defined]
    monkeypatch.setenv("CDSW_APIV2_KEY", WRONG_KEY)
    refused = deploy(cml_project, cml_project.v1)
    assert refused.exit_code == 1 and "401" in refused.output
    assert WRONG_KEY not in refused.output

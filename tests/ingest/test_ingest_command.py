"""`cml-mlops ingest` through the real CLI group, in a project folder, against the loopback server."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

BANK_FULL_SHA256 = "d1513ec63b385506f7cfce9f2c5caa9fe99e7ba4e8c3fa264b3aaf0f849ed32d"


@pytest.fixture
def run(cli):
    def invoke(project, *args: str, env: dict[str, str] | None = None):
        return CliRunner().invoke(cli, ["--project-dir", str(project), "ingest", *args], env=env)

    return invoke


def test_prints_one_summary_line_then_skips(run, server, make_project):
    project = make_project(url=server.url("bank.zip"))
    first = run(project, "--no-progress")
    assert first.exit_code == 0, first.output
    target = project / "data" / "raw" / "bank-full.csv"
    assert first.stdout == (
        f"fetched {target} bytes=4610348 sha256={BANK_FULL_SHA256} source={server.url('bank.zip')}\n"
    )
    assert first.stderr == ""

    second = run(project, "--no-progress")
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith(f"skipped {target} bytes=4610348 sha256={BANK_FULL_SHA256}")
    assert len(server.requests) == 1


def test_force_fetches_again(run, server, make_project):
    project = make_project(url=server.url("bank.zip"))
    assert run(project, "--no-progress").exit_code == 0
    forced = run(project, "--no-progress", "--force")
    assert forced.exit_code == 0, forced.output
    assert forced.stdout.startswith("fetched ")
    assert len(server.requests) == 2


def test_progress_bar_goes_to_stderr_and_stdout_stays_one_line(run, server, make_project):
    result = run(make_project(url=server.url("bank.zip")))
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    assert "bank.zip" in result.stderr


def test_environment_variable_overrides_the_url(run, server, make_project, closed_port_url):
    project = make_project(url=closed_port_url)
    result = run(project, "--no-progress", env={"CML_MLOPS_DATA_URL": server.url("bank.zip")})
    assert result.exit_code == 0, result.output
    assert server.requests == ["/bank.zip"]


def test_http_error_exits_non_zero_with_a_clear_message(run, server, make_project):
    project = make_project(url=server.url("missing.zip"))
    result = run(project, "--no-progress")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"cannot download {server.url('missing.zip')}: HTTP 404" in result.stderr
    assert "Traceback" not in result.output


def test_checksum_mismatch_exits_non_zero(run, server, make_project):
    project = make_project(url=server.url("bank.zip"), sha256="0" * 64)
    result = run(project, "--no-progress")
    assert result.exit_code == 1
    assert "expected " + "0" * 64 in result.stderr
    assert not (project / "data" / "raw" / "bank-full.csv").exists()


def test_help_lists_the_options(run, tmp_path):
    result = run(tmp_path, "--help")
    assert result.exit_code == 0
    assert "--force" in result.stdout
    assert "--no-progress" in result.stdout

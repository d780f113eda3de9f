"""`cml-mlops score` refuses bad arguments with a one-line error before touching the lake or the registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cml_mlops.cli import cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output-table", "bad-name"], "Invalid value for --output-table: use letters"),
        (["--output-table", "ok", "--version", "1", "--alias", "champion"], "give --version or --alias, not both"),
        ([], "Missing option '--output-table'"),
    ],
    ids=["bad-table-name", "version-and-alias", "no-output-table"],
)
def test_bad_arguments_are_refused(baked_project: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["--project-dir", str(baked_project), "score", *args])

    assert result.exit_code == 2
    assert message in result.output
    assert not (baked_project / "lake").exists()


def test_score_is_listed_in_the_help(baked_project: Path) -> None:
    result = CliRunner().invoke(cli, ["--project-dir", str(baked_project), "score", "--help"])

    assert result.exit_code == 0
    assert "--snapshot" in result.output and "--output-table" in result.output

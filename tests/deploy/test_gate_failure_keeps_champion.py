"""A failed gate leaves the champion alias and the running server untouched (issue 3 integration)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from cml_mlops.registry import alias_version
from cml_mlops.serving.process import read_record
from cml_mlops.tracking import CHALLENGER, CHAMPION
from tests.gates.conftest import TEST_FLOOR, TEST_SEGMENT_FLOOR, set_gates
from tests.serving.helpers import ACCESS_KEY, gated_version, lake_frame, project_config, run_cli


@pytest.mark.slow
def test_a_failed_gate_changes_nothing_that_serves(project: Path) -> None:
    set_gates(
        project,
        floors={"roc_auc": TEST_FLOOR},
        segments={"columns": [], "bands": {}, "floors": {"roc_auc": TEST_SEGMENT_FLOOR}},
    )
    config = project_config(project)
    champion = gated_version(config, status=None)
    assert run_cli(project, "gate", "--version", champion.version).exit_code == 0
    assert run_cli(project, "deploy", "--target", "local").exit_code == 0
    record = read_record(config)
    assert record is not None

    degraded = gated_version(config, status=None, shuffle_labels=True, seed=1)
    failed = run_cli(project, "gate", "--version", degraded.version)
    assert failed.exit_code == 1 and "FAIL" in failed.output

    assert str(alias_version(config, CHAMPION).version) == str(champion.version)
    assert str(alias_version(config, CHALLENGER).version) == str(champion.version)
    refused = run_cli(project, "deploy", "--target", "local", "--version", degraded.version)
    assert refused.exit_code == 1 and "gate" in refused.output.lower()
    row = lake_frame(config).drop(columns=["y", "duration"]).iloc[0].to_dict()
    answer = httpx.post(f"{record.url}/model", json={"accessKey": ACCESS_KEY, "request": row}, timeout=10).json()
    assert answer["success"] is True and answer["response"]["model_version"] == str(champion.version)
    assert read_record(config) == record

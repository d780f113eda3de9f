"""drift-replay on bank-full: its last rows are the sharply different late period, sent in time order."""

from __future__ import annotations

from pathlib import Path

import pytest

from cml_mlops.config import load_config
from cml_mlops.lake import open_lake
from cml_mlops.project import load_feature_spec
from cml_mlops.simulation.errors import SimulationError
from cml_mlops.simulation.scenarios import scenario_rows
from cml_mlops.simulation.served import ServedVersion
from tests.serving.helpers import run_cli


@pytest.mark.slow  # loads bank-full (45,211 rows) into a lake
def test_the_last_fifth_of_bank_full_is_the_drifted_period(project_dir: Path, bank_zip: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("CML_MLOPS_DATA_URL", bank_zip.as_uri())
    for args in (["ingest", "--no-progress"], ["lake", "load"]):
        assert run_cli(project_dir, *args).exit_code == 0
    config = load_config(project_dir)
    spec = load_feature_spec(config)
    served = ServedVersion("m", "1", "run", list(spec.inputs()), spec.target, spec.positive_label, None)
    with open_lake(config) as lake:
        table = lake.read(config.lake.table)
    replay = scenario_rows(config, "drift-replay", served).frame
    assert len(replay) == 9043 and len(table) == 45211
    assert replay.equals(table.iloc[-9043:].reset_index(drop=True))  # the table's own rows, in its order
    late = (replay[spec.target] == spec.positive_label).mean()
    early = (table.iloc[:-9043][spec.target] == spec.positive_label).mean()
    assert early < 0.08 and late > 0.30  # about 7% subscribed before, about 32% in the last fifth
    capped = scenario_rows(config, "drift-replay", served, rows=100, drift_share=0.5).frame
    assert capped.equals(table.iloc[-22606:-22506].reset_index(drop=True))


def test_a_scenario_without_data_is_a_clear_error(project_dir: Path) -> None:
    config = load_config(project_dir)
    served = ServedVersion("m", "1", "run", ["age"], "y", "yes", None)
    with pytest.raises(SimulationError, match="has no data: run `cml-mlops lake load` first"):
        scenario_rows(config, "drift-replay", served)
    with pytest.raises(SimulationError, match="does not record the snapshot it was trained on"):
        scenario_rows(config, "batch", served)
    with pytest.raises(SimulationError, match="unknown scenario 'chaos'"):
        scenario_rows(config, "chaos", served)

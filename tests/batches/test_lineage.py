"""`newbatch` records the row each batch row was drawn from, in the lake, before the batch is appended."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cml_mlops.batches import Drift, add_batch
from cml_mlops.batches.lineage import batch_label, lineage_table, read_lineage
from cml_mlops.errors import ContractViolation
from cml_mlops.lake import open_lake
from cml_mlops.row_keys import row_keys
from tests.steps.conftest import project_config


def lineage(project: Path) -> pd.DataFrame | None:
    config = project_config(project)
    with open_lake(config) as lake:
        return read_lineage(lake, config.lake.table)


def test_each_batch_row_names_its_source_row_and_batch(loaded_project: Path) -> None:
    config = project_config(loaded_project)
    assert lineage(loaded_project) is None
    first = add_batch(config, rows=20, seed=3, noise=0.0)
    second = add_batch(config, rows=100, seed=4, drift=Drift(shift={"age": 1.0}))
    assert first.snapshot is not None and second.snapshot is not None
    lines = lineage(loaded_project)
    assert lines is not None and len(lines) <= 120 and set(lines.columns) == {"row_key", "source_key", "source"}
    with open_lake(config) as lake:
        table = lake.read(config.lake.table)
        first_rows = lake.read_increment(config.lake.table, first.source_snapshot_id, first.snapshot.snapshot_id)
    keys = set(row_keys(table))
    assert set(lines["row_key"]) <= keys and set(lines["source_key"]) <= keys  # every source row is in the table
    # Noise 0: each row is a copy of the row it was drawn from, so both keys are the same.
    copies = lines[lines["source"] == batch_label(first.source_snapshot_id, 3)]
    assert set(copies["row_key"]) == set(row_keys(first_rows)) and (copies["row_key"] == copies["source_key"]).all()
    assert set(lines["source"]) == {batch_label(first.source_snapshot_id, 3), batch_label(second.source_snapshot_id, 4)}


def test_a_refused_batch_and_a_dry_run_record_no_lineage(loaded_project: Path) -> None:
    config = project_config(loaded_project)
    add_batch(config, rows=50, seed=1, dry_run=True)
    with pytest.raises(ContractViolation):
        add_batch(config, rows=50, seed=1, drift=Drift(category_mix={"job": {"astronaut": 0.5}}))
    with open_lake(config) as lake:
        assert not lake.table_exists(lineage_table(config.lake.table))

"""Rows that satisfy the contract go through the project's Iceberg lake unchanged."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from cml_mlops.config import load_config
from cml_mlops.lake import arrow_schema, open_lake
from hypothesis import HealthCheck, given, settings

from {{ cookiecutter.package_name }}.contracts import RawRecord

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RawRecord.strategy(size=8))
def test_contract_frames_round_trip_through_the_lake(frame: pd.DataFrame) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        config = load_config(
            PROJECT_ROOT,
            environ={
                "CML_MLOPS_LAKE_CATALOG_URI": f"sqlite:///{scratch}/catalog.db",
                "CML_MLOPS_LAKE_WAREHOUSE": f"{scratch}/warehouse",
            },
        )
        lake = open_lake(config)
        lake.create_or_replace(config.lake.table, frame, arrow_schema(RawRecord))
        back = lake.read(config.lake.table)
    pd.testing.assert_frame_equal(back, frame.reset_index(drop=True), check_dtype=False)

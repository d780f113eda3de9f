"""`cml-mlops labels load` and `load_labels`: contract-checked, idempotent, unknown ids reported and not inserted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, delete

from cml_mlops.cli import cli
from cml_mlops.config import MonitoringLabelsSection, ProjectConfig
from cml_mlops.labels import LabelSourceError, apply_labels, load_labels
from cml_mlops.lake import open_lake
from cml_mlops.monitoring.schema import labels
from cml_mlops.monitoring.store import LabelRecord, PredictionLog, PredictionRecord, migrate
from tests.monitoring.helpers import config_for, store_environ
from tests.monitoring.store.helpers import count, prediction, stored_labels

NOW = 1_800_000_000.0


@pytest.fixture
def logged(engine: Engine, tmp_path: Path) -> list[PredictionRecord]:
    """Six logged predictions, with a business key `customer` (c0..c5) in their features, one minute apart."""
    migrate(engine)
    records = [prediction(index, features={"customer": f"c{index}", "age": 30 + index}) for index in range(6)]
    with PredictionLog(engine, spill_dir=tmp_path / "spill") as log:
        log.add(records)
    return records


@pytest.fixture
def config(baked_project: Path, tmp_path: Path, store_url: str) -> ProjectConfig:
    """The baked project's config on this test's store, with the lake under `tmp_path`."""
    loaded = config_for(baked_project, tmp_path, store_url)
    lake = loaded.lake.model_copy(
        update={
            "catalog_uri": SecretStr(f"sqlite:///{tmp_path / 'lake' / 'catalog.db'}"),
            "warehouse": str(tmp_path / "wh"),
        }
    )
    return loaded.model_copy(update={"lake": lake})


def with_labels_settings(config: ProjectConfig, **changes: object) -> ProjectConfig:
    monitoring = config.monitoring.model_copy(update={"labels": MonitoringLabelsSection(**changes)})  # type: ignore[arg-type]
    return config.model_copy(update={"monitoring": monitoring})


def write_csv(path: Path, rows: list[dict[str, object]]) -> str:
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def test_a_csv_keyed_by_prediction_id_is_loaded_and_loading_it_again_adds_nothing(
    config: ProjectConfig, engine: Engine, logged: list[PredictionRecord], tmp_path: Path
) -> None:
    expected = [LabelRecord(r.prediction_id, i % 2, r.requested_at + 60) for i, r in enumerate(logged[:4])]
    rows: list[dict[str, object]] = [
        {"prediction_id": e.prediction_id, "label": e.label, "labelled_at": e.labelled_at} for e in expected
    ]
    source = write_csv(tmp_path / "labels.csv", rows)
    first = load_labels(config, source, now=NOW)
    assert (first.rows, first.counts.added, first.counts.updated, first.counts.unchanged) == (4, 4, 0, 0)
    stored = stored_labels(engine)
    assert stored == {e.prediction_id: e for e in expected}
    again = load_labels(config, source, now=NOW + 10)
    assert (again.counts.added, again.counts.updated, again.counts.unchanged) == (0, 0, 4)
    assert stored_labels(engine) == stored
    # A corrected outcome is an update; the others stay as they were.
    rows[0]["label"] = 1 - expected[0].label
    corrected = load_labels(config, write_csv(tmp_path / "fixed.csv", rows), now=NOW)
    assert (corrected.counts.added, corrected.counts.updated, corrected.counts.unchanged) == (0, 1, 3)
    assert stored_labels(engine)[expected[0].prediction_id].label == 1 - expected[0].label


def test_unknown_ids_are_counted_sampled_and_not_inserted(
    config: ProjectConfig, engine: Engine, logged: list[PredictionRecord], tmp_path: Path
) -> None:
    rows = [{"prediction_id": logged[0].prediction_id, "label": 1}] + [
        {"prediction_id": f"ghost-{i}", "label": 0} for i in range(7)
    ]
    result = load_labels(config, write_csv(tmp_path / "labels.csv", rows), now=NOW)
    assert (result.counts.added, result.counts.unknown) == (1, 7)
    assert result.counts.unknown_sample == [f"ghost-{i}" for i in range(5)]
    assert list(stored_labels(engine)) == [logged[0].prediction_id]
    assert stored_labels(engine)[logged[0].prediction_id].labelled_at == NOW  # no labelled_at column: load time
    assert "7 label(s) name predictions the store does not have (not inserted), e.g. ghost-0" in result.summary()
    assert result.to_dict()["unknown"] == 7


@pytest.mark.parametrize(
    "rows, message",
    [
        ([{"prediction_id": "A", "label": "yes"}], "row 3: label 'yes' is not 0 or 1"),
        ([{"prediction_id": "A", "label": 1}, {"prediction_id": "", "label": 0}], "row 4: prediction_id nan is empty"),
        ([{"prediction_id": "A", "label": ""}], "row 3: label nan is empty"),
        ([{"prediction_id": "A", "label": 1}, {"prediction_id": "A", "label": 0}], "row 4: prediction_id 'A' appears"),
        ([{"prediction_id": "A", "label": 1, "labelled_at": "yesterday"}], "row 3: labelled_at 'yesterday' is not"),
        ([{"prediction_id": "x" * 65, "label": 1}], "is not an id of 1 to 64 characters"),
        ([{"id": "A", "label": 1}], "no column 'prediction_id'"),
    ],
)
def test_a_source_that_breaks_the_contract_is_refused_whole_with_one_line(
    config: ProjectConfig,
    engine: Engine,
    logged: list[PredictionRecord],
    tmp_path: Path,
    rows: list[dict[str, object]],
    message: str,
) -> None:
    # A good row first (CSV line 2), then the bad ones from line 3; nothing of the file may be written.
    good: dict[str, object] = {"prediction_id": logged[1].prediction_id, "label": 1}
    if "id" in rows[0]:
        good = {"id": good["prediction_id"], "label": 1}
    with pytest.raises(LabelSourceError) as caught:
        load_labels(config, write_csv(tmp_path / "labels.csv", [good, *rows]), now=NOW)
    text = str(caught.value)
    assert message in text, text
    assert "\n" not in text
    assert count(engine, "labels") == 0


def test_a_missing_or_unreadable_file_and_an_unknown_kind_of_source_are_clear_errors(
    config: ProjectConfig, engine: Engine, logged: list[PredictionRecord], tmp_path: Path
) -> None:
    with pytest.raises(LabelSourceError, match="no such file"):
        load_labels(config, str(tmp_path / "missing.csv"))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(LabelSourceError, match="not a readable CSV"):
        load_labels(config, str(tmp_path / "empty.csv"))
    with pytest.raises(Exception, match=r"give a \.csv file or iceberg:<table>"):
        load_labels(config, str(tmp_path / "labels.parquet"))
    assert count(engine, "labels") == 0


def test_labels_keyed_by_a_business_key_plus_time_join_the_nearest_prediction(
    config: ProjectConfig, engine: Engine, logged: list[PredictionRecord], tmp_path: Path
) -> None:
    keyed = with_labels_settings(config, business_key="customer", time_column="asked_at", match_seconds=30)
    rows = [
        {"customer": "c1", "asked_at": logged[1].requested_at + 20, "label": 1},  # within 30 s
        {"customer": "c2", "asked_at": "2023-11-14T22:15:20Z", "label": 0},  # ISO time of logged[2] (+2 min)
        {"customer": "c3", "asked_at": logged[3].requested_at + 45, "label": 1},  # too far: unknown
        {"customer": "zz", "asked_at": logged[4].requested_at, "label": 1},  # no such customer
    ]
    assert logged[2].requested_at == pd.Timestamp("2023-11-14T22:15:20Z").timestamp()
    result = load_labels(keyed, write_csv(tmp_path / "outcomes.csv", rows), now=NOW)
    assert (result.counts.added, result.counts.unknown) == (2, 2)
    assert {k: v.label for k, v in stored_labels(engine).items()} == {
        logged[1].prediction_id: 1,
        logged[2].prediction_id: 0,
    }
    assert result.counts.unknown_sample[0].startswith("c3@")
    assert load_labels(keyed, write_csv(tmp_path / "outcomes.csv", rows), now=NOW).counts.written == 0


def test_an_iceberg_table_of_outcomes_is_a_source(
    config: ProjectConfig, engine: Engine, logged: list[PredictionRecord]
) -> None:
    frame = pd.DataFrame({"prediction_id": [r.prediction_id for r in logged[:3]], "label": [1, 0, 1]})
    schema = pa.schema([pa.field("prediction_id", pa.string()), pa.field("label", pa.int64())])
    with open_lake(config) as lake:
        lake.create_or_replace("outcomes", frame, schema)
    result = load_labels(config, "iceberg:outcomes", now=NOW)
    assert result.counts.added == 3
    with pytest.raises(LabelSourceError, match="the lake has no table 'nothing'"):
        load_labels(config, "iceberg:nothing")


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_command_prints_a_summary_or_json_and_fails_cleanly_on_a_bad_file(
    baked_project: Path,
    store_url: str,
    engine: Engine,
    logged: list[PredictionRecord],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in store_environ(tmp_path, store_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CML_MLOPS_PROFILE", raising=False)
    source = write_csv(tmp_path / "labels.csv", [{"prediction_id": logged[0].prediction_id, "label": 1}])
    runner = CliRunner()
    shown = runner.invoke(cli, ["--project-dir", str(baked_project), "labels", "load", source])
    assert shown.exit_code == 0, shown.output
    assert "1 label(s) from" in shown.output and "1 added" in shown.output
    as_json = runner.invoke(cli, ["--project-dir", str(baked_project), "labels", "load", source, "--json"])
    assert as_json.exit_code == 0 and '"unchanged": 1' in as_json.output
    bad = write_csv(tmp_path / "bad.csv", [{"prediction_id": logged[1].prediction_id, "label": 7}])
    refused = runner.invoke(cli, ["--project-dir", str(baked_project), "labels", "load", bad])
    assert refused.exit_code == 1
    assert refused.output.strip().count("\n") == 0 and "label '7' is not 0 or 1" in refused.output
    assert count(engine, "labels") == 1


@pytest.fixture
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, list[str]]]:
    """A store of 20 predictions, for the property test (module state is reset per example)."""
    folder = tmp_path_factory.mktemp("idempotence")
    created = create_engine(f"sqlite:///{folder / 'store.db'}")
    migrate(created)
    records = [prediction(index) for index in range(20)]
    with PredictionLog(created, spill_dir=folder / "spill") as log:
        log.add(records)
    try:
        yield created, [record.prediction_id for record in records]
    finally:
        created.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    choices=st.lists(st.tuples(st.integers(0, 24), st.integers(0, 1), st.floats(0, 2e9, allow_nan=False)), max_size=30)
)
def test_loading_the_same_labels_twice_adds_nothing(
    sqlite_engine: tuple[Engine, list[str]], choices: list[tuple[int, int, float]]
) -> None:
    engine, ids = sqlite_engine
    with engine.begin() as connection:
        connection.execute(delete(labels))
    batch = [LabelRecord(ids[i] if i < len(ids) else f"ghost-{i}", label, at) for i, label, at in choices]
    first = apply_labels(engine, batch)
    after_first = stored_labels(engine)
    second = apply_labels(engine, batch)
    assert (second.added, second.updated) == (0, 0)
    assert stored_labels(engine) == after_first
    known = {label.prediction_id for label in batch if label.prediction_id in ids}
    assert second.unchanged == len(known) == first.added
    assert second.unknown == first.unknown == len({label.prediction_id for label in batch} - known)


def test_the_prediction_log_writes_labels_the_same_idempotent_way(
    engine: Engine, logged: list[PredictionRecord], tmp_path: Path
) -> None:
    """`simulate` (and the servers) send labels through the PredictionLog: same writer as `labels load`."""
    first = [LabelRecord(record.prediction_id, 1, record.requested_at + 60) for record in logged[:3]]
    with PredictionLog(engine, spill_dir=tmp_path / "spill") as log:
        log.add_labels(first)
    stored = stored_labels(engine)
    later = [LabelRecord(label.prediction_id, 1, label.labelled_at + 999) for label in first]
    with PredictionLog(engine, spill_dir=tmp_path / "spill") as log:
        log.add_labels(later)  # the same outcomes, sent again later
    assert stored_labels(engine) == stored  # unchanged: the first labelled_at is kept
    counts = apply_labels(engine, later)
    assert (counts.added, counts.updated, counts.unchanged) == (0, 0, 3)

"""Capture's done-when: a client that is not `simulate` calls the served model, its predictions land in the store,
and the labels loaded later with `cml-mlops labels load` count in the next `cml-mlops monitor` run."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sqlalchemy.exc import OperationalError

from cml_mlops.project import load_feature_spec
from tests.serving.helpers import ACCESS_KEY, run_cli
from tests.simulation.conftest import Served
from tests.simulation.helpers import logged
from tests.simulation.private_postgres import wait_until

pytestmark = pytest.mark.slow

REQUESTS = 15
PER_REQUEST = 20


def test_a_plain_clients_predictions_are_captured_and_labels_loaded_later_reach_monitoring(
    served: Served, bank_frame: pd.DataFrame, tmp_path: Path
) -> None:
    config = served.config()
    spec = load_feature_spec(config)
    target = spec.target
    rows = bank_frame.head(REQUESTS * PER_REQUEST)
    inputs = rows.drop(columns=[target])
    answered: list[str] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{config.serving.port}", timeout=60) as client:
        for start in range(0, len(inputs), PER_REQUEST):
            part = inputs.iloc[start : start + PER_REQUEST]
            request = {"dataframe_records": json.loads(part.to_json(orient="records"))}
            answer = client.post("/model", json={"accessKey": ACCESS_KEY, "request": request})
            assert answer.status_code == 200, answer.text
            answered += [p["prediction_id"] for p in answer.json()["response"]["predictions"]]
    assert len(set(answered)) == len(rows)

    # The server captured every prediction it answered, with no help from the client.
    def captured() -> set[str]:
        try:
            frame = logged(config)
        except OperationalError:  # the server makes its tables on its first write
            return set()
        return set(frame["prediction_id"]) if len(frame) else set()

    assert wait_until(lambda: set(answered) <= captured(), timeout=60)

    # Ground truth arrives later, as a CSV keyed by prediction_id; loading it twice adds nothing.
    outcomes = tmp_path / "outcomes.csv"
    pd.DataFrame(
        {"prediction_id": answered, "label": (rows[target] == spec.positive_label).astype(int).to_numpy()}
    ).to_csv(outcomes, index=False)
    for attempt in range(2):
        loaded = run_cli(served.project, "labels", "load", str(outcomes), "--json")
        assert loaded.exit_code == 0, loaded.output
        counts = json.loads(loaded.stdout)
        assert counts["added"] == (len(rows) if attempt == 0 else 0) and counts["unknown"] == 0, loaded.stdout
    assert logged(config)["label"].notna().sum() == len(rows)

    # The test-registered version has no reference profile: --backfill-profiles builds it from its training data.
    monitored = run_cli(
        served.project, "monitor", "--window", "1d", "--windows", "1", "--no-progress", "--backfill-profiles"
    )
    assert monitored.exit_code in (0, 1), monitored.output  # ok or an alert; not misconfigured, not "no data"
    report = json.loads((config.path(config.reports.dir) / "monitoring" / "monitoring.json").read_text())
    figures = report["windows"][-1]["figures"]
    assert figures["labelled"] == len(rows) and figures["roc_auc"] is not None

"""A model (fitted here, no MLflow) and a real uvicorn server in a thread, for the app's HTTP behaviour."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from types import ModuleType

import pandas as pd
import pytest
import uvicorn

from cml_mlops.serving.app import AppSettings, ServingApp
from cml_mlops.serving.scoring import Scorer
from cml_mlops.serving.server import tcp_listener
from cml_mlops.serving.validation import RowValidator
from cml_mlops.tracking import LoadedModel
from tests.serving.helpers import ACCESS_KEY
from tests.support.models import simple_pipeline

APP_MAX_BODY = 200_000
APP_MAX_ROWS = 300


@pytest.fixture(scope="session")
def bank_model(bank_features: ModuleType, bank_frame: pd.DataFrame) -> LoadedModel:
    spec = bank_features.FEATURES
    inputs = list(spec.inputs())
    pipeline = simple_pipeline(spec).fit(bank_frame[inputs], (bank_frame[spec.target] == "yes").astype(int))
    return LoadedModel(pipeline, "bank-test", "7", "run", 0.3, "yes", "no", inputs)


@pytest.fixture(scope="session")
def scorer(bank_contracts: ModuleType, bank_model: LoadedModel) -> Scorer:
    return Scorer(bank_model, RowValidator.from_contract(bank_contracts.RawRecord, bank_model.features))


@pytest.fixture(scope="module")
def app_server(scorer: Scorer) -> Iterator[tuple[str, ServingApp]]:
    """The ServingApp behind a real uvicorn on a loopback port (small limits, so limit tests stay small)."""
    settings = AppSettings("bank-test", ACCESS_KEY, max_body_bytes=APP_MAX_BODY, max_batch_rows=APP_MAX_ROWS)
    app = ServingApp(scorer, settings)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", access_log=False, log_level="warning"))
    listener = tcp_listener("127.0.0.1", 0)
    port = listener.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=30)

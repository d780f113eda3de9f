"""Reading what a simulation logged, and what it should have sent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from click.testing import Result
from sqlalchemy import Engine, create_engine, select

from cml_mlops.config import ProjectConfig
from cml_mlops.monitoring.database import store_url
from cml_mlops.monitoring.schema import labels, predictions
from tests.serving.helpers import run_cli

START = "2026-01-05T08:00:00Z"
START_EPOCH = 1767600000.0


def simulate(project: Path, *args: str) -> Result:
    return run_cli(project, "simulate", "--no-progress", *args)


def store(config: ProjectConfig) -> Engine:
    return create_engine(store_url(config))


def logged(config: ProjectConfig) -> pd.DataFrame:
    """The predictions table in request order, with each prediction's label (NaN when none)."""
    engine = store(config)
    try:
        with engine.connect() as connection:
            query = select(predictions, labels.c.label, labels.c.labelled_at).outerjoin(labels)
            rows = connection.execute(query.order_by(predictions.c.requested_at)).mappings().all()
    finally:
        engine.dispose()
    return pd.DataFrame([dict(row) for row in rows])


@contextmanager
def served_with(project: Path, version: str, monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[None]:
    """The server restarted with `env` (e.g. a monitoring DSN: the server captures where it was started to);
    afterwards restarted as it was, so that the module's other tests find the server they expect."""
    with monkeypatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        result = run_cli(project, "deploy", "--version", version)
        assert result.exit_code == 0, result.output
        try:
            yield
        finally:
            for name in env:
                patch.delenv(name, raising=False)
            result = run_cli(project, "deploy", "--version", version)
            assert result.exit_code == 0, result.output

"""Records and queries shared by the store tests."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine, select, text

from cml_mlops.monitoring.schema import labels, predictions
from cml_mlops.monitoring.store import LabelRecord, PredictionRecord

FEATURES = {"age": 41, "job": "technician", "balance": -12.5, "poutcome": None, "note": "café ✓"}


def prediction(index: int = 0, prediction_id: str | None = None, **changes: Any) -> PredictionRecord:
    values: dict[str, Any] = {
        "prediction_id": prediction_id or uuid.uuid4().hex,
        "requested_at": 1_700_000_000.0 + index * 60,
        "model_name": "bank-test",
        "model_version": "3",
        "features": {**FEATURES, "age": 18 + index % 60},
        "probability": (index % 100) / 99,
        "prediction": int(index % 100 >= 50),
        "latency_ms": 1.5 + index,
        "scenario": "holdout",
    }
    values.update(changes)
    return PredictionRecord(**values)


def predictions_batch(count: int) -> list[PredictionRecord]:
    return [prediction(index) for index in range(count)]


def label_of(record: PredictionRecord, label: int = 1, delay: float = 3600.0) -> LabelRecord:
    return LabelRecord(record.prediction_id, label, record.requested_at + delay)


def stored_predictions(engine: Engine) -> dict[str, PredictionRecord]:
    """Every stored prediction, read back as records (so equality compares every column)."""
    with engine.connect() as connection:
        rows = connection.execute(select(predictions)).mappings().all()
    return {row["prediction_id"]: PredictionRecord(**dict(row)) for row in rows}


def stored_labels(engine: Engine) -> dict[str, LabelRecord]:
    with engine.connect() as connection:
        rows = connection.execute(select(labels)).mappings().all()
    return {row["prediction_id"]: LabelRecord(**dict(row)) for row in rows}


def count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())

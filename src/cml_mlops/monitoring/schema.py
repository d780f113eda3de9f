"""The monitoring store's tables, shared by the writers (simulation, serving) and the checks.

Times are seconds since the Unix epoch (UTC) in double precision: window arithmetic stays plain SQL that
PostgreSQL and SQLite run alike (`floor(requested_at / window_seconds)`), and the index serves range scans.
Features are one JSON document per prediction (JSONB on PostgreSQL), so the schema does not change with the
use case's columns. Migrations create and upgrade these tables; this module is their target shape.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, ForeignKey, Index, MetaData, SmallInteger, String, Table
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

FeaturesJson = JSON().with_variant(JSONB(), "postgresql")

predictions = Table(
    "predictions",
    metadata,
    Column("prediction_id", String(64), primary_key=True, comment="client-chosen id, e.g. a UUID hex"),
    Column("requested_at", Float(precision=53), nullable=False, comment="epoch seconds, UTC"),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("scenario", String(64), nullable=False, server_default="", comment="simulation scenario or source"),
    Column("features", FeaturesJson, nullable=False, comment="the request's record, column -> value"),
    Column("probability", Float(precision=53), nullable=False, comment="predicted probability of the positive class"),
    Column("prediction", SmallInteger, nullable=False, comment="0/1 at the model's threshold"),
    Column("latency_ms", Float(precision=53), nullable=True, comment="request latency (server or client side)"),
    Column("arm", String(64), nullable=True, comment="A/B arm that served the prediction; null: no experiment"),
)
Index("ix_predictions_requested_at", predictions.c.requested_at)
Index("ix_predictions_version_time", predictions.c.model_version, predictions.c.requested_at)

labels = Table(
    "labels",
    metadata,
    Column(
        "prediction_id",
        String(64),
        ForeignKey("predictions.prediction_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("label", SmallInteger, nullable=False, comment="ground truth, 0/1"),
    Column("labelled_at", Float(precision=53), nullable=False, comment="epoch seconds, UTC"),
)
Index("ix_labels_labelled_at", labels.c.labelled_at)

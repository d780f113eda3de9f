"""Create the prediction log: `predictions` and `labels`, with the indexes of time-window queries.

Frozen: this is the shape of revision 0001, written out rather than read from schema.py, so that it still
creates the same tables after schema.py moves on (later changes are later revisions).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

DOUBLE = sa.Float(precision=53)
FEATURES = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("prediction_id", sa.String(64), primary_key=True, comment="client-chosen id, e.g. a UUID hex"),
        sa.Column("requested_at", DOUBLE, nullable=False, comment="epoch seconds, UTC"),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column(
            "scenario", sa.String(64), nullable=False, server_default="", comment="simulation scenario or source"
        ),
        sa.Column("features", FEATURES, nullable=False, comment="the request's record, column -> value"),
        sa.Column("probability", DOUBLE, nullable=False, comment="predicted probability of the positive class"),
        sa.Column("prediction", sa.SmallInteger, nullable=False, comment="0/1 at the model's threshold"),
        sa.Column("latency_ms", DOUBLE, nullable=True, comment="client-observed request latency"),
    )
    op.create_index("ix_predictions_requested_at", "predictions", ["requested_at"])
    op.create_index("ix_predictions_version_time", "predictions", ["model_version", "requested_at"])
    op.create_table(
        "labels",
        sa.Column(
            "prediction_id",
            sa.String(64),
            sa.ForeignKey("predictions.prediction_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("label", sa.SmallInteger, nullable=False, comment="ground truth, 0/1"),
        sa.Column("labelled_at", DOUBLE, nullable=False, comment="epoch seconds, UTC"),
    )
    op.create_index("ix_labels_labelled_at", "labels", ["labelled_at"])


def downgrade() -> None:
    op.drop_table("labels")
    op.drop_table("predictions")

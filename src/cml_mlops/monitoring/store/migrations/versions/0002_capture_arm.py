"""Server-side capture: the A/B arm that served each prediction (null when no experiment runs).

Frozen, like 0001. The latency column keeps its name; its comment now says it may be measured by the server.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


ARM = sa.Column("arm", sa.String(64), nullable=True, comment="A/B arm that served the prediction; null: no experiment")
SERVER_LATENCY = "request latency (server or client side)"
CLIENT_LATENCY = "client-observed request latency"


def upgrade() -> None:
    op.add_column("predictions", ARM)  # a nullable column: a plain ALTER TABLE on both databases
    _latency_comment(SERVER_LATENCY, CLIENT_LATENCY)


def downgrade() -> None:
    _latency_comment(CLIENT_LATENCY, SERVER_LATENCY)
    with op.batch_alter_table("predictions") as batch:  # SQLite drops columns by copying the table
        batch.drop_column("arm")


def _latency_comment(comment: str, existing: str) -> None:
    if op.get_bind().dialect.name == "postgresql":  # SQLite keeps no comments
        op.alter_column(
            "predictions", "latency_ms", existing_type=sa.Float(precision=53), existing_nullable=True,
            comment=comment, existing_comment=existing,
        )  # fmt: skip

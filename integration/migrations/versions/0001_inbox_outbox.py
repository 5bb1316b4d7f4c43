"""Inbox, outbox and feed position.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_position",
        sa.Column("feed", sa.String(40), primary_key=True),
        sa.Column("cursor", sa.String(64), nullable=True),
    )
    op.create_table(
        "inbox_event",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("claim_id", sa.String(64), nullable=False, index=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("target", sa.String(20), nullable=False),
        sa.Column("municipality_cvr", sa.String(8), nullable=False, index=True),
        sa.Column("claim_id", sa.String(64), nullable=False, index=True),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("transaction_id", sa.String(36), nullable=False, unique=True),
        sa.Column("source_event", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("answer", sa.JSON, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("outbox_message")
    op.drop_table("inbox_event")
    op.drop_table("feed_position")

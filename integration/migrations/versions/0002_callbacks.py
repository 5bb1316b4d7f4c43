"""Claims the engine registered, and the callbacks it received.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim_record",
        sa.Column("claim_id", sa.String(64), primary_key=True),
        sa.Column("municipality_cvr", sa.String(8), nullable=False, index=True),
        sa.Column("account_id", sa.String(64), nullable=False, index=True),
        sa.Column("subclaim_ids", sa.JSON, nullable=False),
    )
    op.create_table(
        "received_callback",
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("municipality_cvr", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("received_callback")
    op.drop_table("claim_record")

"""Debtor movements that reconciliation repaired in FBS.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repaired_movement",
        sa.Column("signature", sa.String(200), primary_key=True),
        sa.Column("claim_id", sa.String(64), nullable=False, index=True),
        sa.Column("repaired_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("repaired_movement")

"""Leases: several engine workers share the outbox; the feed cursor row exists to be locked.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(64), nullable=True))
        batch.add_column(sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "INSERT INTO feed_position (feed, cursor) SELECT 'fbs', NULL WHERE NOT EXISTS "
        "(SELECT 1 FROM feed_position WHERE feed = 'fbs')"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("leased_until")
        batch.drop_column("lease_owner")

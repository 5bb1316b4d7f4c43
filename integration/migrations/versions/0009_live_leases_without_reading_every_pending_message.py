"""An index for "which workers hold live leases", asked once per delivery cycle.

Before a cycle delivers, a worker frees the leases of dead engine processes on its host; to find them it
asks which owners hold a lease that has not expired (`status = 'PENDING' AND leased_until > now`). SQLite
answered through the status's index and read every pending message: 11 ms a cycle with 100,000 pending
(a feed backlog, a final extract), more with a longer outbox, on every cycle however short its interval.
With `ix_outbox_message_live_leases` it is a range over the live leases only (at most a lease batch per
worker).

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_message_live_leases", "outbox_message", ["status", "leased_until"])


def downgrade() -> None:
    op.drop_index("ix_outbox_message_live_leases", table_name="outbox_message")

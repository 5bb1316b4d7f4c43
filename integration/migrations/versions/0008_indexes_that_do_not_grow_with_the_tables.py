"""Two indexes for questions SQLite answered by walking rows that grow with the tables.

The lease takes a message only when no earlier message of its claim is pending. SQLite, without
statistics, answered that per candidate through a one-column index (the municipality's, or the status's)
and read every earlier row it held for the claim id: with the municipality's index every message the
municipality ever had, delivered ones too, so each lease cost more as the outbox grew. With
`ix_outbox_message_claim_status` it is one index seek per candidate.

A callback about a whole account (KONTO_LUKKET) looks up the account's claims by account and
municipality; SQLite chose the municipality's index and read every claim of the municipality. With
`ix_claim_record_account` it reads the account's claims only.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_message_claim_status", "outbox_message", ["claim_id", "municipality_cvr", "status", "id"]
    )
    op.create_index("ix_claim_record_account", "claim_record", ["account_id", "municipality_cvr"])


def downgrade() -> None:
    op.drop_index("ix_claim_record_account", table_name="claim_record")
    op.drop_index("ix_outbox_message_claim_status", table_name="outbox_message")

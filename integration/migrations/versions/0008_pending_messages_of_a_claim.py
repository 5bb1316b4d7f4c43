"""An index on the messages of a claim, for the lease's "is an earlier message of this claim pending?".

The lease takes a message only when no earlier message of the same claim is pending. Without this
index SQLite answered that per candidate by walking every pending message with a smaller id through the
status index and reading each row for its claim: with messages pending ahead of the due ones (retries in
their backoff, a route whose circuit is open, the messages in flight) every lease cost pending × batch
row reads, growing with the backlog. With it the question is one index seek per candidate.

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


def downgrade() -> None:
    op.drop_index("ix_outbox_message_claim_status", table_name="outbox_message")

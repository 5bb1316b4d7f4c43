"""Which FBS claim a debtor claim carries, where the two ids differ.

A write-up (opskrivning) of an FBS claim is registered at the debtor system as a further claim, and a
replacement acknowledged after it was raised as a new acknowledged claim (the ØiR messages cannot change
a registered claim's amount or kind); their callbacks post to the FBS claim named here. NULL: the debtor
claim is FBS's own id (every row written before this revision).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claim_record") as batch:
        batch.add_column(sa.Column("fbs_claim_id", sa.String(64), nullable=True))
        batch.create_index("ix_claim_record_fbs_claim_id", ["fbs_claim_id"])


def downgrade() -> None:
    with op.batch_alter_table("claim_record") as batch:
        batch.drop_index("ix_claim_record_fbs_claim_id")
        batch.drop_column("fbs_claim_id")

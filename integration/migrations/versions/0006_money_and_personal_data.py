"""What the engine knows of a claim's money, so a callback that does not fit is refused at once.

`amount_oere` and `part_amounts` are the registered claim and its sub-claims; `posted_oere` is what
the engine has queued for FBS on the claim (callbacks and reconciliation repairs). Rows written before
this revision have no amounts (NULL): their callbacks are checked for part sums only.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claim_record") as batch:
        batch.add_column(sa.Column("amount_oere", sa.Integer, nullable=True))
        batch.add_column(sa.Column("part_amounts", sa.JSON, nullable=True))
        batch.add_column(sa.Column("posted_oere", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("claim_record") as batch:
        batch.drop_column("posted_oere")
        batch.drop_column("part_amounts")
        batch.drop_column("amount_oere")

"""Drone track points keep the index of the ledger entry that logged their batch.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("track_points") as batch:
        batch.add_column(sa.Column("ledger_index", sa.BigInteger(), nullable=True))
    op.create_index("ix_track_points_ledger_index", "track_points", ["ledger_index"])


def downgrade() -> None:
    op.drop_index("ix_track_points_ledger_index", "track_points")
    with op.batch_alter_table("track_points") as batch:
        batch.drop_column("ledger_index")

"""Quarantined observations (a later stage failed on them) and the follower's lease holder.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from ceasefire.store.schema import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quarantine",
        sa.Column("observation", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["observation"], ["observations.id"], name="fk_quarantine_observation_observations"
        ),
        sa.PrimaryKeyConstraint("observation", name="pk_quarantine"),
    )
    with op.batch_alter_table("correlation_cursor") as batch:
        batch.add_column(sa.Column("holder", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("correlation_cursor") as batch:
        batch.drop_column("holder")
    op.drop_table("quarantine")

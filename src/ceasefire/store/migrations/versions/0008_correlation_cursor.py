"""The correlation follower's cursor (observations up to it are in incidents) and heartbeat.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from ceasefire.store.schema import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "correlation_cursor",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("observation", sa.BigInteger, nullable=False),
        sa.Column("alive_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_correlation_cursor"),
    )
    # Observations already stored were correlated by the intake that stored them.
    newest = op.get_bind().execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM observations"))
    op.bulk_insert(table, [{"id": 1, "observation": int(newest.scalar_one())}])


def downgrade() -> None:
    op.drop_table("correlation_cursor")

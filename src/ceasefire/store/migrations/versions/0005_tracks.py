"""Tracks on observations; line-crossing incidents keep their track, refs and detail.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("observations") as batch:
        batch.add_column(sa.Column("track", sa.String(128), nullable=True))
    op.create_index("ix_observations_track", "observations", ["contingent", "track"])
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("track", sa.String(160), nullable=True))
        batch.add_column(sa.Column("refs", sa.Text, nullable=True))
        batch.add_column(sa.Column("detail", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("detail")
        batch.drop_column("refs")
        batch.drop_column("track")
    op.drop_index("ix_observations_track", "observations")
    with op.batch_alter_table("observations") as batch:
        batch.drop_column("track")

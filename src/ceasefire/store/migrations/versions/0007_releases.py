"""Releases: every bundle as written, so that a liaison can fetch what went to its party.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from ceasefire.store.schema import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", BigKey, primary_key=True, autoincrement=True),
        sa.Column("ledger_index", sa.BigInteger, nullable=False),
        sa.Column("released_to", sa.String(3), nullable=False),
        sa.Column("released_at", UTCDateTime, nullable=False),
        sa.Column("log_size", sa.BigInteger, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("bundle_sha256", sa.String(64), nullable=False),
        sa.Column("bundle", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_releases"),
        sa.UniqueConstraint("ledger_index", name="uq_releases_ledger_index"),
    )
    op.create_index("ix_releases_released_to", "releases", ["released_to"])


def downgrade() -> None:
    op.drop_index("ix_releases_released_to", "releases")
    op.drop_table("releases")

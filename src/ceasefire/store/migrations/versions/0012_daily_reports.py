"""Signed daily reports (docs/reports.md).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from ceasefire.store.schema import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "daily_reports",
        sa.Column("id", BigKey, autoincrement=True, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("made_at", UTCDateTime, nullable=False),
        sa.Column("ledger_index", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_daily_reports"),
        sa.UniqueConstraint("ledger_index", name="uq_daily_reports_ledger_index"),
        sa.UniqueConstraint("day", "lang", "format", "version", name="uq_daily_reports_version"),
    )


def downgrade() -> None:
    op.drop_table("daily_reports")

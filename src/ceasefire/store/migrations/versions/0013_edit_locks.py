"""The screens' edit locks on incidents, and each contingent's confirmation of a handover.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from ceasefire.store.schema import BigKey, UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edit_locks",
        sa.Column("incident_id", sa.String(32), nullable=False),
        sa.Column("contingent", sa.String(3), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("taken_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_name"], ["users.name"], name="fk_edit_locks_user_name_users"
        ),
        sa.PrimaryKeyConstraint("incident_id", "contingent", name="pk_edit_locks"),
    )
    op.create_table(
        "handover_confirmations",
        sa.Column("shift_id", sa.String(32), nullable=False),
        sa.Column("contingent", sa.String(3), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("confirmed_at", UTCDateTime, nullable=False),
        sa.Column("ledger_index", BigKey, nullable=False),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["shifts.id"], name="fk_handover_confirmations_shift_id_shifts"
        ),
        sa.ForeignKeyConstraint(
            ["user_name"], ["users.name"], name="fk_handover_confirmations_user_name_users"
        ),
        sa.PrimaryKeyConstraint("shift_id", "contingent", name="pk_handover_confirmations"),
    )


def downgrade() -> None:
    op.drop_table("handover_confirmations")
    op.drop_table("edit_locks")

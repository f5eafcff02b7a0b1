"""Contingent nodes: signed observations, the nodes' registered keys, the batches received.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from ceasefire.store.schema import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_key = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("observations") as batch:
        batch.add_column(sa.Column("signature", sa.Text, nullable=True))
    op.create_table(
        "intake_keys",
        sa.Column("id", _key, autoincrement=True, nullable=False),
        sa.Column("contingent", sa.String(3), nullable=False),
        sa.Column("vkey", sa.Text, nullable=False),
        sa.Column("registered_at", UTCDateTime, nullable=False),
        sa.Column("retired_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_intake_keys"),
        sa.UniqueConstraint("vkey", name="uq_intake_keys_vkey"),
    )
    op.create_index("ix_intake_keys_contingent", "intake_keys", ["contingent"])
    op.create_table(
        "node_batches",
        sa.Column("contingent", sa.String(3), nullable=False),
        sa.Column("sequence", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("contingent", "sequence", name="pk_node_batches"),
    )


def downgrade() -> None:
    op.drop_table("node_batches")
    op.drop_index("ix_intake_keys_contingent", "intake_keys")
    op.drop_table("intake_keys")
    with op.batch_alter_table("observations") as batch:
        batch.drop_column("signature")

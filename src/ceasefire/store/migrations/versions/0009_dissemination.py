"""Dissemination: notices, their deliveries (the outbox) and attempts, party messages, the
dispatcher's lease (docs/direct-lines.md).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from ceasefire.store.schema import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("batch", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("cause", sa.String(80), nullable=False),
        sa.Column("incident_id", sa.String(32)),
        sa.Column("recipient", sa.String(3), nullable=False),
        sa.Column("recipient_kind", sa.String(16), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("ack_due_at", UTCDateTime, nullable=False),
        sa.Column("ack_token", sa.String(64), nullable=False),
        sa.Column("acked_at", UTCDateTime),
        sa.Column("acked_by", sa.String(128)),
        sa.Column("ack_index", sa.BigInteger),
        sa.Column("escalated_at", UTCDateTime),
        sa.Column("ledger_index", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
    )
    op.create_index("ix_notices_batch", "notices", ["batch"])
    op.create_index("ix_notices_incident_id", "notices", ["incident_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", BigKey, autoincrement=True, nullable=False),
        sa.Column("notice_id", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("queue", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", UTCDateTime, nullable=False),
        sa.Column("delivered_at", UTCDateTime),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_at"])
    op.create_index("ix_deliveries_notice_id", "deliveries", ["notice_id"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", BigKey, autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.BigInteger, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("ok", sa.Integer, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("ledger_index", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_attempts"),
    )
    op.create_index("ix_delivery_attempts_delivery_id", "delivery_attempts", ["delivery_id"])
    op.create_table(
        "party_messages",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("party", sa.String(3), nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("notice_id", sa.String(40)),
        sa.Column("observation", sa.String(160)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("ledger_index", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_party_messages"),
    )
    op.create_table(
        "dispatcher_lease",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(80), nullable=False),
        sa.Column("alive_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dispatcher_lease"),
    )


def downgrade() -> None:
    for table in ("dispatcher_lease", "party_messages", "delivery_attempts", "deliveries"):
        op.drop_table(table)
    op.drop_table("notices")

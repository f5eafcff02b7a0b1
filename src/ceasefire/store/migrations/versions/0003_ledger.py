"""The ledger: the Merkle log, its head, cosigned checkpoints, witness state, observation links.

Observations stored before this revision are appended to the log here, in the order they were
received, so that every observation has its entry (docs/ledger.md).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from ceasefire.store.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger",
        sa.Column("index", BigKey, autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(255), nullable=False),
        sa.Column("entry", sa.Text, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("appended_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("index", name="pk_ledger"),
    )
    # Observations are found through observations.ledger_index; the rest by kind and ref.
    only_others = sa.text("kind <> 'observation'")
    op.create_index(
        "ix_ledger_kind_ref",
        "ledger",
        ["kind", "ref"],
        sqlite_where=only_others,
        postgresql_where=only_others,
    )
    head = op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_head"),
    )
    op.create_table(
        "checkpoints",
        sa.Column("id", BigKey, primary_key=True, autoincrement=True),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_checkpoints"),
    )
    op.create_index("ix_checkpoints_size", "checkpoints", ["size"])
    op.create_table(
        "witness_state",
        sa.Column("witness", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("witness", "origin", name="pk_witness_state"),
    )
    op.add_column("observations", sa.Column("ledger_index", sa.BigInteger, nullable=True))
    op.create_index("uq_observations_ledger_index", "observations", ["ledger_index"], unique=True)
    size = _backfill()
    op.bulk_insert(head, [{"id": 1, "size": size}])


def _backfill() -> int:
    """Append the observations already stored, in order of receipt; returns the log size.

    Self-contained on purpose (a migration must not change when the code does): the envelope
    is the one of docs/ledger.md, built from the stored canonical record text.
    """
    bind = op.get_bind()
    observations = sa.table(
        "observations",
        sa.column("id", sa.BigInteger),
        sa.column("contingent", sa.String),
        sa.column("source_id", sa.String),
        sa.column("record", sa.Text),
        sa.column("ledger_index", sa.BigInteger),
    )
    ledger = sa.table(
        "ledger",
        sa.column("index", sa.BigInteger),
        sa.column("kind", sa.String),
        sa.column("ref", sa.String),
        sa.column("entry", sa.Text),
        sa.column("leaf_hash", sa.LargeBinary),
        sa.column("appended_at", UTCDateTime),
    )
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    rows = bind.execute(
        sa.select(
            observations.c.id,
            observations.c.contingent,
            observations.c.source_id,
            observations.c.record,
        ).order_by(observations.c.id)
    ).all()
    entries = []
    links = []
    for index, row in enumerate(rows):
        ref = f"{row.contingent}/{row.source_id}"
        entry = (
            '{"appended_at":'
            + _string(stamp)
            + ',"kind":"observation","record":'
            + row.record
            + ',"ref":'
            + _string(ref)
            + "}"
        )
        leaf = hashlib.sha256(b"\x00" + entry.encode("utf-8")).digest()
        entries.append(
            {
                "index": index,
                "kind": "observation",
                "ref": ref,
                "entry": entry,
                "leaf_hash": leaf,
                "appended_at": now,
            }
        )
        links.append({"key": row.id, "at": index})
    if entries:
        bind.execute(sa.insert(ledger), entries)
        bind.execute(
            sa.update(observations)
            .where(observations.c.id == sa.bindparam("key"))
            .values(ledger_index=sa.bindparam("at")),
            links,
        )
    return len(entries)


def _string(text: str) -> str:
    """An RFC 8785 JSON string: json.dumps escapes exactly as RFC 8785 does for these."""
    return json.dumps(text, ensure_ascii=False)


def downgrade() -> None:
    op.drop_index("uq_observations_ledger_index", "observations")
    with op.batch_alter_table("observations") as batch:
        batch.drop_column("ledger_index")
    op.drop_table("witness_state")
    op.drop_index("ix_checkpoints_size", "checkpoints")
    op.drop_table("checkpoints")
    op.drop_table("ledger_head")
    op.drop_index("ix_ledger_kind_ref", "ledger")
    op.drop_table("ledger")

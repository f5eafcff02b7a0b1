"""The ledger's tables (DESIGN.md principle 4; docs/ledger.md): the log, its head, checkpoints,
the embedded witnesses' state, the releases and the contingent nodes' registered intake keys.
Only :mod:`ceasefire.ledger` reads and writes them; every other package goes through its
functions."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from ceasefire.store.schema import BigKey, UTCDateTime, metadata

# The append-only Merkle log: one row per leaf, from index 0. `entry` is the exact RFC 8785
# canonical JSON text that was hashed (the leaf data); `leaf_hash` is SHA-256(0x00 || entry),
# kept so the tree can be rebuilt without reading the entries; `kind` and `ref` repeat the
# envelope's fields so a record's entries can be found by index.
ledger = Table(
    "ledger",
    metadata,
    Column("index", BigKey, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False),
    Column("ref", String(255), nullable=False),
    Column("entry", Text, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("appended_at", UTCDateTime, nullable=False),
    # Observations are found through observations.ledger_index: leaving them out of this
    # index makes appends markedly faster (measured with `ceasefire bench ledger`).
    Index(
        "ix_ledger_kind_ref",
        "kind",
        "ref",
        sqlite_where=text("kind <> 'observation'"),
        postgresql_where=text("kind <> 'observation'"),
    ),
)

# One row (id 1): the log's size. Appenders lock this row (UPDATE ... RETURNING) for the rest
# of their transaction, so indexes are handed out consecutively on every engine.
ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
)


# Checkpoints that count: signed by the center and cosigned by every contingent (the note).
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("id", BigKey, primary_key=True, autoincrement=True),
    Column("origin", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_checkpoints_size", "size"),
)

# Each contingent's witness: the last tree head it cosigned per log (tlog-witness state). In a
# real deployment it lives on the contingent's own node; the embedded center keeps it here.
witness_state = Table(
    "witness_state",
    metadata,
    Column("witness", String(64), primary_key=True),
    Column("origin", String(255), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


# Every bundle released to a party or force, as written (a liaison fetches its own here).
releases = Table(
    "releases",
    metadata,
    Column("id", BigKey, primary_key=True, autoincrement=True),
    Column("ledger_index", BigInteger, nullable=False, unique=True),
    Column("released_to", String(3), nullable=False, index=True),
    Column("released_at", UTCDateTime, nullable=False),
    Column("log_size", BigInteger, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("bundle_sha256", String(64), nullable=False),
    Column("bundle", Text, nullable=False),
)

# The public key each contingent's node signs its records with, registered at the center (the
# signer key never leaves the node). One current key per contingent; earlier ones are retired.
intake_keys = Table(
    "intake_keys",
    metadata,
    Column("id", BigKey, primary_key=True, autoincrement=True),
    Column("contingent", String(3), nullable=False, index=True),
    Column("vkey", Text, nullable=False, unique=True),
    Column("registered_at", UTCDateTime, nullable=False),
    Column("retired_at", UTCDateTime, nullable=True),
)


# Only in a witness node's own state file, never in the center's database: what it holds
# must not be where the attacker it guards against writes. One row per cosigned growth: the
# leaf hashes of entries start.., 32 bytes each.
node_metadata = MetaData()
witness_leaves = Table(
    "witness_leaves",
    node_metadata,
    Column("witness", String(64), primary_key=True),
    Column("origin", String(255), primary_key=True),
    Column("start", BigInteger, primary_key=True, autoincrement=False),
    Column("leaves", LargeBinary, nullable=False),
)

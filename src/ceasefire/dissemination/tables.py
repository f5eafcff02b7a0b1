"""The tables of dissemination (migration 0009): notices, their deliveries, what came back.

Why these shapes: a notice is one message to one recipient (the same notice id on every
channel, so a receiver drops a repeat); a delivery is that notice on one channel, the row the
dispatcher works through (the transactional outbox); an attempt is one try of a delivery.
Every row that says something happened has the ledger index of its entry.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, String, Table, Text

from ceasefire.store.schema import UTCDateTime, metadata

BigKey = BigInteger().with_variant(Integer(), "sqlite")  # SQLite's rowid needs INTEGER

# One per recipient of one cause (a decision, a complaint, an answer). ``batch`` groups the
# notices written together: parity is checked and skew measured within a batch.
notices = Table(
    "notices",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("batch", String(40), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("cause", String(80), nullable=False),  # DEC-..., CMP-..., ANS-...
    Column("incident_id", String(32)),
    Column("recipient", String(3), nullable=False),
    Column("recipient_kind", String(16), nullable=False),  # party | force | contingent
    Column("role", String(16), nullable=False),  # addressee | copy
    Column("lang", String(8), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),  # the plain text, in the recipient's language
    Column("payload", Text, nullable=False),  # canonical JSON sent on every channel
    Column("content_hash", String(64), nullable=False),  # of the facts: equal across a batch
    Column("payload_hash", String(64), nullable=False),  # of this notice's payload
    Column("created_at", UTCDateTime, nullable=False),
    Column("ack_due_at", UTCDateTime, nullable=False),
    Column("ack_token", String(64), nullable=False),  # the link's secret; never shown
    Column("acked_at", UTCDateTime),
    Column("acked_by", String(128)),
    Column("ack_index", BigInteger),
    Column("escalated_at", UTCDateTime),
    Column("ledger_index", BigInteger, nullable=False),
    Index("ix_notices_batch", "batch"),
    Index("ix_notices_incident_id", "incident_id"),
)

# The outbox: one per notice and channel, in the queue of its recipient and channel.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigKey, primary_key=True, autoincrement=True),
    Column("notice_id", String(40), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("address", Text, nullable=False),
    Column("queue", String(40), nullable=False),  # <recipient>/<channel>
    Column("status", String(16), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False),
    Column("next_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Column("last_error", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_deliveries_due", "status", "next_at"),
    Index("ix_deliveries_notice_id", "notice_id"),
)

# Every try of a delivery, with its outcome (also in the ledger, kind ``delivery``).
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigKey, primary_key=True, autoincrement=True),
    Column("delivery_id", BigInteger, nullable=False),
    Column("number", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("ok", Integer, nullable=False),
    Column("detail", Text, nullable=False),
    Column("ledger_index", BigInteger, nullable=False),
    Index("ix_delivery_attempts_delivery_id", "delivery_id"),
)

# What a party's liaison sends back: answers to a request for an explanation, complaints.
party_messages = Table(
    "party_messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(16), nullable=False),  # answer | complaint
    Column("party", String(3), nullable=False),
    Column("by", String(128), nullable=False),
    Column("notice_id", String(40)),  # the request answered
    Column("observation", String(160)),  # the complaint's observation ref
    Column("text", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("ledger_index", BigInteger, nullable=False),
)

# Files a notice carries where its channel can (e-mail): a signed daily report's document, by
# its SHA-256 (migration 0018). The outbox holds what it sends: the dispatcher reads nothing of
# another room, and a document is kept once however many notices point to it.
notice_files = Table(
    "notice_files",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("media_type", String(80), nullable=False),
    Column("content", LargeBinary, nullable=False),
)

# What dissemination made of each decision's effect (the workflow's ``decision_effects``, read
# through :func:`ceasefire.workflow.decisions.effects_without`): one row per effect, written in
# the transaction of its notices (migration 0019). The primary key is what makes an effect give
# notices once, whatever process, however many at once, a crash between; ``batch`` is the
# notices' (None: the reaction speaks to nobody outside the center).
effect_notices = Table(
    "effect_notices",
    metadata,
    Column("decision_id", String(32), primary_key=True),
    Column("batch", String(40)),
    Column("noticed_at", UTCDateTime, nullable=False),
)

# One dispatcher at a time: it holds this row and renews it while it lives.
dispatcher_lease = Table(
    "dispatcher_lease",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("owner", String(80), nullable=False),
    Column("alive_at", UTCDateTime, nullable=False),
)

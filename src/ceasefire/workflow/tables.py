"""The tables of the joint workflow (docs/workflow.md): users and tokens, assessments, findings,
decisions, their steps and their effects, shifts. Only :mod:`ceasefire.workflow` reads and
writes them; later rooms read decisions' effects through
:func:`ceasefire.workflow.decisions.effects_without`."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ceasefire.store.schema import BigKey, UTCDateTime, metadata

# People and programs. The affiliation is a contingent (analyst, duty_officer, head), the
# peacekeeping force (liaison), a party (party_liaison) or empty (auditor). Users are disabled,
# never deleted: their names stay in the records they signed.
users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("affiliation", String(3), nullable=False),
    Column("password_hash", Text),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# API tokens: only the SHA-256 of the secret is kept (the secret is random, so a slow hash
# adds nothing); the id lets a token be found without scanning.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False, index=True),
    Column("secret_sha256", String(64), nullable=False),
    Column("label", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

# Each contingent's view of an incident. Rows are never updated: a revision is a new version.
assessments = Table(
    "assessments",
    metadata,
    Column("id", BigKey, primary_key=True, autoincrement=True),
    Column("incident_id", String(32), ForeignKey("incidents.id"), nullable=False),
    Column("contingent", String(3), nullable=False),
    Column("version", Integer, nullable=False),
    Column("violation", String(16), nullable=False),
    Column("clauses", Text, nullable=False),  # JSON list, sorted
    Column("attribution", String(16), nullable=False),
    Column("severity", String(16)),
    Column("remarks", Text, nullable=False),
    Column("submitted_by", String(64), nullable=False),
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("ledger_index", BigInteger, nullable=False),
    UniqueConstraint("incident_id", "contingent", "version", name="uq_assessments_version"),
)

# The joint result of the latest assessments: a finding, or a dispute with both views kept.
findings = Table(
    "findings",
    metadata,
    Column("id", BigKey, primary_key=True, autoincrement=True),
    Column("incident_id", String(32), ForeignKey("incidents.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),  # finding | disputed
    Column("record", Text, nullable=False),  # the canonical JSON that was logged
    Column("made_at", UTCDateTime, nullable=False),
    Column("ledger_index", BigInteger, nullable=False),
    UniqueConstraint("incident_id", "version", name="uq_findings_version"),
)

# Reactions proposed or taken, with their state; every step is also an approvals row.
decisions = Table(
    "decisions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("incident_id", String(32), ForeignKey("incidents.id"), nullable=False, index=True),
    Column("reaction", String(32), nullable=False),
    Column("party", String(3)),
    Column("contingent", String(3)),
    Column("tier", String(16), nullable=False),  # two_key | joint | urgent
    Column("state", String(16), nullable=False),
    Column("proposed_by", String(64), nullable=False),
    Column("proposer_contingent", String(3), nullable=False),
    Column("proposed_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("remarks", Text, nullable=False),
)

decision_steps = Table(
    "decision_steps",
    metadata,
    Column("id", BigKey, primary_key=True, autoincrement=True),
    Column("decision_id", String(32), ForeignKey("decisions.id"), nullable=False, index=True),
    Column("user_name", String(64), nullable=False),
    Column("contingent", String(3)),
    Column("role", String(16)),
    Column("verdict", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("remarks", Text, nullable=False),
    Column("ledger_index", BigInteger, nullable=False),
)

# A decision that took effect (approved, or taken urgently), written in the transaction that
# made it so: what the rooms after the workflow act on (dissemination writes its notices from
# these rows, docs/direct-lines.md). One per decision: a decision takes effect once.
# ``ledger_index``: the decision's log entry as it took effect (None only for a decision
# backfilled by migration 0019 without one).
decision_effects = Table(
    "decision_effects",
    metadata,
    Column("decision_id", String(32), ForeignKey("decisions.id"), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("ledger_index", BigInteger),
)

# The duty roster: shifts and the officers of each contingent on them.
shifts = Table(
    "shifts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("label", Text, nullable=False),
    Index("ix_shifts_starts_at", "starts_at"),
)

shift_officers = Table(
    "shift_officers",
    metadata,
    Column("shift_id", String(32), ForeignKey("shifts.id"), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), primary_key=True),
    Column("contingent", String(3), nullable=False),
)

# --- the screens' edit locks and handover confirmations (docs/web.md) -----------------

# Who of a contingent works on an incident now: one live lock per incident and contingent, so
# both sides work at once (parity) and two officers of one side do not write over each other.
edit_locks = Table(
    "edit_locks",
    metadata,
    Column("incident_id", String(32), primary_key=True),
    Column("contingent", String(3), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False),
    Column("taken_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# Each contingent's outgoing officer confirms a shift's handover report.
handover_confirmations = Table(
    "handover_confirmations",
    metadata,
    Column("shift_id", String(32), ForeignKey("shifts.id"), primary_key=True),
    Column("contingent", String(3), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False),
    Column("confirmed_at", UTCDateTime, nullable=False),
    Column("ledger_index", BigKey, nullable=False),
)

# Failed log-ins, counted by address and by name over a sliding window (api/login_limits.py):
# in the store, so that every API process of a center counts the same failures.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", BigKey, primary_key=True, autoincrement=True),
    Column("address", String(64), nullable=False),
    Column("user_name", String(128), nullable=False),
    Column("failed_at", UTCDateTime, nullable=False),
    Index("ix_login_failures_address", "address", "failed_at"),
)

"""The database schema (SQLAlchemy Core). Every change comes with an Alembic migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every time in ceasefire carries its offset")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# One row per loaded version of a mission's geography; a correction is a new version and
# the old one stays queryable.
missions = Table(
    "missions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mission_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("loaded_at", UTCDateTime, nullable=False),
    Column("source", Text, nullable=False),
    Column("note", Text, nullable=False, default=""),
    UniqueConstraint("mission_id", "version", name="uq_missions_version"),
    UniqueConstraint("mission_id", "digest", name="uq_missions_digest"),
)

mission_files = Table(
    "mission_files",
    metadata,
    Column("mission", Integer, ForeignKey("missions.id"), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)

zones = Table(
    "zones",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mission", Integer, ForeignKey("missions.id"), nullable=False, index=True),
    Column("zone_id", String(128), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("party", String(3)),
    Column("force", String(3)),
    Column("valid_from", UTCDateTime, nullable=False),
    Column("valid_until", UTCDateTime),
    Column("names", Text, nullable=False),  # JSON {lang: name}
    Column("geometry", Text, nullable=False),  # GeoJSON geometry
    Column("min_lon", Float, nullable=False),
    Column("min_lat", Float, nullable=False),
    Column("max_lon", Float, nullable=False),
    Column("max_lat", Float, nullable=False),
    UniqueConstraint("mission", "zone_id", name="uq_zones_mission_zone"),
)

settlements = Table(
    "settlements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mission", Integer, ForeignKey("missions.id"), nullable=False, index=True),
    Column("settlement_id", String(128), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("population", Integer),
    Column("names", Text, nullable=False),
    UniqueConstraint("mission", "settlement_id", name="uq_settlements_mission_settlement"),
)

# Big integer keys on PostgreSQL; SQLite only autoincrements INTEGER PRIMARY KEY.
BigKey = BigInteger().with_variant(Integer(), "sqlite")

# Accepted observations, each as the canonical record (RFC 8785 JSON) plus the columns that
# queries filter on and the enrichment at its own observed time.
observations = Table(
    "observations",
    metadata,
    Column("id", BigKey, primary_key=True, autoincrement=True),
    Column("contingent", String(3), nullable=False),
    Column("source_id", String(128), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("record", Text, nullable=False),
    Column("platform_id", String(128), nullable=False),
    Column("platform_type", String(32), nullable=False),
    Column("sortie", String(128)),
    Column("observed_at", UTCDateTime, nullable=False),
    Column("observed_until", UTCDateTime),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("ce_m", Float, nullable=False),
    Column("category", String(32), nullable=False),
    Column("count", Integer, nullable=False),
    Column("count_approx", Boolean, nullable=False),
    Column("sensed_by", String(32), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("source", Text, nullable=False),
    Column("mission", Integer, ForeignKey("missions.id"), nullable=False),
    Column("zones", Text, nullable=False),  # JSON list of zone ids
    Column("controlled_by", String(3)),
    Column("distance_to_line_m", Float),
    Column("line_side", String(3)),
    Column("settlement_id", String(128)),
    Column("settlement_distance_m", Float),
    Column("settlement_bearing_deg", Float),
    UniqueConstraint("contingent", "source_id", name="uq_observations_source"),
    Index("ix_observations_observed_at", "observed_at"),
    Index("ix_observations_category", "category"),
)

# Where the sensors were: drone positions from CoT, TAK and MISB 0601, for sorties and coverage.
track_points = Table(
    "track_points",
    metadata,
    Column("id", BigKey, primary_key=True, autoincrement=True),
    Column("platform_id", String(128), nullable=False),
    Column("platform_type", String(32)),
    Column("contingent", String(3)),
    Column("sortie", String(128)),
    Column("time", UTCDateTime, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("alt_m", Float),
    Column("source", Text, nullable=False),
    UniqueConstraint("platform_id", "time", name="uq_track_points_platform_time"),
)

# --- the ledger (DESIGN.md principle 4; docs/ledger.md) -----------------------------------------

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

# One row (id 1): the newest observation the correlation follower has put into incidents.
# Observations are inserted under the ledger's writer lock, so their keys grow in commit order
# and everything at or below the cursor has been correlated.
correlation_cursor = Table(
    "correlation_cursor",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("observation", BigInteger, nullable=False),
    # Set every few seconds by a running follower, cleared when it stops: while it is recent,
    # other commands leave incidents to it.
    Column("alive_at", UTCDateTime, nullable=True),
    # Whose sign of life it is: "host pid parent-pid parent-start" (a lease), so a command can
    # tell a follower whose center has died from a live one (ceasefire.lease).
    Column("holder", String(200), nullable=True),
)

# Observations a later stage (correlation) failed on: set aside with the reason, so that one
# bad record never stops the stage for the others. Duty officers see them (API, CLI).
quarantine = Table(
    "quarantine",
    metadata,
    Column(
        "observation",
        BigInteger,
        ForeignKey("observations.id"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("stage", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
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

# Each observation points at its log entry. Declared here, beside the ledger, so that the
# observations table above stays as the intake defines it.
observations.append_column(Column("ledger_index", BigInteger, nullable=True))
Index("uq_observations_ledger_index", observations.c.ledger_index, unique=True)

# --- incidents (docs/incidents.md) -----------------------------------------------------------

# Observations fused into events. The id derives from the earliest member, so batch and
# streaming correlation name an incident the same way.
incidents = Table(
    "incidents",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("mission", Integer, ForeignKey("missions.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("kind", String(16), nullable=False),  # event | line_crossing
    Column("category", String(32), nullable=False),
    Column("categories", Text, nullable=False),  # JSON list
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("ce_m", Float, nullable=False),
    Column("count", Integer, nullable=False),
    Column("observation_count", Integer, nullable=False),
    Column("contingents", Text, nullable=False),  # JSON list
    Column("platforms", Text, nullable=False),  # JSON list
    Column("corroboration", String(32), nullable=False),
    Column("rules", Text, nullable=False),  # JSON list of rule ids
    Column("severity", String(16)),
    Column("zones", Text, nullable=False),
    Column("controlled_by", String(3)),
    Column("distance_to_line_m", Float),
    Column("line_side", String(3)),
    Column("settlement_id", String(128)),
    Column("settlement_distance_m", Float),
    Column("settlement_bearing_deg", Float),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_incidents_started_at", "started_at"),
)
observations.append_column(Column("incident_id", String(32), nullable=True))
observations.append_column(Column("rules", Text, nullable=True))  # JSON list of rule ids
Index("ix_observations_incident_id", observations.c.incident_id)

# --- line crossings from tracks ------------------------------------------------------------
observations.append_column(Column("track", String(128), nullable=True))
Index("ix_observations_track", observations.c.contingent, observations.c.track)
incidents.append_column(Column("track", String(160), nullable=True))  # contingent/track
incidents.append_column(Column("refs", Text, nullable=True))  # JSON refs, for line crossings
incidents.append_column(Column("detail", Text, nullable=True))  # JSON, e.g. from/to side

# --- the joint workflow (docs/workflow.md) -----------------------------------------------------

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

# --- releases -----------------------------------------------------------------------------
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

# --- contingent nodes ---------------------------------------------------------------------
# The signature of an observation signed by its contingent's node (base64 of key id || Ed25519
# signature over the record: ceasefire.ledger.origin); None for a record the center took in
# itself (files, its own CoT listeners, the API). The ledger entry carries the same value.
observations.append_column(Column("signature", Text, nullable=True))

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

# Each batch a node forwarded, by (contingent, the node's sequence number): a batch sent again
# (the node did not hear the answer) gets the same answer; other content under a number
# already taken is refused as a replay.
node_batches = Table(
    "node_batches",
    metadata,
    Column("contingent", String(3), primary_key=True),
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("digest", String(64), nullable=False),
    Column("answer", Text, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
)

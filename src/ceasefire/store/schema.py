"""The shared part of the database schema (SQLAlchemy Core): the metadata, the UTC time type,
the missions' tables, the received records (observations, track points), the quarantine and the
contingent nodes' keys and batches.

Each room owns its other tables in a ``tables`` module of its own (:mod:`ceasefire.ledger.tables`,
:mod:`ceasefire.incidents.tables`, :mod:`ceasefire.workflow.tables`,
:mod:`ceasefire.dissemination.tables`), on this metadata; other rooms reach them only through
the owner's functions. Every change comes with an Alembic migration."""

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
    # the ledger entry (kind ``tracks``) that logged the batch these points came in
    Column("ledger_index", BigInteger, index=True),
    UniqueConstraint("platform_id", "time", name="uq_track_points_platform_time"),
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

# The observation's columns that later stages fill: its entry in the ledger, its incident and
# the rules it triggered (correlation), its track (line crossings). They are the observation
# row's, so they are declared here, with its table; the tables of those stages are their own
# (ceasefire.ledger.tables, ceasefire.incidents.tables).
observations.append_column(Column("ledger_index", BigInteger, nullable=True))
Index("uq_observations_ledger_index", observations.c.ledger_index, unique=True)
observations.append_column(Column("incident_id", String(32), nullable=True))
observations.append_column(Column("rules", Text, nullable=True))  # JSON list of rule ids
Index("ix_observations_incident_id", observations.c.incident_id)
observations.append_column(Column("track", String(128), nullable=True))
Index("ix_observations_track", observations.c.contingent, observations.c.track)

# --- contingent nodes ---------------------------------------------------------------------
# The signature of an observation signed by its contingent's node (base64 of key id || Ed25519
# signature over the record: ceasefire.ledger.origin); None for a record the center took in
# itself (files, its own CoT listeners, the API). The ledger entry carries the same value.
observations.append_column(Column("signature", Text, nullable=True))

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

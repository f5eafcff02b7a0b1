"""The tables of incidents (docs/incidents.md): incidents, their holds and the correlation
follower's cursor.
Only :mod:`ceasefire.incidents` reads and writes them; others go through its functions."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from ceasefire.store.schema import UTCDateTime, metadata

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
    # every column the map's query reads (web.mapdata.incidents_in): answered from the index
    Index(
        "ix_incidents_map",
        "started_at",
        "ended_at",
        "lat",
        "lon",
        "status",
        "corroboration",
        "category",
        "severity",
        "id",
    ),
)

incidents.append_column(Column("track", String(160), nullable=True))  # contingent/track
incidents.append_column(Column("refs", Text, nullable=True))  # JSON refs, for line crossings
incidents.append_column(Column("detail", Text, nullable=True))  # JSON, e.g. from/to side


# The incidents a later room keeps records of (the workflow: an assessment, a finding, a
# decision), written by that room through :func:`ceasefire.incidents.holds.hold` in the
# transaction of its first record. Correlation keeps a held incident's id, and keeps it as
# superseded rather than deleting it (:mod:`ceasefire.incidents.service`). No foreign key: a
# hold outlives nothing, it only says "do not delete".
incident_holds = Table(
    "incident_holds",
    metadata,
    Column("incident_id", String(32), primary_key=True),
    Column("held_at", UTCDateTime, nullable=False),
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

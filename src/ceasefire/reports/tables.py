"""The reports room's tables (docs/reports.md), in the one metadata of the store."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ceasefire.store.schema import BigKey, UTCDateTime, metadata

# Each signed daily report as made: the file, the signed note of both contingents' heads over
# its SHA-256, and its log entry (kind ``report``). A report made again is a new version.
daily_reports = Table(
    "daily_reports",
    metadata,
    Column("id", BigKey, primary_key=True, autoincrement=True),
    Column("day", String(10), nullable=False),
    Column("lang", String(8), nullable=False),
    Column("format", String(8), nullable=False),
    Column("version", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("note", Text, nullable=False),
    Column("made_at", UTCDateTime, nullable=False),
    Column("ledger_index", BigInteger, nullable=False, unique=True),
    UniqueConstraint("day", "lang", "format", "version", name="uq_daily_reports_version"),
)


__all__ = ["daily_reports"]

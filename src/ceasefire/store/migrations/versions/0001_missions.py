"""Missions with versioned geography: mission files, zones and settlements.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from ceasefire.store.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "missions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("mission_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("loaded_at", UTCDateTime, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_missions"),
        sa.UniqueConstraint("mission_id", "version", name="uq_missions_version"),
        sa.UniqueConstraint("mission_id", "digest", name="uq_missions_digest"),
    )
    op.create_table(
        "mission_files",
        sa.Column("mission", sa.Integer, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.ForeignKeyConstraint(
            ["mission"], ["missions.id"], name="fk_mission_files_mission_missions"
        ),
        sa.PrimaryKeyConstraint("mission", "name", name="pk_mission_files"),
    )
    op.create_table(
        "zones",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("mission", sa.Integer, nullable=False),
        sa.Column("zone_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("party", sa.String(3)),
        sa.Column("force", sa.String(3)),
        sa.Column("valid_from", UTCDateTime, nullable=False),
        sa.Column("valid_until", UTCDateTime),
        sa.Column("names", sa.Text, nullable=False),
        sa.Column("geometry", sa.Text, nullable=False),
        sa.Column("min_lon", sa.Float, nullable=False),
        sa.Column("min_lat", sa.Float, nullable=False),
        sa.Column("max_lon", sa.Float, nullable=False),
        sa.Column("max_lat", sa.Float, nullable=False),
        sa.ForeignKeyConstraint(["mission"], ["missions.id"], name="fk_zones_mission_missions"),
        sa.PrimaryKeyConstraint("id", name="pk_zones"),
        sa.UniqueConstraint("mission", "zone_id", name="uq_zones_mission_zone"),
    )
    op.create_index("ix_zones_mission", "zones", ["mission"])
    op.create_table(
        "settlements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("mission", sa.Integer, nullable=False),
        sa.Column("settlement_id", sa.String(128), nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("population", sa.Integer),
        sa.Column("names", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["mission"], ["missions.id"], name="fk_settlements_mission_missions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_settlements"),
        sa.UniqueConstraint("mission", "settlement_id", name="uq_settlements_mission_settlement"),
    )
    op.create_index("ix_settlements_mission", "settlements", ["mission"])


def downgrade() -> None:
    op.drop_table("settlements")
    op.drop_table("zones")
    op.drop_table("mission_files")
    op.drop_table("missions")

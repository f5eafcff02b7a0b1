"""Observations with their enrichment, and drone track points.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from ceasefire.store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "observations",
        sa.Column("id", BigKey, primary_key=True, autoincrement=True),
        sa.Column("contingent", sa.String(3), nullable=False),
        sa.Column("source_id", sa.String(128), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("platform_id", sa.String(128), nullable=False),
        sa.Column("platform_type", sa.String(32), nullable=False),
        sa.Column("sortie", sa.String(128)),
        sa.Column("observed_at", UTCDateTime, nullable=False),
        sa.Column("observed_until", UTCDateTime),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("ce_m", sa.Float, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("count_approx", sa.Boolean, nullable=False),
        sa.Column("sensed_by", sa.String(32), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("mission", sa.Integer, nullable=False),
        sa.Column("zones", sa.Text, nullable=False),
        sa.Column("controlled_by", sa.String(3)),
        sa.Column("distance_to_line_m", sa.Float),
        sa.Column("line_side", sa.String(3)),
        sa.Column("settlement_id", sa.String(128)),
        sa.Column("settlement_distance_m", sa.Float),
        sa.Column("settlement_bearing_deg", sa.Float),
        sa.ForeignKeyConstraint(
            ["mission"], ["missions.id"], name="fk_observations_mission_missions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_observations"),
        sa.UniqueConstraint("contingent", "source_id", name="uq_observations_source"),
    )
    op.create_index("ix_observations_observed_at", "observations", ["observed_at"])
    op.create_index("ix_observations_category", "observations", ["category"])
    op.create_table(
        "track_points",
        sa.Column("id", BigKey, primary_key=True, autoincrement=True),
        sa.Column("platform_id", sa.String(128), nullable=False),
        sa.Column("platform_type", sa.String(32)),
        sa.Column("contingent", sa.String(3)),
        sa.Column("sortie", sa.String(128)),
        sa.Column("time", UTCDateTime, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("alt_m", sa.Float),
        sa.Column("source", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_track_points"),
        sa.UniqueConstraint("platform_id", "time", name="uq_track_points_platform_time"),
    )


def downgrade() -> None:
    op.drop_table("track_points")
    op.drop_index("ix_observations_category", "observations")
    op.drop_index("ix_observations_observed_at", "observations")
    op.drop_table("observations")

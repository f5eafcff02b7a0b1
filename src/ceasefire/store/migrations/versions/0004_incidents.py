"""Incidents, and each observation's incident and triggered rules.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from ceasefire.store.schema import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("mission", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("ended_at", UTCDateTime, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("ce_m", sa.Float, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("observation_count", sa.Integer, nullable=False),
        sa.Column("contingents", sa.Text, nullable=False),
        sa.Column("platforms", sa.Text, nullable=False),
        sa.Column("corroboration", sa.String(32), nullable=False),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("severity", sa.String(16)),
        sa.Column("zones", sa.Text, nullable=False),
        sa.Column("controlled_by", sa.String(3)),
        sa.Column("distance_to_line_m", sa.Float),
        sa.Column("line_side", sa.String(3)),
        sa.Column("settlement_id", sa.String(128)),
        sa.Column("settlement_distance_m", sa.Float),
        sa.Column("settlement_bearing_deg", sa.Float),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(["mission"], ["missions.id"], name="fk_incidents_mission_missions"),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
    )
    op.create_index("ix_incidents_started_at", "incidents", ["started_at"])
    with op.batch_alter_table("observations") as batch:
        batch.add_column(sa.Column("incident_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("rules", sa.Text, nullable=True))
    op.create_index("ix_observations_incident_id", "observations", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_observations_incident_id", "observations")
    with op.batch_alter_table("observations") as batch:
        batch.drop_column("rules")
        batch.drop_column("incident_id")
    op.drop_index("ix_incidents_started_at", "incidents")
    op.drop_table("incidents")

"""Holds on incidents: the incidents the workflow keeps records of, in the incidents' own table.

Correlation used to ask the workflow (through a hook the center wired when it was imported)
which incidents had assessments, findings or decisions; a process that drove the workflow
without importing the center had correlation delete or rename such incidents. Now the
workflow holds an incident in the transaction of each record it writes of it, and correlation
reads ``incident_holds``. Existing stores get a hold for every incident with a record, held
since the earliest of them.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from ceasefire.store.schema import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_holds",
        sa.Column("incident_id", sa.String(32), nullable=False),
        sa.Column("held_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name="pk_incident_holds"),
    )
    op.execute(
        "INSERT INTO incident_holds (incident_id, held_at) "
        "SELECT incident_id, MIN(at) FROM ("
        " SELECT incident_id, submitted_at AS at FROM assessments"
        " UNION ALL SELECT incident_id, made_at FROM findings"
        " UNION ALL SELECT incident_id, proposed_at FROM decisions"
        ") AS records GROUP BY incident_id"
    )


def downgrade() -> None:
    op.drop_table("incident_holds")

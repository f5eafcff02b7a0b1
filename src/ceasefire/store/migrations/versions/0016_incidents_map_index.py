"""A covering index for the map's incidents: a view is answered from the index alone.

The map asks for every incident of a window in a box (``/map/incidents.json``): with only
the index on ``started_at`` each of thousands of rows was then read from the table (wide rows:
JSON lists and details); this index holds every column the map's query reads.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

COLUMNS = [
    "started_at",
    "ended_at",
    "lat",
    "lon",
    "status",
    "corroboration",
    "category",
    "severity",
    "id",
]


def upgrade() -> None:
    op.create_index("ix_incidents_map", "incidents", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_incidents_map", "incidents")

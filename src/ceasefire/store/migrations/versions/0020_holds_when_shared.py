"""Holds only on incidents whose records are everyone's (docs/incidents.md).

The workflow used to hold an incident at its first record of it, blind or not; a hold keeps an
incident's id through merges, which the other side can cause and read, so one side's blind
assessment showed. Now the workflow holds an incident once its blind period has ended. Existing
stores drop the holds of incidents still blind: those without a finding (findings exist only
once every contingent has submitted) whose blind period no two heads have lifted. Dropping a
hold loses nothing: correlation now keeps every incident it replaces, records and all.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM incident_holds WHERE"
        " NOT EXISTS (SELECT 1 FROM findings f WHERE f.incident_id = incident_holds.incident_id)"
        " AND (SELECT COUNT(DISTINCT l.ref) FROM ledger l WHERE l.kind = 'unblind'"
        "      AND l.ref LIKE incident_holds.incident_id || '/%') < 2"
    )


def downgrade() -> None:
    pass  # the holds dropped were a blind side's: they are not put back

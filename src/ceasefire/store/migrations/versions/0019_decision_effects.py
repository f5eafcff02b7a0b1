"""Decisions' effects, and what dissemination made of them (docs/direct-lines.md).

A decision that took effect used to write its notices through a hook the center wired when it
was imported; a process that drove the workflow without importing the center (a script, a
bench) decided and sent nothing. Now the workflow writes a row of ``decision_effects`` in the
decision's transaction, and dissemination writes the notices of every effect without a row of
``effect_notices`` (the dispatcher, or the center after its decision verbs), with that row.

Existing stores: an effect for every decision that took effect (urgent ones when taken, at
their first log entry; approved ones when approved, at their last); an ``effect_notices`` row
for each of them that already has notices (so none gets them twice). A decision that took
effect without notices (decided where no hook was wired) gets them from the next dispatcher,
dated when it took effect.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from ceasefire.store.schema import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_effects",
        sa.Column("decision_id", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("ledger_index", sa.BigInteger),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name="fk_decision_effects_decision_id_decisions",
        ),
        sa.PrimaryKeyConstraint("decision_id", name="pk_decision_effects"),
    )
    op.create_table(
        "effect_notices",
        sa.Column("decision_id", sa.String(32), nullable=False),
        sa.Column("batch", sa.String(40)),
        sa.Column("noticed_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name="pk_effect_notices"),
    )
    op.execute(
        "INSERT INTO decision_effects (decision_id, at, ledger_index) "
        "SELECT d.id,"
        " CASE WHEN d.tier = 'urgent' THEN d.proposed_at ELSE d.updated_at END,"
        " CASE WHEN d.tier = 'urgent'"
        '  THEN (SELECT MIN(l."index") FROM ledger l'
        "        WHERE l.kind = 'decision' AND l.ref = d.id)"
        '  ELSE (SELECT MAX(l."index") FROM ledger l'
        "        WHERE l.kind = 'decision' AND l.ref = d.id) END "
        "FROM decisions d WHERE d.tier = 'urgent' OR d.state = 'approved'"
    )
    op.execute(
        "INSERT INTO effect_notices (decision_id, batch, noticed_at) "
        "SELECT n.cause, MIN(n.batch), MIN(n.created_at) FROM notices n "
        "WHERE n.cause IN (SELECT decision_id FROM decision_effects) GROUP BY n.cause"
    )


def downgrade() -> None:
    op.drop_table("effect_notices")
    op.drop_table("decision_effects")

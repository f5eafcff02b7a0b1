"""The joint workflow: users, API tokens, assessments, findings, decisions, shifts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from ceasefire.store.schema import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("affiliation", sa.String(3), nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_users"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime),
        sa.ForeignKeyConstraint(
            ["user_name"], ["users.name"], name="fk_api_tokens_user_name_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
    )
    op.create_index("ix_api_tokens_user_name", "api_tokens", ["user_name"])
    op.create_table(
        "assessments",
        sa.Column("id", BigKey, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=False),
        sa.Column("contingent", sa.String(3), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("violation", sa.String(16), nullable=False),
        sa.Column("clauses", sa.Text, nullable=False),
        sa.Column("attribution", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16)),
        sa.Column("remarks", sa.Text, nullable=False),
        sa.Column("submitted_by", sa.String(64), nullable=False),
        sa.Column("submitted_at", UTCDateTime, nullable=False),
        sa.Column("ledger_index", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_assessments_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_assessments"),
        sa.UniqueConstraint("incident_id", "contingent", "version", name="uq_assessments_version"),
    )
    op.create_table(
        "findings",
        sa.Column("id", BigKey, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("made_at", UTCDateTime, nullable=False),
        sa.Column("ledger_index", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_findings_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_findings"),
        sa.UniqueConstraint("incident_id", "version", name="uq_findings_version"),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=False),
        sa.Column("reaction", sa.String(32), nullable=False),
        sa.Column("party", sa.String(3)),
        sa.Column("contingent", sa.String(3)),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("proposed_by", sa.String(64), nullable=False),
        sa.Column("proposer_contingent", sa.String(3), nullable=False),
        sa.Column("proposed_at", UTCDateTime, nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("remarks", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_decisions_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_incident_id", "decisions", ["incident_id"])
    op.create_table(
        "decision_steps",
        sa.Column("id", BigKey, autoincrement=True, nullable=False),
        sa.Column("decision_id", sa.String(32), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("contingent", sa.String(3)),
        sa.Column("role", sa.String(16)),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("remarks", sa.Text, nullable=False),
        sa.Column("ledger_index", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name="fk_decision_steps_decision_id_decisions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_decision_steps"),
    )
    op.create_index("ix_decision_steps_decision_id", "decision_steps", ["decision_id"])
    op.create_table(
        "shifts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shifts"),
    )
    op.create_index("ix_shifts_starts_at", "shifts", ["starts_at"])
    op.create_table(
        "shift_officers",
        sa.Column("shift_id", sa.String(32), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("contingent", sa.String(3), nullable=False),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["shifts.id"], name="fk_shift_officers_shift_id_shifts"
        ),
        sa.ForeignKeyConstraint(
            ["user_name"], ["users.name"], name="fk_shift_officers_user_name_users"
        ),
        sa.PrimaryKeyConstraint("shift_id", "user_name", name="pk_shift_officers"),
    )


def downgrade() -> None:
    for table in ("shift_officers", "shifts", "decision_steps", "decisions", "findings"):
        op.drop_table(table)
    op.drop_table("assessments")
    op.drop_index("ix_api_tokens_user_name", "api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("users")

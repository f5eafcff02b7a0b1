"""`verify` audits every table whose rows stand for a logged record: each edit, deletion,
insertion or swap made with SQL behind the center's back is named with its table and row, and
the witnesses' state catches deleted or rolled-back checkpoints. A user or token row that does
not agree with the log is not trusted by the library (so neither by the API nor the CLI)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from workflow_support import T0, Center

from ceasefire.dissemination.audit import audit_all
from ceasefire.dissemination.outbox import notice_effects
from ceasefire.ledger.keys import KeyRing, init_keys, load_keys, origin_of
from ceasefire.ledger.release import Selection, write_release
from ceasefire.ledger.tables import witness_state
from ceasefire.workflow import Forbidden, assessments, decisions, roles, shifts
from ceasefire.workflow.tables import assessments as assessments_table

Mutation = Callable[[sa.Connection], None]
VIEW = {"violation": "yes", "clauses": ["1"], "attribution": "AZ", "severity": "high"}


def sql(*statements: str) -> Mutation:
    def run(db: sa.Connection) -> None:
        for statement in statements:
            db.exec_driver_sql(statement)

    return run


@pytest.fixture
def filled(center: Center, tmp_path: Path) -> tuple[Center, KeyRing, dict[str, str]]:
    """Two assessments and a finding, an approved decision, a shift, a token, a release to AM
    (which made a checkpoint cosigned by witnesses in this database)."""
    m, u = center.mission, center.users
    with center.engine.begin() as db:
        assessments.submit(db, m, u["ru-do"], "INC-1", at=T0, **VIEW)
        assessments.submit(db, m, u["tr-do"], "INC-1", at=T0, **VIEW)
        d = decisions.propose(db, m, u["ru-head"], "INC-1", "notify_both_parties", at=T0)
        decisions.approve(db, m, u["tr-head"], d.id, at=T0)
        notice_effects(db, m)  # its notices, as the dispatcher writes them
        shift = shifts.add_shift(db, m, u["ru-do"], T0, T0.replace(hour=18), "day", at=T0)
        shifts.assign(db, m, u["ru-do"], shift.id, "ru-do", at=T0)
        token = roles.issue_token(db, "tr-do", "console", at=T0)
    origin = origin_of(m.id)
    init_keys(tmp_path / "keys", origin, m.contingent_ids())
    ring = load_keys(tmp_path / "keys", origin, m.contingent_ids())
    write_release(center.engine, ring, tmp_path / "r.json", "AM", [Selection("finding")])
    ids = {"decision": d.id, "shift": shift.id, "token": token.split("_")[1], "secret": token}
    return center, ring, ids


def audited(filled: tuple[Center, KeyRing, dict[str, str]], mutate: Mutation | None) -> list[str]:
    center, ring, _ids = filled
    with center.engine.connect() as db:
        transaction = db.begin()
        try:
            if mutate is not None:
                mutate(db)
            return [str(f) for f in audit_all(db, ring).findings]
        finally:
            transaction.rollback()


def test_a_clean_center_passes_and_says_what_it_did_not_check(
    filled: tuple[Center, KeyRing, dict[str, str]],
) -> None:
    center, ring, _ids = filled
    report = audit_all(center.engine, ring)
    assert report.ok, [str(f) for f in report.findings]
    with center.engine.connect() as db:  # the approved decision told the parties
        assert db.execute(sa.text("SELECT count(*) FROM notices")).scalar()
    notes = " ".join(report.notes)
    assert "track_points" in notes and "password hashes" in notes


def swap_assessments(db: sa.Connection) -> None:
    ru, tr = (
        db.execute(
            sa.select(assessments_table.c.ledger_index).where(assessments_table.c.contingent == c)
        ).scalar_one()
        for c in ("RU", "TR")
    )
    for contingent, index in (("RU", tr), ("TR", ru)):
        db.execute(
            sa.update(assessments_table)
            .where(assessments_table.c.contingent == contingent)
            .values(ledger_index=index)
        )


def mutations(ids: dict[str, str]) -> list[tuple[str, Mutation, str, str]]:
    """(what, mutation, the table named, the row named)."""
    d, shift, token = ids["decision"], ids["shift"], ids["token"]
    sha = hashlib.sha256(b"mine").hexdigest()
    return [
        (
            "an RU assessment's attribution edited",
            sql("UPDATE assessments SET attribution='AM' WHERE contingent='RU'"),
            "assessments",
            "INC-1/RU/1",
        ),
        (
            "TR's assessment deleted",
            sql("DELETE FROM assessments WHERE contingent='TR'"),
            "assessments",
            "INC-1/TR/1",
        ),
        (
            "an assessment inserted",
            sql(
                "INSERT INTO assessments (incident_id, contingent, version, violation, clauses,"
                " attribution, remarks, submitted_by, submitted_at, ledger_index) VALUES"
                " ('INC-1', 'TR', 2, 'no', '[]', 'AM', '', 'tr-do', '2021-02-01 10:00:00',"
                " 987654)"
            ),
            "assessments",
            "INC-1/TR/2",
        ),
        ("two assessments' entries swapped", swap_assessments, "assessments", "swapped"),
        (
            "the finding turned into a dispute",
            sql("UPDATE findings SET outcome='disputed'"),
            "findings",
            "INC-1/1",
        ),
        ("the finding deleted", sql("DELETE FROM findings"), "findings", "INC-1/1"),
        (
            "the approved decision set to rejected",
            sql(f"UPDATE decisions SET state='rejected' WHERE id='{d}'"),
            "decisions",
            d,
        ),
        (
            "a decision's key turned into a refusal",
            sql("UPDATE decision_steps SET verdict='reject' WHERE user_name='tr-head'"),
            "decision_steps",
            f"{d}/3",
        ),
        (
            "the decision's effect deleted (its notices would never be written)",
            sql("DELETE FROM decision_effects"),
            "decision_effects",
            d,
        ),
        (
            "the decision and its steps deleted",
            sql(
                "DELETE FROM decision_steps",
                "DELETE FROM decision_effects",
                "DELETE FROM decisions",
            ),
            "decisions",
            d,
        ),
        (
            "a ghost decision inserted",
            sql(
                "INSERT INTO decisions (id, incident_id, reaction, tier, state, proposed_by,"
                " proposer_contingent, proposed_at, due_at, updated_at, remarks) VALUES"
                " ('DEC-ghost', 'INC-1', 'record_only', 'joint', 'approved', 'ru-do', 'RU',"
                " '2021-02-01 10:00:00', '2021-02-01 10:00:00', '2021-02-01 10:00:00', '')"
            ),
            "decisions",
            "DEC-ghost",
        ),
        (
            "an RU analyst made a TR head",
            sql("UPDATE users SET role='head', affiliation='TR' WHERE name='ru-analyst'"),
            "users",
            "ru-analyst",
        ),
        (
            "a ghost TR head inserted",
            sql(
                "INSERT INTO users (name, role, affiliation, disabled, created_at, updated_at)"
                " VALUES ('ghost', 'head', 'TR', false, '2021-02-01 10:00:00',"
                " '2021-02-01 10:00:00')"
            ),
            "users",
            "ghost",
        ),
        ("a user deleted", sql("DELETE FROM users WHERE name='auditor'"), "users", "auditor"),
        (
            "a token's secret hash swapped",
            sql(f"UPDATE api_tokens SET secret_sha256='{sha}' WHERE id='{token}'"),
            "api_tokens",
            token,
        ),
        (
            "a token inserted",
            sql(
                "INSERT INTO api_tokens (id, user_name, secret_sha256, label, created_at) VALUES"
                f" ('feedc0de', 'tr-head', '{sha}', 'x', '2021-02-01 10:00:00')"
            ),
            "api_tokens",
            "feedc0de",
        ),
        ("a token deleted", sql(f"DELETE FROM api_tokens WHERE id='{token}'"), "api_tokens", token),
        (
            "a shift's officer removed",
            sql("DELETE FROM shift_officers"),
            "shifts",
            shift,
        ),
        (
            "a shift moved",
            sql("UPDATE shifts SET starts_at='2021-02-02 06:00:00'"),
            "shifts",
            shift,
        ),
        (
            "a release's recipient changed",
            sql("UPDATE releases SET released_to='AZ'"),
            "releases",
            "AZ",
        ),
        ("a release deleted", sql("DELETE FROM releases"), "releases", "AM"),
        (
            "a notice sent to the other party",
            sql("UPDATE notices SET recipient='AM' WHERE recipient='AZ'"),
            "notices",
            "",
        ),
        (
            "a notice's text edited",
            sql("UPDATE notices SET payload = payload || ' '"),
            "notices",
            "payload_hash",
        ),
        (
            "a notice deleted",
            sql("DELETE FROM deliveries", "DELETE FROM notices WHERE recipient='AZ'"),
            "notices",
            "deleted",
        ),
        (
            "every checkpoint deleted",
            sql("DELETE FROM checkpoints"),
            "checkpoints",
            "size",
        ),
        (
            "a witness's state rolled back",
            sql("UPDATE witness_state SET size = size - 1 WHERE witness = 'RU'"),
            "witness_state",
            "RU (size",
        ),
        (
            "a witness's root edited",
            lambda db: db.execute(sa.update(witness_state).values(root_hash=bytes(32))),
            "witness_state",
            "TR (size",
        ),
    ]


def test_every_table_every_kind_of_change_is_named(
    filled: tuple[Center, KeyRing, dict[str, str]],
) -> None:
    missed = []
    for what, mutate, table, row in mutations(filled[2]):
        found = audited(filled, mutate)
        if not any(f.startswith(f"{table}, ") and row in f for f in found):
            missed.append(f"{what}: wanted {table} {row}; got {found}")
    assert missed == []


def test_rows_that_disagree_with_the_log_are_not_trusted(
    filled: tuple[Center, KeyRing, dict[str, str]],
) -> None:
    center, _ring, ids = filled
    with center.engine.connect() as db:
        transaction = db.begin()
        try:
            assert roles.user_for_token(db, ids["secret"]).name == "tr-do"
            sql("UPDATE users SET role='head' WHERE name='tr-do'")(db)
            with pytest.raises(Forbidden, match="does not agree with the ledger"):
                roles.user_for_token(db, ids["secret"])
            with pytest.raises(Forbidden, match="does not agree with the ledger"):
                roles.get_user(db, "tr-do")
        finally:
            transaction.rollback()
        transaction = db.begin()
        try:
            secret = ids["secret"].split("_", 2)[2]
            sha = hashlib.sha256(secret.encode()).hexdigest()
            # A ghost token row carrying a secret its maker knows.
            sql(
                "INSERT INTO api_tokens (id, user_name, secret_sha256, label, created_at) VALUES"
                f" ('feedc0de', 'tr-head', '{sha}', 'x', '2021-02-01 10:00:00')"
            )(db)
            with pytest.raises(Forbidden, match="does not agree with the ledger"):
                roles.user_for_token(db, f"cf_feedc0de_{secret}")
        finally:
            transaction.rollback()

"""Roles and the permission table: parity under swapping the contingents, own-contingent
scope, released-only liaisons, users and tokens (logged, never with secrets)."""

from __future__ import annotations

import inspect
import json
from itertools import product

import pytest
import sqlalchemy as sa
from workflow_support import T0, Center

from ceasefire.ledger.tables import ledger
from ceasefire.workflow import Conflict, Forbidden, Invalid, User, authorize, roles
from ceasefire.workflow.roles import ACTIONS, CONTINGENT_ROLES, PERMISSIONS, ROLES

SWAP = {"RU": "TR", "TR": "RU", None: None}
TARGETS = ("RU", "TR", None)
RELEASES: tuple[tuple[str, ...], ...] = ((), ("AM",), ("AZ",), ("AM", "AZ"), ("PK",))


def test_parity_walk_every_action_role_contingent() -> None:
    """Swapping RU and TR swaps every decision: the table favours no contingent."""
    walked = 0
    for action, role, mine, target, released, disabled in product(
        ACTIONS, CONTINGENT_ROLES, ("RU", "TR"), TARGETS, RELEASES, (False, True)
    ):
        user = User("u", role, mine, disabled)
        swapped = User("u", role, SWAP[mine] or "", disabled)
        assert authorize(user, action, contingent=target, released_to=released) == authorize(
            swapped, action, contingent=SWAP[target], released_to=released
        ), (action, role, mine, target)
        walked += 1
    assert walked == len(ACTIONS) * 3 * 2 * 3 * len(RELEASES) * 2
    # The table itself never names a contingent.
    source = inspect.getsource(roles)
    table = source[source.index("PERMISSIONS:") : source.index("ACTIONS =")]
    assert '"RU"' not in table and '"TR"' not in table


def test_no_role_acts_for_the_other_contingent() -> None:
    for action, role in product(ACTIONS, ROLES):
        if PERMISSIONS[action].get(role) != "own":
            continue
        for mine, other in (("RU", "TR"), ("TR", "RU")):
            user = User("u", role, mine)
            assert authorize(user, action, contingent=mine)
            assert not authorize(user, action, contingent=other), (action, role)
            assert not authorize(user, action, contingent=None), (action, role)


def test_every_contingent_sees_all_observations_liaisons_only_released() -> None:
    for role, mine, target in product(CONTINGENT_ROLES, ("RU", "TR"), TARGETS):
        assert authorize(User("u", role, mine), "read_observations", contingent=target)
    am = User("a", "party_liaison", "AM")
    assert not authorize(am, "read_incident")
    assert not authorize(am, "read_incident", released_to=("AZ",))
    assert authorize(am, "read_incident", released_to=("AM",))
    pk = User("p", "liaison", "PK")
    assert authorize(pk, "read_finding", released_to=("PK",))
    assert not authorize(pk, "submit_assessment", contingent="PK")
    assert not authorize(User("x", "auditor", ""), "propose_decision", contingent=None)
    # A disabled user may do nothing at all.
    for action in ACTIONS:
        assert not authorize(User("u", "head", "RU", True), action, contingent="RU")


def test_users_tokens_and_passwords(center: Center) -> None:
    m = center.mission
    with center.engine.begin() as db:
        with pytest.raises(Invalid):
            roles.add_user(db, m, "x", "head", "AM")  # a head belongs to a contingent
        with pytest.raises(Invalid):
            roles.add_user(db, m, "x", "party_liaison", "RU")
        with pytest.raises(Conflict):
            roles.add_user(db, m, "ru-do", "duty_officer", "RU")
        # A head manages their own contingent's users only.
        head = center.users["ru-head"]
        roles.add_user(db, m, "ru-new", "analyst", "RU", "s3cret-pass", by=head, at=T0)
        with pytest.raises(Forbidden):
            roles.add_user(db, m, "tr-new", "analyst", "TR", by=head)
        with pytest.raises(Forbidden):
            roles.disable_user(db, m, "tr-do", by=head)
        assert roles.authenticate(db, "ru-new", "s3cret-pass").name == "ru-new"
        with pytest.raises(Forbidden):
            roles.authenticate(db, "ru-new", "wrong")
        token = roles.issue_token(db, "ru-new", "script", by=head, at=T0)
        with pytest.raises(Forbidden):
            roles.issue_token(db, "tr-do", by=head)  # nor tokens for the other side's users
        with pytest.raises(Forbidden):
            roles.issue_token(db, "pk-liaison", by=head)  # nor outside the contingents
        assert roles.user_for_token(db, token).name == "ru-new"
        with pytest.raises(Forbidden):
            roles.user_for_token(db, token[:-2] + "xx")
        roles.disable_user(db, m, "ru-new", by=head, at=T0)
        with pytest.raises(Forbidden):
            roles.user_for_token(db, token)
        with pytest.raises(Forbidden):
            roles.authenticate(db, "ru-new", "s3cret-pass")
        assert roles.get_user(db, "ru-new").disabled
        entries = db.execute(
            sa.select(ledger.c.kind, ledger.c.ref, ledger.c.entry).where(
                ledger.c.kind.in_(("user", "token"))
            )
        ).all()
    events = [(k, r, json.loads(e)["record"]["event"]) for k, r, e in entries if r != "ru-do"]
    assert ("user", "ru-new", "added") in events
    assert ("user", "ru-new", "disabled") in events
    assert sum(1 for k, _r, _e in events if k == "token") == 1
    issued = [json.loads(e)["record"] for k, _r, e in entries if k == "token"]
    assert [(r["user"], r["by"]) for r in issued] == [("ru-new", "ru-head")]
    # Neither the password, its hash nor the token's secret is in the log.
    text = " ".join(e for _k, _r, e in entries)
    assert "argon2" not in text and "s3cret" not in text and token.split("_", 2)[2] not in text

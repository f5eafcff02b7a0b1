"""The incident page's notices: each recipient's channel, delivery, attempts, acknowledgement
and escalation, times in the mission's zone beside UTC, both parties alike; and blindness as a
mirror: the notices of an urgent reaction one side took while the incident is blind move for
nobody outside that side, exactly as GET /notices hides them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from web_support import build_center, signed_in

from api.api_support import bearer
from ceasefire.dissemination.outbox import notice_effects
from ceasefire.dissemination.tables import deliveries, notices
from ceasefire.mission import Mission
from ceasefire.workflow import assessments, decisions
from ceasefire.workflow.roles import get_user

SIDES = [("ru", "tr"), ("tr", "ru")]
OUTSIDE = ["auditor", "pk-liaison", "az-liaison", "am-liaison"]


@pytest.fixture
def center(engine: Engine, demo_mission: Mission, demo_enricher: Any) -> tuple[FastAPI, list[str]]:
    return build_center(engine, demo_mission, demo_enricher)


def notices_seen(client: TestClient, incident: str) -> tuple[int, str]:
    """The page's answer and its notices section (the whole of what it says of notices)."""
    page = client.get(f"/incidents/{incident}")
    found = re.search(r'<section id="notices".*?</section>', page.text, re.S)
    return page.status_code, found.group(0) if found else ""


def rows_of(section: str) -> dict[str, str]:
    """Each recipient's rows (by recipient id; one notice each here)."""
    rows: dict[str, str] = {}
    for row in re.findall(r"<tr data-notice=.*?</tr>", section, re.S):
        recipient = re.search(r'data-recipient="([^"]+)"', row)
        assert recipient
        rows[recipient.group(1)] = rows.get(recipient.group(1), "") + row
    return rows


def give_view(engine: Engine, mission: Mission, side: str, incident: str) -> None:
    """``side`` assesses and takes an urgent reaction at once (which sends its notices), as in
    tests/api/test_blindness_mirror.py."""
    with engine.begin() as db:
        officer = get_user(db, f"{side.lower()}-duty-officer")
        assessments.submit(
            db, mission, officer, incident, violation="yes", clauses=["1"], attribution="AZ",
            severity="high", remarks="SECRET-RU",
        )  # fmt: skip
        decisions.propose(
            db, mission, officer, incident, "notify_peacekeepers", urgent=True,
            remarks="SECRET-RU",
        )  # fmt: skip
        notice_effects(db, mission)  # its notices, as the dispatcher writes them


def both_parties_told(engine: Engine, mission: Mission, incident: str) -> None:
    """Both heads agree to notify both parties (a two-key reaction: its notices to AZ and AM)."""
    with engine.begin() as db:
        made = decisions.propose(
            db, mission, get_user(db, "ru-head"), incident, "notify_both_parties"
        )
        for head in ("tr-head", "ru-head"):
            if made.state != "approved":
                made = decisions.approve(db, mission, get_user(db, head), made.id)
        assert made.state == "approved", made
        notice_effects(db, mission)  # its notices, as the dispatcher writes them


def both_assess(engine: Engine, mission: Mission, incident: str) -> None:
    with engine.begin() as db:
        for side in ("RU", "TR"):
            assessments.submit(
                db, mission, get_user(db, f"{side.lower()}-duty-officer"), incident,
                violation="yes", clauses=["1"], attribution="AZ",
            )  # fmt: skip


@pytest.mark.parametrize(("side", "other"), SIDES)
def test_a_blind_reaction_s_notices_move_for_nobody_outside_its_side(
    center: tuple[FastAPI, list[str]],
    engine: Engine,
    demo_mission: Mission,
    side: str,
    other: str,
) -> None:
    app, ids = center
    incident = ids[1]  # both contingents saw it; nobody has assessed it yet
    readers = [f"{other}-analyst", f"{other}-duty-officer", f"{other}-head", *OUTSIDE]
    clients = {r: signed_in(app, r) for r in [*readers, f"{side}-analyst"]}
    before = {r: notices_seen(clients[r], incident) for r in readers}
    assert before["auditor"][0] == 200 and "data-notice" not in before["auditor"][1]
    give_view(engine, demo_mission, side.upper(), incident)
    for reader in readers:
        assert notices_seen(clients[reader], incident) == before[reader], reader
    # The page hides exactly what GET /notices hides.
    tokens = {r: c.cookies.get("cf_session") for r, c in clients.items()}
    for reader in [f"{other}-duty-officer", "auditor"]:
        api = app_notices(app, tokens[reader], incident)
        assert api == set(rows_of(notices_seen(clients[reader], incident)[1])) == set(), reader
    # Not a walk that sees nothing anyway: the side itself reads them, both parties alike ...
    _status, own = notices_seen(clients[f"{side}-analyst"], incident)
    assert set(rows_of(own)) == {"PK"}, own
    assert set(rows_of(own)) == app_notices(app, tokens[f"{side}-analyst"], incident)
    # ... and once both have assessed, everyone reading notices does (the liaisons still not).
    both_assess(engine, demo_mission, incident)
    for reader in readers:
        status, section = notices_seen(clients[reader], incident)
        if reader.endswith("-liaison"):
            assert (status, section) == before[reader], reader
        else:
            assert set(rows_of(section)) == {"PK"}, reader


def app_notices(app: FastAPI, token: str | None, incident: str) -> set[str]:
    """The recipients GET /notices lists for the incident to the holder of ``token``."""
    assert token
    got = TestClient(app).get(f"/api/v1/notices?incident={incident}", headers=bearer(token))
    assert got.status_code == 200, got.text
    return {n["recipient"] for n in got.json()["notices"]}


def test_each_recipient_s_delivery_acknowledgement_and_escalation_in_both_zones(
    center: tuple[FastAPI, list[str]], engine: Engine, demo_mission: Mission
) -> None:
    app, ids = center
    incident = ids[1]
    both_assess(engine, demo_mission, incident)
    both_parties_told(engine, demo_mission, incident)
    give_view(engine, demo_mission, "RU", incident)  # an urgent reaction: the peacekeepers
    acked = datetime(2021, 2, 1, 10, 45, tzinfo=UTC)
    delivered = datetime(2021, 2, 1, 10, 31, tzinfo=UTC)
    with engine.begin() as db:
        ids_of = {r: n for r, n in db.execute(select(notices.c.recipient, notices.c.id))}
        for party in ("AZ", "AM"):  # the parties' notices in the same state
            db.execute(
                update(deliveries)
                .where(deliveries.c.notice_id == ids_of[party])
                .values(status="delivered", attempts=2, delivered_at=delivered)
            )
            db.execute(
                update(notices)
                .where(notices.c.id == ids_of[party])
                .values(acked_at=acked, acked_by="liaison", escalated_at=acked)
            )
    _status, section = notices_seen(signed_in(app, "tr-duty-officer"), incident)
    rows = rows_of(section)
    # Both parties' lines shown the same way: alike but for the name and the notice.
    names = {"AZ": demo_mission.config.parties[0], "AM": demo_mission.config.parties[1]}

    def masked(party: str) -> str:
        row = rows[party].replace(ids_of[party], "NTC").replace(f'"{party}"', '"P"')
        for p in names.values():
            row = row.replace(p.names["en"], "NAME")
        return row

    assert masked("AZ") == masked("AM"), rows
    # The mission's zone (Asia/Baku, UTC+4) beside UTC.
    assert "14:45 (10:45 UTC)" in rows["AZ"] and "14:31 (10:31 UTC)" in rows["AZ"]
    assert 'data-delivery="delivered"' in rows["AZ"] and "<td>2</td>" in rows["AZ"]
    assert 'data-ack="yes"' in rows["AZ"] and 'data-escalated="yes"' in rows["AZ"]
    assert 'data-ack="no"' in rows["PK"] and 'data-delivery="pending"' in rows["PK"]


def test_the_notices_read_in_each_language(
    center: tuple[FastAPI, list[str]], engine: Engine, demo_mission: Mission
) -> None:
    app, ids = center
    both_assess(engine, demo_mission, ids[1])
    both_parties_told(engine, demo_mission, ids[1])
    client = signed_in(app, "auditor")
    english = notices_seen(client, ids[1])[1]
    for lang in ("ru", "tr", "az", "hy"):
        client.cookies.set("cf_lang", lang)
        _status, section = notices_seen(client, ids[1])
        for text in (">Notices<", "Recipient", "Channel", "Attempts", "Acknowledged", "not yet"):
            assert text in english and text not in section, (lang, text)

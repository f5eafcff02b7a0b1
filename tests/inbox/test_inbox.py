"""A party's inbox: takes the center's signed webhooks (bad signature, old timestamp and a
notice of the other party refused, a repeat dropped), shows them in the party's language and
acknowledges them signed with the party's key, which the center takes; the other party's key
is refused. On SQLite and PostgreSQL (the center's store)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ceasefire.api import create_app
from ceasefire.dissemination.outbox import notice_effects
from ceasefire.dissemination.tables import notices
from ceasefire.dissemination.webhooks import webhook_headers
from ceasefire.inbox import Inbox, init_inbox
from ceasefire.inbox.server import InboxNode, page
from ceasefire.inbox.store import MAX_BODY
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.mission import Mission
from ceasefire.workflow import assessments, decisions
from ceasefire.workflow.roles import add_user, get_user, issue_token

INCIDENT = {
    "id": "RU-I001",
    "contingent": "RU",
    "platform": {"id": "p-07", "type": "orlan-10"},
    "observed_at": "2021-02-01T10:00:00Z",
    "location": {"lat": 39.82, "lon": 46.70, "ce_m": 50},
    "category": "explosion",
    "qualifiers": {"explosion": "impact"},
    "sensed_by": "drone-eo",
}


@dataclasses.dataclass
class Line:
    client: TestClient
    engine: Engine
    center_key: Ed25519Signer
    inboxes: dict[str, Inbox]
    rows: dict[str, Any]

    def post(self, party: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        with InboxNode(self.inboxes[party], lang="az") as node:
            return httpx.post(node.webhook_url, content=body, headers=headers)

    def signed(self, recipient: str, key: Ed25519Signer | None = None) -> tuple[bytes, dict]:  # type: ignore[type-arg]
        row = self.rows[recipient]
        body = row.payload.encode()
        return body, webhook_headers(key or self.center_key, row.id, body)


@pytest.fixture
def line(
    engine: Engine, demo_mission: Mission, demo_enricher: Any, tmp_path: Path
) -> Iterator[Line]:
    """Both parties' inboxes (each with its key registered in the mission) and a notice to
    both parties taken into effect at the center."""
    vkeys = {p: init_inbox(tmp_path / p, p) for p in ("AM", "AZ")}
    parties = [p.model_copy(update={"keys": [vkeys[p.id]]}) for p in demo_mission.config.parties]
    mission = dataclasses.replace(
        demo_mission, config=demo_mission.config.model_copy(update={"parties": parties})
    )
    with engine.begin() as db:
        for name, role, contingent in (
            ("ru-analyst", "analyst", "RU"),
            ("ru-duty-officer", "duty_officer", "RU"),
            ("tr-duty-officer", "duty_officer", "TR"),
            ("ru-head", "head", "RU"),
            ("tr-head", "head", "TR"),
        ):
            add_user(db, mission, name, role, contingent)
        token = issue_token(db, "ru-analyst", "test")
    client = TestClient(create_app(engine, mission, enricher=demo_enricher))
    sent = client.post(
        "/api/v1/observations", json=[INCIDENT], headers={"Authorization": f"Bearer {token}"}
    )
    assert sent.json()["accepted"] == 1
    at = datetime(2021, 2, 1, 11, tzinfo=UTC)
    with engine.begin() as db:
        incident = db.execute(sa.text("SELECT id FROM incidents")).scalar_one()
        for name in ("ru-duty-officer", "tr-duty-officer"):
            assessments.submit(
                db,
                mission,
                get_user(db, name),
                incident,
                violation="yes",
                clauses=["1"],
                attribution="AZ",
                severity="high",
                at=at,
            )
        d = decisions.propose(
            db, mission, get_user(db, "ru-head"), incident, "notify_both_parties", at=at
        )
        decisions.approve(db, mission, get_user(db, "tr-head"), d.id, at=at)
        notice_effects(db, mission)  # its notices, as the dispatcher writes them
        rows = {r.recipient: r for r in db.execute(sa.select(notices))}
    center_key = Ed25519Signer.generate("center")
    inboxes = {
        p: Inbox(tmp_path / p, p, center_key.vkey, "http://testserver", client=client)
        for p in ("AM", "AZ")
    }
    yield Line(client, engine, center_key, inboxes, rows)
    for inbox in inboxes.values():
        inbox.close()
    client.close()


def test_the_inbox_takes_signed_notices_once_and_refuses_the_rest(line: Line) -> None:
    body, headers = line.signed("AZ")
    first = line.post("AZ", body, headers)
    assert first.status_code == 201, first.text
    again = line.post("AZ", body, headers)  # the dispatcher's retry after a lost answer
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert [n.id for n in line.inboxes["AZ"].notices()] == [line.rows["AZ"].id]
    # signed by a key that is not the center's
    forged = line.post("AZ", *line.signed("AZ", Ed25519Signer.generate("center")))
    assert forged.status_code == 401 and "center's key" in forged.json()["detail"]
    # a recording of an old delivery, replayed
    old = webhook_headers(line.center_key, line.rows["AZ"].id, body, timestamp=1_600_000_000)
    replayed = line.post("AZ", body, old)
    assert replayed.status_code == 401 and "tolerance" in replayed.json()["detail"]
    # the center's signature, but the notice of the other party
    other = line.post("AZ", *line.signed("AM"))
    assert other.status_code == 422 and "AM" in other.json()["detail"]
    # altered on the way
    tampered = line.post("AZ", body.replace(b'"AZ"', b'"AM"', 1), headers)
    assert tampered.status_code == 401
    assert len(line.inboxes["AZ"].notices()) == 1


def test_a_body_too_large_is_refused_declared_or_chunked(line: Line) -> None:
    body, headers = line.signed("AZ")
    with InboxNode(line.inboxes["AZ"], lang="az") as node:
        declared = httpx.post(node.webhook_url, content=b"x" * (MAX_BODY + 1), headers=headers)
        # no Content-Length: the body arrives in chunks and is cut off at the limit
        chunks = (b"x" * 65536 for _ in range(MAX_BODY // 65536 + 2))
        chunked = httpx.post(node.webhook_url, content=chunks, headers=headers)
        after = httpx.post(node.webhook_url, content=body, headers=headers)
    assert declared.status_code == 413 and chunked.status_code == 413
    assert "content-length" not in chunked.request.headers
    assert after.status_code == 201
    assert [n.id for n in line.inboxes["AZ"].notices()] == [line.rows["AZ"].id]


def test_the_page_is_in_the_partys_language_and_acknowledges(line: Line) -> None:
    inbox = line.inboxes["AZ"]
    inbox.receive(*reversed(line.signed("AZ")))  # type: ignore[arg-type]
    shown = page(inbox, "az", "Asia/Baku")
    assert line.rows["AZ"].subject in shown and "Asia/Baku" in shown
    assert "<form" in shown
    with InboxNode(inbox, lang="az", timezone="Asia/Baku") as node:
        listed = httpx.get(f"{node.url}/notices").json()["notices"]
        assert [n["id"] for n in listed] == [line.rows["AZ"].id]
        # the button: signed with AZ's key, sent to the center, which takes it
        pressed = httpx.post(
            f"{node.url}/notices/{line.rows['AZ'].id}/ack", data={"by": "Maj. Aliyev"}
        )
        assert pressed.status_code == 303
    done = inbox.get(line.rows["AZ"].id)
    assert done is not None and done.acked_at and done.ack_error == ""
    with line.engine.connect() as db:
        row = db.execute(sa.select(notices).where(notices.c.id == line.rows["AZ"].id)).one()
        entry = json.loads(
            db.execute(
                sa.text("SELECT entry FROM ledger WHERE kind = 'acknowledgement'")
            ).scalar_one()
        )["record"]
    assert row.acked_by == "Maj. Aliyev" and entry["how"] == "signature"
    assert entry["key"].startswith("az-inbox+")
    assert "<form" not in page(inbox, "az", "Asia/Baku")


def test_the_other_partys_inbox_cannot_acknowledge_for_it(line: Line, tmp_path: Path) -> None:
    """AM's inbox made to hold AZ's notice (as if it had been misrouted) signs with AM's key:
    the center refuses, and the inbox shows why."""
    am = line.inboxes["AM"]
    am.party = "AZ"  # let it store AZ's notice
    am.receive(*reversed(line.signed("AZ")))  # type: ignore[arg-type]
    refused = am.acknowledge(line.rows["AZ"].id)
    assert refused.acked_at is None
    assert refused.ack_error.startswith("403: signature:") and "AM" in refused.ack_error
    with line.engine.connect() as db:
        assert (
            db.execute(
                sa.select(notices.c.acked_at).where(notices.c.id == line.rows["AZ"].id)
            ).scalar_one()
            is None
        )

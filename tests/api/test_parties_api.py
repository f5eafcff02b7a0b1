"""The direct lines coming back over HTTP, on SQLite and PostgreSQL: acknowledging with the
link (the page and its form, or JSON) or a signature, answering, complaining; every refusal is
problem details naming the field; one party cannot act for the other."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from api_support import add_staff, bearer
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ceasefire.api import create_app
from ceasefire.dissemination import acks
from ceasefire.dissemination.outbox import notice_effects
from ceasefire.dissemination.tables import notices
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.mission import Mission
from ceasefire.workflow import assessments, decisions

API = "/api/v1"
PROBLEM = "application/problem+json"
INCIDENT = {
    "id": "RU-P001",
    "contingent": "RU",
    "platform": {"id": "p-07", "type": "orlan-10"},
    "observed_at": "2021-02-01T10:00:00Z",
    "location": {"lat": 39.82, "lon": 46.70, "ce_m": 50},
    "category": "explosion",
    "qualifiers": {"explosion": "impact"},
    "sensed_by": "drone-eo",
}


def field_of(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    [error] = body["errors"]
    assert error["reason"] and body["detail"]
    return str(error["field"])


@pytest.fixture
def line(
    engine: Engine, demo_mission: Mission, demo_enricher: Any
) -> tuple[TestClient, dict[str, str], dict[str, Any], Ed25519Signer]:
    """A request for an explanation to AZ taken into effect; AZ's liaison has a key."""
    signer = Ed25519Signer.generate("az-liaison")
    parties = [
        p.model_copy(update={"keys": [signer.verifier().vkey]}) if p.id == "AZ" else p
        for p in demo_mission.config.parties
    ]
    mission = dataclasses.replace(
        demo_mission, config=demo_mission.config.model_copy(update={"parties": parties})
    )
    tokens = add_staff(engine, mission)
    client = TestClient(create_app(engine, mission, enricher=demo_enricher))
    sent = client.post(f"{API}/observations", json=[INCIDENT], headers=bearer(tokens["ru-analyst"]))
    assert sent.json()["accepted"] == 1, sent.text
    [incident] = client.get(f"{API}/incidents", headers=bearer(tokens["ru-head"])).json()[
        "incidents"
    ]
    from ceasefire.workflow.roles import get_user

    with engine.begin() as db:
        for name in ("ru-duty-officer", "tr-duty-officer"):
            assessments.submit(
                db,
                mission,
                get_user(db, name),
                incident["id"],
                violation="yes",
                clauses=["1"],
                attribution="AZ",
                severity="high",
            )
        ru, tr = get_user(db, "ru-head"), get_user(db, "tr-head")
        at = datetime(2021, 2, 1, 11, tzinfo=UTC)
        d = decisions.propose(
            db, mission, ru, incident["id"], "request_explanation", party="AZ", at=at
        )
        decisions.approve(db, mission, tr, d.id, at=at)
        notice_effects(db, mission)  # its notices, as the dispatcher writes them
        rows = {r.recipient: r for r in db.execute(sa.select(notices))}
    return client, tokens, rows, signer


def test_acknowledged_through_the_link_page(
    line: tuple[TestClient, dict[str, str], dict[str, Any], Ed25519Signer],
) -> None:
    client, _tokens, rows, _signer = line
    az = rows["AZ"]
    url = json.loads(az.payload)["ack"]["url"]
    page = client.get(url, headers={"Accept-Language": "az"})
    assert page.status_code == 200 and "<form" in page.text and az.subject in page.text
    # AM's token on AZ's notice: not its link
    other = client.get(f"{API}/notices/{az.id}/ack", params={"token": rows["AM"].ack_token})
    assert other.status_code == 403 and "<form" not in other.text
    done = client.post(
        f"{API}/notices/{az.id}/ack", data={"token": az.ack_token, "by": "Major Aliyev"}
    )
    assert done.status_code == 200 and "Major Aliyev" in done.text
    again = client.get(url)
    assert "<form" not in again.text and "Major Aliyev" in again.text


def test_acknowledged_in_json_with_a_signature_and_refusals_name_the_field(
    line: tuple[TestClient, dict[str, str], dict[str, Any], Ed25519Signer],
) -> None:
    client, _tokens, rows, signer = line
    am, az = rows["AM"], rows["AZ"]
    at = datetime.now(UTC)
    # party AM tries AZ's notice with its own link; then with a key not AZ's
    path = f"{API}/notices/{az.id}/ack"
    assert field_of(client.post(path, json={"token": am.ack_token}), 403) == "token"
    stranger = acks.sign_ack(Ed25519Signer.generate("am-liaison"), az.id, az.payload_hash, at, "x")
    assert field_of(client.post(path, json={"signature": stranger}), 403) == "signature"
    # AZ's own signature, made for AM's notice
    misplaced = acks.sign_ack(signer, am.id, am.payload_hash, at, "x")
    assert field_of(client.post(path, json={"signature": misplaced}), 403) == "signature"
    assert field_of(client.post(path, json={}), 422) == "token"
    assert field_of(client.post(path, json={"token": 1}), 422) == "token"
    assert field_of(client.post(path, json={"tokn": "x"}), 422) == "tokn"
    # a token on a notice that does not exist: refused as a wrong token (a guess tells nothing)
    nowhere = client.post(f"{API}/notices/NTC-0/ack", json={"token": am.ack_token})
    assert field_of(nowhere, 403) == "token"
    wrong = client.post(path, json={"token": am.ack_token}).json()
    assert nowhere.json()["detail"].replace("NTC-0", az.id) == wrong["detail"]
    assert am.id not in wrong["detail"]  # nor does it name the notice a token opens
    assert field_of(
        client.post(f"{API}/notices/NTC-0/ack", json={"signature": misplaced}), 404
    ) == ("notice")
    note = acks.sign_ack(signer, az.id, az.payload_hash, at, "Major Aliyev")
    done = client.post(path, json={"signature": note})
    assert done.status_code == 201, done.text
    assert done.json()["how"] == "signature" and done.json()["by"] == "Major Aliyev"
    assert field_of(client.post(path, json={"signature": note}), 409) == "notice"  # replayed


def test_answer_and_complaint_over_http(
    line: tuple[TestClient, dict[str, str], dict[str, Any], Ed25519Signer],
) -> None:
    client, tokens, rows, _signer = line
    am, az = bearer(tokens["am-liaison"]), bearer(tokens["az-liaison"])
    answer = f"{API}/notices/{rows['AZ'].id}/answer"
    assert field_of(client.post(answer, json={"text": "not ours"}, headers=am), 403) == "notice"
    assert (
        client.post(answer, json={"text": "x"}, headers=bearer(tokens["ru-head"])).status_code
        == 403
    )
    made = client.post(answer, json={"text": "Our units did not fire."}, headers=az)
    assert made.status_code == 201, made.text
    assert made.json()["party"] == "AZ" and len(made.json()["notices"]) == 3
    complaint = {
        "observed_at": "2021-02-01T09:40:00Z",
        "location": {"lat": 39.79, "lon": 46.75},
        "description": "Shelling of the village.",
        "evidence": ["cd" * 32],
    }
    bad = client.post(f"{API}/complaints", json={**complaint, "evidence": ["x"]}, headers=am)
    assert field_of(bad, 422) == "evidence[0].sha256"
    filed = client.post(f"{API}/complaints", json=complaint, headers=am)
    assert filed.status_code == 201, filed.text
    assert filed.json()["observation"].endswith(filed.json()["id"])
    assert client.post(f"{API}/complaints", json=complaint, headers=am).status_code == 200
    listed = client.get(f"{API}/messages", headers=bearer(tokens["tr-duty-officer"])).json()
    assert [(m["kind"], m["party"]) for m in listed["messages"]] == [
        ("complaint", "AM"),
        ("answer", "AZ"),
    ] or [(m["kind"], m["party"]) for m in listed["messages"]] == [
        ("answer", "AZ"),
        ("complaint", "AM"),
    ]
    assert client.get(f"{API}/messages", headers=am).status_code == 403

"""Blindness holds on every read path: while only RU has given its view of an incident, every
GET endpoint of the API (walked from the app's own route table, so a new endpoint joins the
walk or fails it) and every listing of the command line, read as the other side or from
outside, shows nothing of RU's assessment, nor of the decisions RU proposed on it. No time-out
ends it: RU's view was given in 2021, years before the walk."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from api_support import add_staff, bearer, post_both_saw
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from ceasefire.api import create_app
from ceasefire.dissemination.outbox import notice_effects
from ceasefire.dissemination.tables import notices
from ceasefire.ledger.tables import ledger
from ceasefire.mission import Mission
from ceasefire.store.schema import observations
from ceasefire.workflow import assessments, decisions
from ceasefire.workflow.roles import get_user
from ceasefire.workflow.tables import decisions as decisions_table

API = "/api/v1"
T0 = datetime(2021, 2, 1, 10, 30, tzinfo=UTC)
SECRET = "SECRET-RU"
# Pairs that would give RU's view away wherever they appear in a JSON answer.
REVEALING = {
    ("attribution", "AZ"),
    ("party", "AZ"),
    ("reaction", "request_explanation"),
    ("reaction", "request_reobservation"),
    ("violation", "yes"),
}


def pairs(data: Any) -> set[tuple[str, Any]]:
    found: set[tuple[str, Any]] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str):
                found.add((key, value))
            found |= pairs(value)
    elif isinstance(data, list):
        for item in data:
            found |= pairs(item)
    return found


def leaks(text: str) -> list[str]:
    found = [SECRET] if SECRET in text else []
    try:
        data = json.loads(text)
    except ValueError:
        return found
    return found + [f"{k}={v}" for k, v in sorted(pairs(data) & REVEALING)]


@pytest.fixture
def blind_incident(
    engine: Engine, demo_mission: Mission, demo_enricher: Any
) -> tuple[TestClient, dict[str, str], str]:
    """One incident both saw; only RU has assessed it (in 2021) and proposed reactions."""
    tokens = add_staff(engine, demo_mission)
    client = TestClient(create_app(engine, demo_mission, enricher=demo_enricher))
    incident = post_both_saw(client, tokens)
    m = demo_mission
    with engine.begin() as db:
        ru_do, ru_head = get_user(db, "ru-duty-officer"), get_user(db, "ru-head")
        assessments.submit(
            db, m, ru_do, incident["id"], violation="yes", clauses=["1"], attribution="AZ",
            severity="high", remarks=f"{SECRET} assessment", at=T0,
        )  # fmt: skip
        decisions.propose(
            db, m, ru_head, incident["id"], "request_explanation", party="AZ",
            remarks=f"{SECRET} two-key", at=T0,
        )  # fmt: skip
        decisions.propose(
            db, m, ru_do, incident["id"], "request_reobservation", contingent="TR", urgent=True,
            remarks=f"{SECRET} urgent", at=T0,
        )  # fmt: skip
        notice_effects(db, m)  # its notices, as the dispatcher writes them
    return client, tokens, incident["id"]


def walk(
    client: TestClient, engine: Engine, mission: Mission, token: str, incident: str
) -> dict[str, list[str]]:
    """GET every read endpoint with every id there is; what each answer gave away."""
    with engine.connect() as db:
        size = len(db.execute(select(ledger.c["index"])).all())
        observed = db.execute(select(observations.c.contingent, observations.c.source_id)).all()
        decided = list(db.execute(select(decisions_table.c.id)).scalars())
        sent = list(db.execute(select(notices.c.id)).scalars())
    values: dict[tuple[str, ...], list[tuple[str, ...]]] = {
        (): [()],
        ("incident_id",): [(incident,)],
        ("decision_id",): [(d,) for d in decided],
        ("index",): [(str(i),) for i in range(size)],
        ("release_id",): [("1",)],
        ("contingent", "observation_id"): [(c, s) for c, s in observed],
        # OGC API - Features, statistics and the signed daily reports (docs/reports.md)
        ("collection_id",): [("incidents",), ("observations",), ("zones",)],
        ("collection_id", "fid"): [("incidents", incident)]
        + [("observations", f"{c}/{s}") for c, s in observed],
        ("report_id",): [("1",)],
        ("notice_id",): [(n,) for n in sent],
    }
    queries: dict[str, list[str]] = {
        "/decisions": ["", f"?incident={incident}", "?pending=true"],
        "/incidents/{incident_id}/assessments": ["", "?all_versions=true"],
        "/ledger/proof/inclusion": ["?index=0&size=1"],
        "/ledger/proof/consistency": ["?old=0&new=1"],
        "/notices/{notice_id}/ack": ["?token=not-the-link"],
    }
    found: dict[str, list[str]] = {}
    app = client.app
    document = app.openapi()  # type: ignore[attr-defined]
    # The documented GET operations, and the app's own hidden routes (/docs, /openapi.json).
    paths = {p for p, ops in document["paths"].items() if "get" in ops}
    paths |= {r.path for r in app.routes if "GET" in (getattr(r, "methods", None) or ())}  # type: ignore[attr-defined]
    paths = {p[len(API) :] for p in paths if p.startswith(API)}
    assert {"/decisions", "/ledger/entries/{index}", "/shifts/handover", "/docs"} <= paths
    for path in sorted(paths):
        params = tuple(re.findall(r"\{([^}:]+)", path))
        assert params in values, f"{path}: add its parameters {params} to the walk"
        for given in values[params]:
            concrete = path
            for value in given:
                concrete = re.sub(r"\{[^}]+\}", value, concrete, count=1)
            for query in queries.get(path, [""]):
                answer = client.get(f"{API}{concrete}{query}", headers=bearer(token))
                assert answer.status_code < 500, (concrete, answer.text)
                if leaked := leaks(answer.text):
                    found[f"{concrete}{query}"] = leaked
    return found


READERS = ["tr-analyst", "tr-duty-officer", "tr-head", "auditor", "pk-liaison", "az-liaison"]


def test_every_read_endpoint_keeps_the_other_sides_view_back(
    engine: Engine, demo_mission: Mission, blind_incident: tuple[TestClient, dict[str, str], str]
) -> None:
    client, tokens, incident = blind_incident
    # The walk reaches RU's view: RU itself reads it on several endpoints.
    own = walk(client, engine, demo_mission, tokens["ru-analyst"], incident)
    assert {"/decisions", f"/incidents/{incident}/assessments"} <= set(own), own
    for reader in READERS:
        assert walk(client, engine, demo_mission, tokens[reader], incident) == {}, reader
    # TR may not answer what it cannot see.
    two_key, urgent = client.get(f"{API}/decisions", headers=bearer(tokens["ru-head"])).json()[
        "decisions"
    ]
    refused = client.post(
        f"{API}/decisions/{two_key['id']}/approve", headers=bearer(tokens["tr-head"])
    )
    assert refused.status_code == 403, refused.text
    refused = client.post(
        f"{API}/decisions/{urgent['id']}/confirm", headers=bearer(tokens["tr-duty-officer"])
    )
    assert refused.status_code == 403, refused.text
    # Once TR has given its own view, each side sees both.
    made = client.post(
        f"{API}/incidents/{incident}/assessments",
        json={"violation": "no", "attribution": "not_attributed"},
        headers=bearer(tokens["tr-duty-officer"]),
    )
    assert made.status_code == 201, made.text
    seen = walk(client, engine, demo_mission, tokens["tr-analyst"], incident)
    assert {"/decisions", f"/incidents/{incident}/assessments"} <= set(seen), seen


def test_two_heads_end_the_blind_period_over_http(
    blind_incident: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, incident = blind_incident
    url = f"{API}/incidents/{incident}/unblind"
    assert client.post(url, headers=bearer(tokens["tr-duty-officer"])).status_code == 403
    first = client.post(
        url, json={"remarks": "RU never answered"}, headers=bearer(tokens["tr-head"])
    )
    assert first.status_code == 200, first.text
    assert first.json() == {"incident": incident, "agreed": ["TR"], "blind": True}
    shown = client.get(f"{API}/decisions", headers=bearer(tokens["tr-head"])).json()["decisions"]
    assert all(d["withheld"] and d["reaction"] is None for d in shown)
    again = client.post(url, headers=bearer(tokens["tr-head"]))
    assert again.status_code == 409, again.text
    both = client.post(url, headers=bearer(tokens["ru-head"]))
    assert both.json() == {"incident": incident, "agreed": ["RU", "TR"], "blind": False}
    shown = client.get(f"{API}/decisions", headers=bearer(tokens["tr-head"])).json()["decisions"]
    assert {d["reaction"] for d in shown} == {"request_explanation", "request_reobservation"}


def test_the_command_line_listings_keep_it_back_too(
    cli: Any,
    database_url: str,
    blind_incident: tuple[TestClient, dict[str, str], str],
) -> None:
    _client, _tokens, incident = blind_incident
    # (each command closes its own store when it ends: nothing left open behind it)
    db = ["--db", database_url]
    for reader in ("tr-analyst", "tr-duty-officer", "tr-head", "auditor"):
        for fmt in ("json", "text"):
            for args in (
                ("decisions", "--as-user", reader),
                ("decisions", "--as-user", reader, "--incident", incident, "--pending"),
                ("finding", incident, "--as-user", reader),
                ("shift", "handover", "--as-user", reader),
            ):
                shown = cli(*args, "--format", fmt, *db)
                assert shown.code == 0, (args, shown.err)
                assert leaks(shown.out) == [], (reader, args, shown.out)
                assert "request_explanation" not in shown.out
    own = cli("decisions", "--as-user", "ru-analyst", "--format", "json", *db)
    assert SECRET in own.out

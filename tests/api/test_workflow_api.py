"""The joint workflow over HTTP, on SQLite and PostgreSQL: log-in, two assessments (blind until
both are in), a joint finding and a two-key decision, as a client with curl would do it; the
library's refusals come back as problem details."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import add_staff, bearer, post_both_saw, problem, sighting
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select

from ceasefire.api import create_app
from ceasefire.center import core
from ceasefire.dissemination import facts, outbox
from ceasefire.dissemination.outbox import waiting_effects
from ceasefire.dissemination.tables import deliveries, notices
from ceasefire.mission import Mission
from ceasefire.workflow.roles import set_password

API = "/api/v1"


@pytest.fixture
def center(
    engine: Engine, demo_mission: Mission, demo_enricher: Any
) -> tuple[TestClient, dict[str, str], str]:
    """Staff of every role, and one incident both contingents saw."""
    tokens = add_staff(engine, demo_mission)
    with engine.begin() as db:
        for name in ("ru-head", "tr-head"):
            set_password(db, name, f"{name} secret")
    client = TestClient(create_app(engine, demo_mission, enricher=demo_enricher))
    incident = post_both_saw(client, tokens)
    return client, tokens, incident["id"]


ASSESSMENT = {"violation": "yes", "clauses": ["1"], "attribution": "AM", "severity": "high"}


def test_two_assessments_a_finding_and_a_two_key_decision_over_http(
    center: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, incident = center
    ru, tr = bearer(tokens["ru-duty-officer"]), bearer(tokens["tr-duty-officer"])
    assessments = f"{API}/incidents/{incident}/assessments"

    # RU assesses first; TR cannot see it while blind.
    made = client.post(assessments, json=ASSESSMENT, headers=ru)
    assert made.status_code == 201, made.text
    assert (made.json()["contingent"], made.json()["version"], made.json()["outcome"]) == (
        "RU",
        1,
        None,
    )
    blind = client.get(assessments, headers=tr).json()
    assert blind["blind"] is True and blind["assessments"] == []
    # Nor through the log: its entry stays with RU while blind.
    index = made.json()["ledger_index"]
    problem(client.get(f"{API}/ledger/entries/{index}", headers=tr), 403)
    assert client.get(f"{API}/ledger/entries/{index}", headers=ru).status_code == 200
    assert [a["contingent"] for a in client.get(assessments, headers=ru).json()["assessments"]] == [
        "RU"
    ]

    # TR agrees: a joint finding, both views side by side.
    made = client.post(assessments, json={**ASSESSMENT, "severity": "medium"}, headers=tr)
    assert made.json()["outcome"] == "finding", made.text
    both = client.get(assessments, headers=tr).json()
    assert both["blind"] is False
    assert client.get(f"{API}/ledger/entries/{index}", headers=tr).status_code == 200
    assert sorted(a["contingent"] for a in both["assessments"]) == ["RU", "TR"]
    finding = client.get(f"{API}/incidents/{incident}/finding", headers=ru).json()
    assert finding["status"] == "finding"
    assert finding["finding"]["outcome"] == "finding" and finding["finding"]["severity"] == "high"

    # The heads log in with their passwords and take a two-key decision.
    heads = {}
    for name in ("ru-head", "tr-head"):
        session = client.post(f"{API}/session", json={"name": name, "password": f"{name} secret"})
        assert session.status_code == 201, session.text
        assert session.json()["user"]["role"] == "head"
        heads[name] = bearer(session.json()["token"])
    proposed = client.post(
        f"{API}/incidents/{incident}/decisions",
        json={"reaction": "notify_both_parties", "remarks": "both parties alike"},
        headers=heads["ru-head"],
    )
    assert proposed.status_code == 201, proposed.text
    decision = proposed.json()
    assert (decision["tier"], decision["state"]) == ("two_key", "proposed")
    pending = client.get(f"{API}/decisions", params={"pending": "true"}, headers=tr).json()
    assert [d["id"] for d in pending["decisions"]] == [decision["id"]]
    handover = client.get(f"{API}/shifts/handover", headers=bearer(tokens["tr-analyst"])).json()
    assert [d["id"] for d in handover["pending_decisions"]] == [decision["id"]]

    # A duty officer's key does not count for a two-key decision; the other head's does.
    url = f"{API}/decisions/{decision['id']}"
    problem(client.post(f"{url}/approve", headers=tr), 403)
    approved = client.post(f"{url}/approve", json={"remarks": "agreed"}, headers=heads["tr-head"])
    assert approved.json()["state"] == "approved", approved.text
    assert client.get(url, headers=ru).json()["state"] == "approved"
    assert client.get(f"{API}/decisions", params={"pending": True}, headers=ru).json() == {
        "decisions": []
    }
    problem(client.post(f"{url}/approve", headers=heads["ru-head"]), 409)  # nothing to approve

    # Log-out ends the session; an API token is not logged out.
    assert client.delete(f"{API}/session", headers=heads["ru-head"]).status_code == 204
    problem(client.get(url, headers=heads["ru-head"]), 401)
    problem(client.delete(f"{API}/session", headers=ru), 409)


def test_no_one_acts_for_the_other_contingent(
    center: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, incident = center
    ru = bearer(tokens["ru-duty-officer"])
    body = problem(
        client.post(
            f"{API}/incidents/{incident}/assessments",
            json={**ASSESSMENT, "contingent": "TR"},
            headers=ru,
        ),
        403,
    )
    assert body["type"].endswith("forbidden") and "TR" in body["detail"]
    # a batch with a record of the other contingent: that record alone is rejected
    batch = [sighting("RU", 30) | {"id": "RU-W002"}, sighting("TR", 31) | {"id": "TR-W002"}]
    answer = client.post(f"{API}/observations", json=batch, headers=ru).json()
    assert (answer["accepted"], answer["rejected"]) == (1, 1)
    assert answer["results"][1]["field"] == "contingent" and answer["results"][1]["reason"]
    # a liaison of a party reads nothing that was not released to it
    problem(client.get(f"{API}/observations", headers=bearer(tokens["am-liaison"])), 403)


def test_refusals_and_errors_are_problem_details(
    center: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, incident = center
    ru = bearer(tokens["ru-duty-officer"])
    body = problem(client.get(f"{API}/decisions"), 401)
    assert client.get(f"{API}/decisions").headers["www-authenticate"].startswith("Bearer")
    assert body["type"].endswith("unauthenticated")
    problem(client.get(f"{API}/decisions", headers={"Authorization": "Basic eDp5"}), 401)
    problem(client.post(f"{API}/session", json={"name": "ru-head", "password": "no"}), 401)
    problem(client.post(f"{API}/session", json={"name": "nobody", "password": "no"}), 401)
    problem(client.get(f"{API}/incidents/INC-000000000000/finding", headers=ru), 404)
    problem(client.post(f"{API}/decisions/DEC-000000000000/approve", headers=ru), 404)
    invalid = problem(
        client.post(f"{API}/incidents/{incident}/decisions", json={"reaction": "x"}, headers=ru),
        422,
    )
    assert "reaction" in invalid["detail"]
    problem(client.post(f"{API}/incidents/{incident}/assessments", json={}, headers=ru), 422)
    refused = client.get(
        f"{API}/incidents/{incident}/assessments",
        headers={**bearer(tokens["auditor"]), "Accept-Language": "ru"},
    )
    assert refused.status_code == 200  # auditors read (nothing while blind)
    assert refused.json()["assessments"] == []


def _propose_over_http(
    client: TestClient, tokens: dict[str, str], incident: str
) -> tuple[str, dict[str, str]]:
    """Both duty officers assess alike and RU's head proposes a two-key decision; its id, and
    TR's head's authorization header to approve it with."""
    for officer in ("ru-duty-officer", "tr-duty-officer"):
        made = client.post(
            f"{API}/incidents/{incident}/assessments",
            json=ASSESSMENT,
            headers=bearer(tokens[officer]),
        )
        assert made.status_code == 201, made.text
    heads = {}
    for name in ("ru-head", "tr-head"):
        session = client.post(f"{API}/session", json={"name": name, "password": f"{name} secret"})
        heads[name] = bearer(session.json()["token"])
    proposed = client.post(
        f"{API}/incidents/{incident}/decisions",
        json={"reaction": "notify_both_parties"},
        headers=heads["ru-head"],
    )
    assert proposed.status_code == 201, proposed.text
    return str(proposed.json()["id"]), heads["tr-head"]


def _approve(client: TestClient, decision: str, head: dict[str, str]) -> None:
    approved = client.post(f"{API}/decisions/{decision}/approve", headers=head)
    assert approved.json()["state"] == "approved", approved.text


def test_a_decision_and_its_notices_commit_together(
    center: tuple[TestClient, dict[str, str], str], engine: Engine
) -> None:
    client, tokens, incident = center
    decision, head = _propose_over_http(client, tokens, incident)
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    event.listen(engine, "commit", committed)
    try:
        _approve(client, decision, head)
    finally:
        event.remove(engine, "commit", committed)
    assert len(commits) == 1  # the approval and its notices: one transaction
    with engine.connect() as db:
        assert waiting_effects(db) == []  # nothing left for the dispatcher
        rows = db.execute(select(notices.c.recipient, notices.c.ledger_index)).all()
        approved_at = facts.ledger_index_of(db, "decision", decision)
    assert sorted(r.recipient for r in rows) == ["AM", "AZ", "PK"]
    # the notices' log entries follow the approval's in its transaction
    assert sorted(r.ledger_index for r in rows) == [
        approved_at + 1,
        approved_at + 2,
        approved_at + 3,
    ]


def test_a_decision_stands_when_its_notices_fail(
    center: tuple[TestClient, dict[str, str], str],
    engine: Engine,
    demo_mission: Mission,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Writing the notices fails after it wrote some of them: the decision commits without
    any of them (its savepoint rolled back), and the dispatcher's turn writes them once."""

    def half_then_fail(db: Any, mission: Mission, **only: Any) -> None:
        outbox.notice_effects(db, mission, **only)
        raise RuntimeError("the notices' template broke")

    monkeypatch.setattr(core, "notice_effects", half_then_fail)
    client, tokens, incident = center
    decision, head = _propose_over_http(client, tokens, incident)
    _approve(client, decision, head)
    assert "Writing the notices of decisions failed" in caplog.text
    with engine.connect() as db:
        assert db.execute(select(func.count()).select_from(notices)).scalar_one() == 0
        assert db.execute(select(func.count()).select_from(deliveries)).scalar_one() == 0
        assert waiting_effects(db) == [decision]
    with engine.begin() as db:  # the dispatcher's turn
        assert len(outbox.notice_effects(db, demo_mission)[decision]) == 3

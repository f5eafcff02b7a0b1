"""Users, tokens and the roster over HTTP, on SQLite and PostgreSQL: a head manages their own
contingent's users only, symmetrically for RU and TR; every change is in the ledger without
secrets; a roster shows which shifts would run without a contingent."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import sqlalchemy as sa
from api_support import add_staff, bearer, problem
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ceasefire.api import create_app
from ceasefire.ledger.tables import ledger
from ceasefire.mission import Mission

API = "/api/v1"
SIDES = (("RU", "TR"), ("TR", "RU"))


@pytest.fixture
def center(
    engine: Engine, demo_mission: Mission, demo_enricher: Any
) -> tuple[TestClient, dict[str, str]]:
    tokens = add_staff(engine, demo_mission)
    return TestClient(create_app(engine, demo_mission, enricher=demo_enricher)), tokens


def head(tokens: dict[str, str], side: str) -> dict[str, str]:
    return bearer(tokens[f"{side.lower()}-head"])


def log_records(engine: Engine, kind: str) -> list[dict[str, Any]]:
    with engine.connect() as db:
        rows = db.execute(
            sa.select(ledger.c.entry).where(ledger.c.kind == kind).order_by(ledger.c["index"])
        ).scalars()
        return [json.loads(r)["record"] for r in rows]


@pytest.mark.parametrize(("mine", "other"), SIDES)
def test_a_head_manages_their_own_contingent_only(
    center: tuple[TestClient, dict[str, str]], engine: Engine, mine: str, other: str
) -> None:
    client, tokens = center
    me, m, o = head(tokens, mine), mine.lower(), other.lower()

    # add: one of mine yes, one of the other side's or outside the contingents no
    made = client.post(
        f"{API}/users",
        json={"name": f"{m}-new", "role": "analyst", "affiliation": mine, "password": "pw-1234"},
        headers=me,
    )
    assert made.status_code == 201, made.text
    assert made.json() == {
        "name": f"{m}-new",
        "role": "analyst",
        "affiliation": mine,
        "disabled": False,
    }
    body = problem(
        client.post(
            f"{API}/users",
            json={"name": f"{o}-new", "role": "analyst", "affiliation": other},
            headers=me,
        ),
        403,
    )
    assert body["type"].endswith("forbidden") and other in body["detail"]
    problem(
        client.post(
            f"{API}/users",
            json={"name": "aud-2", "role": "auditor", "affiliation": ""},
            headers=me,
        ),
        403,
    )
    # the new user logs in with the password given
    session = client.post(f"{API}/session", json={"name": f"{m}-new", "password": "pw-1234"})
    assert session.status_code == 201, session.text

    # tokens: for mine, shown once and working; not for the other side's
    issued = client.post(f"{API}/users/{m}-new/tokens", json={"label": "script"}, headers=me)
    assert issued.status_code == 201, issued.text
    assert issued.headers["cache-control"] == "no-store"
    token = issued.json()["token"]
    assert issued.json()["id"] == token.split("_")[1] and issued.json()["user"] == f"{m}-new"
    whoami = client.get(f"{API}/decisions", headers=bearer(token))
    assert whoami.status_code == 200, whoami.text
    problem(client.post(f"{API}/users/{o}-analyst/tokens", headers=me), 403)

    # disable: mine yes (its tokens and session stop working), the other side's no
    problem(client.post(f"{API}/users/{o}-analyst/disable", headers=me), 403)
    problem(client.post(f"{API}/users/{o}-head/disable", headers=me), 403)
    done = client.post(f"{API}/users/{m}-analyst/disable", headers=me)
    assert done.status_code == 200 and done.json()["disabled"] is True, done.text
    problem(client.get(f"{API}/decisions", headers=bearer(tokens[f"{m}-analyst"])), 401)
    assert client.get(f"{API}/decisions", headers=bearer(tokens[f"{o}-analyst"])).status_code == 200
    client.post(f"{API}/users/{m}-new/disable", headers=me)
    problem(client.get(f"{API}/decisions", headers=bearer(token)), 401)
    problem(client.get(f"{API}/decisions", headers=bearer(session.json()["token"])), 401)

    # the list shows both sides (parity of information), with who is disabled
    listed = client.get(f"{API}/users", headers=bearer(tokens[f"{o}-analyst"])).json()["users"]
    by_name = {u["name"]: u for u in listed}
    assert by_name[f"{m}-analyst"]["disabled"] and not by_name[f"{o}-analyst"]["disabled"]
    assert {"auditor", "pk-liaison", f"{m}-new"} <= set(by_name)

    # other roles of the same contingent manage nobody (the analyst: the role matrix)
    officer = bearer(tokens[f"{m}-duty-officer"])
    problem(client.post(f"{API}/users/{m}-head/disable", headers=officer), 403)


def test_every_change_is_in_the_ledger_without_secrets(
    center: tuple[TestClient, dict[str, str]], engine: Engine
) -> None:
    client, tokens = center
    ru = head(tokens, "RU")
    body = {"name": "ru-new", "role": "duty_officer", "affiliation": "RU", "password": "s3cret-pw"}
    assert client.post(f"{API}/users", json=body, headers=ru).status_code == 201
    token = client.post(f"{API}/users/ru-new/tokens", headers=ru).json()["token"]
    assert client.post(f"{API}/users/ru-new/disable", headers=ru).status_code == 200

    users = [r for r in log_records(engine, "user") if r["name"] == "ru-new"]
    assert [(r["event"], r["by"]) for r in users] == [("added", "ru-head"), ("disabled", "ru-head")]
    issued = [r for r in log_records(engine, "token") if r["user"] == "ru-new"]
    assert issued == [
        {
            "event": "issued",
            "id": token.split("_")[1],
            "user": "ru-new",
            "label": "",
            "by": "ru-head",
            # The hash of the random secret, so a swapped hash is caught; never the secret.
            "secret_sha256": hashlib.sha256(token.split("_", 2)[2].encode()).hexdigest(),
        }
    ]
    with engine.connect() as db:
        text = " ".join(db.execute(sa.select(ledger.c.entry)).scalars())
    assert "s3cret" not in text and "argon2" not in text and token.split("_", 2)[2] not in text


def test_user_refusals_are_problem_details(center: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = center
    ru = head(tokens, "RU")
    user = {"name": "ru-x", "role": "analyst", "affiliation": "RU"}
    problem(client.post(f"{API}/users", json=user), 401)
    assert client.post(f"{API}/users", json=user, headers=ru).status_code == 201
    assert problem(client.post(f"{API}/users", json=user, headers=ru), 409)["type"].endswith(
        "conflict"
    )
    for bad in (
        {**user, "name": "Not A Name"},
        {**user, "name": "ru-y", "role": "general"},
        {**user, "name": "ru-y", "affiliation": "AM"},
        {**user, "name": "ru-y", "extra": 1},
        {"name": "ru-y"},
    ):
        problem(client.post(f"{API}/users", json=bad, headers=ru), 422)
    problem(client.post(f"{API}/users/nobody/disable", headers=ru), 404)
    problem(client.post(f"{API}/users/nobody/tokens", headers=ru), 404)
    problem(client.post(f"{API}/users/ru-x/tokens", json={"label": 5}, headers=ru), 422)
    assert client.post(f"{API}/users/ru-x/disable", headers=ru).status_code == 200
    problem(client.post(f"{API}/users/ru-x/tokens", headers=ru), 409)  # disabled


def test_the_roster_flags_a_shift_without_a_contingent(
    center: tuple[TestClient, dict[str, str]], engine: Engine
) -> None:
    client, tokens = center
    ru, tr = bearer(tokens["ru-duty-officer"]), bearer(tokens["tr-duty-officer"])
    planned = client.post(
        f"{API}/shifts",
        json={"starts_at": "2021-02-01T08:00:00Z", "ends_at": "2021-02-01T20:00:00+00:00"},
        headers=tr,
    )
    assert planned.status_code == 201, planned.text
    shift = planned.json()
    assert (shift["missing"], shift["flagged"]) == (["RU", "TR"], True)
    url = f"{API}/shifts/{shift['id']}/assign"

    # each side puts its own officers on, never the other's
    problem(client.post(url, json={"officer": "ru-duty-officer"}, headers=tr), 403)
    problem(client.post(url, json={"officer": "tr-duty-officer"}, headers=ru), 403)
    after = client.post(url, json={"officer": "ru-duty-officer"}, headers=ru)
    assert after.status_code == 200, after.text
    assert (after.json()["missing"], after.json()["flagged"]) == (["TR"], True)
    problem(client.post(url, json={"officer": "ru-duty-officer"}, headers=ru), 409)
    problem(client.post(url, json={"officer": "tr-analyst"}, headers=tr), 422)
    listed = client.get(f"{API}/shifts", headers=bearer(tokens["tr-analyst"])).json()["shifts"]
    assert [(s["id"], s["flagged"]) for s in listed] == [(shift["id"], True)]

    done = client.post(url, json={"officer": "tr-head"}, headers=bearer(tokens["tr-head"]))
    assert (done.json()["missing"], done.json()["flagged"]) == ([], False)
    assert done.json()["officers"] == [
        {"contingent": "RU", "user": "ru-duty-officer"},
        {"contingent": "TR", "user": "tr-head"},
    ]
    roster = client.get(f"{API}/shifts", headers=bearer(tokens["auditor"])).json()["shifts"]
    assert [s["flagged"] for s in roster] == [False]
    later = client.get(f"{API}/shifts", params={"since": "2021-02-01T20:00:00Z"}, headers=ru).json()
    assert later == {"shifts": []}
    events = [(r["event"], r["by"]) for r in log_records(engine, "shift")]
    assert events == [
        ("planned", "tr-duty-officer"),
        ("assigned", "ru-duty-officer"),
        ("assigned", "tr-head"),
    ]


def test_roster_refusals_are_problem_details(center: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = center
    ru = bearer(tokens["ru-duty-officer"])
    for body, field in (
        ({"starts_at": "2021-02-01T08:00:00", "ends_at": "2021-02-01T20:00:00Z"}, "starts_at"),
        ({"starts_at": "2021-02-01T08:00:00Z", "ends_at": "tomorrow"}, "ends_at"),
    ):
        bad = problem(client.post(f"{API}/shifts", json=body, headers=ru), 422)
        assert [e["field"] for e in bad["errors"]] == [field], bad
        assert bad["errors"][0]["in"] == "body"
    backwards = {"starts_at": "2021-02-01T20:00:00Z", "ends_at": "2021-02-01T08:00:00Z"}
    problem(client.post(f"{API}/shifts", json=backwards, headers=ru), 422)
    problem(
        client.post(f"{API}/shifts", json={"starts_at": "2021-02-01T20:00:00Z"}, headers=ru), 422
    )
    problem(client.get(f"{API}/shifts", params={"until": "yesterday"}, headers=ru), 422)
    problem(
        client.post(
            f"{API}/shifts/SHIFT-0000000000/assign", json={"officer": "ru-head"}, headers=ru
        ),
        404,
    )
    problem(client.post(f"{API}/shifts", json={}, headers=bearer(tokens["pk-liaison"])), 403)

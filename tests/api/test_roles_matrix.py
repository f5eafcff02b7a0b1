"""The role-by-endpoint matrix, on SQLite and PostgreSQL: every operation of the OpenAPI
document has a declared rule, and every role of every affiliation (and nobody) gets the
declared answer from it; swapping the contingents swaps nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_support import add_staff, bearer, one_loop, staff_of
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ceasefire.api import create_app
from ceasefire.api.access import ENDPOINTS, allows, rule_for
from ceasefire.mission import Mission
from ceasefire.workflow import roles, shifts
from ceasefire.workflow.roles import User

PLACEHOLDERS = {
    "incident_id": "INC-000000000000",
    "decision_id": "DEC-000000000000",
    "contingent": "RU",
    "observation_id": "RU-NONE",
    "index": "0",
    "release_id": "1",
    "collection_id": "incidents",
    "fid": "INC-000000000000",
    "report_id": "1",
    "notice_id": "NTC-0000000000000000",
}
ANONYMOUS = ""
BAD_TOKEN = "cf_0000000000000000_wrong"
API = "/api/v1"


def side_of(name: str) -> str:
    """The caller's contingent in lower case (``ru-head`` -> ``ru``); RU for the others."""
    prefix = name.split("-")[0]
    return prefix if prefix in ("ru", "tr") else "ru"


def request_for(method: str, path: str, name: str, shift_id: str) -> tuple[str, dict[str, Any]]:
    """The URL and body of a request that succeeds for a caller the rule lets in. Writes act on
    the caller's own contingent (RU's head disables an RU user, TR's head a TR one), so that
    parity compares like with like; a refused caller sends the same request."""
    side = side_of(name)
    values = {
        **PLACEHOLDERS,
        # the walk disables before it issues tokens: they go to a user who stays enabled
        "name": f"{side}-spare" if path.endswith("/disable") else f"{side}-analyst",
        "shift_id": shift_id,
    }
    url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", f"{API}/users"): {
            "name": f"{name or 'nobody'}-made",
            "role": "analyst",
            "affiliation": side.upper(),
        },
        ("POST", f"{API}/users/{{name}}/tokens"): {"label": "matrix"},
        ("POST", f"{API}/shifts"): {
            "starts_at": "2021-02-01T08:00:00Z",
            "ends_at": "2021-02-01T20:00:00Z",
        },
        ("POST", f"{API}/shifts/{{shift_id}}/assign"): {"officer": name or "nobody"},
    }
    return url, bodies.get((method, path), {})


def operations(client: TestClient) -> list[tuple[str, str]]:
    document = client.get("/api/v1/openapi.json").json()
    return sorted(
        (method.upper(), path) for path, methods in document["paths"].items() for method in methods
    )


def call(
    client: TestClient, method: str, path: str, token: str, name: str = "", shift_id: str = ""
) -> int:
    url, json = request_for(method, path, name, shift_id)
    headers = bearer(token) if token else {}
    body: dict[str, Any] = {"json": json} if method in ("POST", "PUT", "PATCH") else {}
    return client.request(method, url, headers=headers, **body).status_code


@pytest.fixture
def walked(
    engine: Engine, demo_mission: Mission, demo_enricher: Any
) -> tuple[dict[tuple[str, str, str], int], list[tuple[str, str]]]:
    """The status of every (method, path, user) on a center with no observations, a shift
    and a spare analyst of each contingent (to be disabled)."""
    tokens = add_staff(engine, demo_mission)
    with engine.begin() as db:
        for side in ("ru", "tr"):
            roles.add_user(db, demo_mission, f"{side}-spare", "analyst", side.upper())
        planner = roles.get_user(db, "ru-duty-officer")
        start = datetime(2021, 2, 1, 20, tzinfo=UTC)
        shift = shifts.add_shift(db, demo_mission, planner, start, start + timedelta(hours=12))
    answers = {}
    with one_loop(TestClient(create_app(engine, demo_mission, enricher=demo_enricher))) as client:
        ops = operations(client)
        for method, path in ops:
            for name, token in [*tokens.items(), (ANONYMOUS, ""), ("bad", BAD_TOKEN)]:
                answers[(method, path, name)] = call(client, method, path, token, name, shift.id)
    return answers, ops


def test_every_operation_has_a_rule_and_every_rule_an_operation(
    engine: Engine, demo_mission: Mission, demo_enricher: Any
) -> None:
    ops = operations(TestClient(create_app(engine, demo_mission, enricher=demo_enricher)))
    undeclared = [f"{m} {p}" for m, p in ops if rule_for(m, p) is None]
    assert undeclared == []
    documented = {(m, p.removeprefix("/api/v1")) for m, p in ops}
    # /docs is not in the document (include_in_schema=False) but has a rule of its own
    assert set(ENDPOINTS) - documented == {("GET", "/docs")}


def every_role_gets_the_declared_answer(
    answers: dict[tuple[str, str, str], int], ops: list[tuple[str, str]], demo_mission: Mission
) -> int:
    staff = staff_of(demo_mission)
    cells = 0
    for method, path in ops:
        rule = rule_for(method, path)
        assert rule is not None
        for name, role, affiliation in staff:
            got = answers[(method, path, name)]
            user = User(name, role, affiliation)  # type: ignore[arg-type]
            if rule.public or allows(rule, user, demo_mission):
                assert got not in (401, 403), (method, path, name, got)
            else:
                assert got == 403, (method, path, name, got)
            cells += 1
        for nobody in (ANONYMOUS, "bad"):
            got = answers[(method, path, nobody)]
            assert (got not in (401, 403)) if rule.public else got == 401, (method, path, nobody)
            cells += 1
    assert cells == len(ops) * (len(staff) + 2) and len(ops) >= 24
    return cells


def parity(answers: dict[tuple[str, str, str], int], ops: list[tuple[str, str]]) -> None:
    """Swapping the contingents (and the parties) changes no answer."""
    for method, path in ops:
        for role in ("analyst", "duty-officer", "head"):
            ru, tr = answers[(method, path, f"ru-{role}")], answers[(method, path, f"tr-{role}")]
            assert ru == tr, (method, path, role)
        assert answers[(method, path, "am-liaison")] == answers[(method, path, "az-liaison")]


def design_spot_checks(answers: dict[tuple[str, str, str], int]) -> None:
    """Spot checks written out by hand, independent of the table."""
    api = "/api/v1"
    public = {
        ("GET", f"{api}/health"),
        ("GET", f"{api}/schemas/observation"),
        ("POST", f"{api}/session"),
        ("GET", f"{api}/ledger/checkpoint"),
        ("GET", f"{api}/ledger/proof/inclusion"),
        ("GET", f"{api}/ledger/proof/consistency"),
        # a node's batch: no token; its signature is checked against the node's registered key
        ("POST", f"{api}/nodes/{{contingent}}/batches"),
        ("GET", f"{api}/ogc"),
        ("GET", f"{api}/ogc/conformance"),
    }
    # OGC API - Features: every signed-in reader, each seeing only what it may (a party: what
    # was released to it; tests/reports/test_reports_ogc.py)
    ogc = {
        ("GET", f"{api}/ogc/collections"),
        ("GET", f"{api}/ogc/collections/{{collection_id}}"),
        ("GET", f"{api}/ogc/collections/{{collection_id}}/queryables"),
        ("GET", f"{api}/ogc/collections/{{collection_id}}/items"),
        ("GET", f"{api}/ogc/collections/{{collection_id}}/items/{{fid}}"),
    }
    for (method, path, name), got in answers.items():
        if name in ("am-liaison", "az-liaison"):  # a party sees only what was released to it
            expected_open = (method, path) in public | ogc or (method, path) in {
                ("DELETE", f"{api}/session"),
                ("GET", f"{api}/releases"),
                ("GET", f"{api}/releases/{{release_id}}"),
                # what a party sends back over its line: the link or key is the credential of
                # an acknowledgement; a party's liaison answers and complains
                ("GET", f"{api}/notices/{{notice_id}}/ack"),
                ("POST", f"{api}/notices/{{notice_id}}/ack"),
                ("POST", f"{api}/notices/{{notice_id}}/answer"),
                ("POST", f"{api}/complaints"),
                # a daily report's notice is its recipient's credential for the report (the
                # route checks the token: tests/inbox/test_inbox_reports.py)
                ("GET", f"{api}/notices/{{notice_id}}/report"),
                ("GET", f"{api}/notices/{{notice_id}}/report/signature"),
                ("GET", f"{api}/notices/{{notice_id}}/report/proof"),
            }
            assert (got not in (401, 403)) == expected_open, (method, path, name, got)
    observations = ("GET", f"{api}/observations")
    for name in ("ru-analyst", "tr-analyst", "ru-head", "auditor", "pk-liaison"):
        assert answers[(*observations, name)] == 200, name
    ingest = ("POST", f"{api}/observations")
    for name in ("auditor", "pk-liaison", "ru-head", "tr-head"):
        assert answers[(*ingest, name)] == 403, name
    assess = ("POST", f"{api}/incidents/{{incident_id}}/assessments")
    for name in ("ru-analyst", "auditor", "pk-liaison"):
        assert answers[(*assess, name)] == 403, name
    assert answers[("GET", f"{api}/incidents", "pk-liaison")] == 403
    assert answers[("GET", f"{api}/shifts/handover", "auditor")] == 200
    assert answers[("GET", f"{api}/ledger/entries/{{index}}", ANONYMOUS)] == 401
    for name in ("am-liaison", "az-liaison", "pk-liaison", "ru-analyst", "auditor"):
        assert answers[("GET", f"{api}/releases", name)] == 200, name
    # users: every contingent (and the auditor) reads the list; only heads manage, and the
    # request of each head (for its own contingent) succeeds
    for name in ("ru-analyst", "tr-duty-officer", "ru-head", "auditor"):
        assert answers[("GET", f"{api}/users", name)] == 200, name
    for name in ("pk-liaison", "am-liaison"):
        assert answers[("GET", f"{api}/users", name)] == 403, name
    for path, ok in (
        ("/users", 201),
        ("/users/{name}/disable", 200),
        ("/users/{name}/tokens", 201),
    ):
        for name in ("ru-head", "tr-head"):
            assert answers[("POST", f"{api}{path}", name)] == ok, (path, name)
        for name in ("ru-duty-officer", "tr-analyst", "auditor", "pk-liaison", "az-liaison"):
            assert answers[("POST", f"{api}{path}", name)] == 403, (path, name)
    # the roster: read like the handover; duty officers and heads plan and assign
    for name in ("tr-analyst", "auditor"):
        assert answers[("GET", f"{api}/shifts", name)] == 200, name
    assert answers[("GET", f"{api}/shifts", "pk-liaison")] == 403
    for name in ("ru-duty-officer", "tr-duty-officer", "ru-head", "tr-head"):
        assert answers[("POST", f"{api}/shifts", name)] == 201, name
        assert answers[("POST", f"{api}/shifts/{{shift_id}}/assign", name)] == 200, name
    for name in ("ru-analyst", "auditor", "pk-liaison"):
        assert answers[("POST", f"{api}/shifts", name)] == 403, name


def test_the_role_by_endpoint_matrix(
    walked: tuple[dict[tuple[str, str, str], int], list[tuple[str, str]]],
    demo_mission: Mission,
) -> None:
    answers, ops = walked
    assert every_role_gets_the_declared_answer(answers, ops, demo_mission) == len(answers)
    parity(answers, ops)
    design_spot_checks(answers)


def test_an_undeclared_route_stops_the_app(
    engine: Engine, demo_mission: Mission, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ceasefire.api import access

    monkeypatch.delitem(access.ENDPOINTS, ("GET", "/shifts/handover"))
    with pytest.raises(RuntimeError, match="shifts/handover"):
        create_app(engine, demo_mission)

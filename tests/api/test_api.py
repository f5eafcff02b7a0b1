"""The HTTP API on SQLite and PostgreSQL: batched intake, queries, paging, problem details."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from api_support import add_staff, bearer, duty_officer, post_by_contingent
from fastapi.testclient import TestClient
from sqlalchemy import Engine

import records
from ceasefire.api import create_app
from ceasefire.ingest.pipeline import Intake
from ceasefire.mission import Mission
from ceasefire.observations import Observation
from ceasefire.observations.schema import SCHEMA_PATH
from ceasefire.store.db import head_revision

API = "/api/v1"
PROBLEM = "application/problem+json"


def record(i: int, contingent: str = "RU", **changes: Any) -> dict[str, Any]:
    return records.varied(i, contingent, "A", **changes)


@pytest.fixture
def tokens(engine: Engine, demo_mission: Mission) -> dict[str, str]:
    return add_staff(engine, demo_mission, (duty_officer("RU"), duty_officer("TR")))


@pytest.fixture
def client(
    engine: Engine, demo_mission: Mission, demo_enricher: Any, tokens: dict[str, str]
) -> Iterator[TestClient]:
    """Signed in as RU's duty officer."""
    app = create_app(engine, demo_mission, enricher=demo_enricher)
    with TestClient(app, headers=bearer(tokens[duty_officer("RU")])) as test_client:
        test_client.tokens = tokens  # type: ignore[attr-defined]
        yield test_client


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    return body


# -- intake ------------------------------------------------------------------------------------


def test_a_mixed_batch_gets_one_outcome_per_record_in_order(client: TestClient) -> None:
    first = client.post(f"{API}/observations", json=[record(1), record(2)])
    assert first.status_code == 200 and first.json()["accepted"] == 2
    batch = [
        record(3),  # new
        record(1),  # already received: duplicate
        record(2, remarks="edited afterwards"),  # a different record under a taken id
        record(4, location={"lat": 95, "lon": 46.8, "ce_m": 10}),  # bad field
        "not an object",
        record(5, contingent="XX"),  # not a contingent of the mission
        record(6, observed_at="2019-06-01T00:00:00Z"),  # before the mission
        record(3),  # the same record twice in one batch
    ]
    response = client.post(f"{API}/observations", json={"observations": batch})
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (1, 2, 5)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(batch)))
    assert [r["status"] for r in results] == [
        "accepted",
        "duplicate",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "duplicate",
    ]
    assert [r.get("field") for r in results if r["status"] == "rejected"] == [
        "id",
        "location.lat",
        "",
        "contingent",
        "observed_at",
    ]
    assert all(r["reason"] for r in results if r["status"] == "rejected")
    assert results[0]["id"] == "RU-A00003" and results[0]["contingent"] == "RU"
    assert results[3]["id"] == "RU-A00004"  # named even though the record was refused
    assert "field" not in results[0]


def test_rejection_reasons_follow_accept_language(client: TestClient) -> None:
    bad = record(1, location={"lat": 95, "lon": 46.8, "ce_m": 10})
    english = client.post(f"{API}/observations", json=[bad]).json()["results"][0]["reason"]
    russian = client.post(
        f"{API}/observations", json=[bad], headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}
    )
    assert russian.headers["content-language"] == "ru"
    assert russian.json()["results"][0]["reason"] != english


def test_malformed_bodies_are_problem_details(
    engine: Engine, demo_mission: Mission, demo_enricher: Any, tokens: dict[str, str]
) -> None:
    app = create_app(engine, demo_mission, enricher=demo_enricher, max_batch=3, max_body_bytes=4096)
    client = TestClient(app, headers=bearer(tokens[duty_officer("RU")]))
    url = f"{API}/observations"
    headers = {"Content-Type": "application/json"}

    body = assert_problem(client.post(url, content=b"{not json", headers=headers), 400)
    assert body["type"].endswith("invalid-json") and body["instance"] == url
    assert_problem(client.post(url, content=b"[NaN]", headers=headers), 400)
    assert_problem(client.post(url, content=b'{"a": 1, "a": 2}', headers=headers), 400)
    assert_problem(client.post(url, content=b"\xff\xfe[", headers=headers), 400)
    assert_problem(client.post(url, content=b"", headers=headers), 400)

    for data, field in [
        (42, ""),
        ({"records": []}, "records"),
        ({}, "observations"),
        ({"observations": {"id": 1}}, "observations"),
    ]:
        body = assert_problem(client.post(url, json=data), 422)
        assert body["type"].endswith("invalid-body")
        assert [e["field"] for e in body["errors"]] == [field]
        assert all(e["reason"] and e["in"] == "body" for e in body["errors"])

    assert_problem(client.post(url, json=[record(i) for i in range(4)]), 413)
    body = assert_problem(client.post(url, content=b"[" + b" " * 5000 + b"]", headers=headers), 413)
    assert body["type"].endswith("too-large")
    chunked = iter([b"[", b" " * 3000, b" " * 3000, b"]"])  # no Content-Length to go by
    assert_problem(client.post(url, content=chunked, headers=headers), 413)
    assert_problem(client.post(url, content=b"[]", headers={"Content-Type": "text/csv"}), 415)
    empty = client.post(url, json=[])
    assert empty.status_code == 200 and empty.json()["results"] == []


# -- reading -----------------------------------------------------------------------------------


def _load(client: TestClient, records: list[dict[str, Any]]) -> None:
    tokens = client.tokens  # type: ignore[attr-defined]
    assert post_by_contingent(client, records, tokens) == len(records)


def _page_through(client: TestClient, query: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    response = client.get(f"{API}/observations", params=query)
    for _page in range(100):
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [f"{o['contingent']}/{o['id']}" for o in body["observations"]]
        if body["next"] is None:
            return ids
        assert len(body["observations"]) == query["limit"]
        response = client.get(body["next"])
    raise AssertionError("paging did not end")


def test_filters_and_cursor_paging_return_each_record_once(client: TestClient) -> None:
    records = [record(i) for i in range(25)] + [record(i, "TR") for i in range(20)]
    _load(client, records)
    everything = _page_through(client, {"limit": 7})
    assert len(everything) == len(set(everything)) == 45

    def expected(keep: Any) -> set[str]:
        return {f"{r['contingent']}/{r['id']}" for r in records if keep(r)}

    cases: list[tuple[dict[str, Any], Any]] = [
        ({"category": "explosion"}, lambda r: r["category"] == "explosion"),
        (
            {"category": "explosion,uav_flight", "contingent": "TR"},
            lambda r: r["category"] != "small_arms_fire" and r["contingent"] == "TR",
        ),
        (
            {"since": "2021-02-05T10:32:00Z", "until": "2021-02-10T00:00:00+02:00"},
            lambda r: "2021-02-05T10:32:00Z" <= r["observed_at"] < "2021-02-09T22:00:00Z",
        ),
        (
            {"bbox": "46.62,39.85,46.78,39.95"},
            lambda r: (
                46.62 <= r["location"]["lon"] <= 46.78 and 39.85 <= r["location"]["lat"] <= 39.95
            ),
        ),
    ]
    for query, keep in cases:
        found = _page_through(client, {**query, "limit": 4})
        assert len(found) == len(set(found))
        assert set(found) == expected(keep), query
        assert found, query  # each case selects something


def test_records_received_while_paging_come_on_later_pages(client: TestClient) -> None:
    _load(client, [record(i) for i in range(10)])
    first = client.get(f"{API}/observations", params={"limit": 4}).json()
    _load(client, [record(i, "TR") for i in range(5)])
    seen = [o["id"] for o in first["observations"]]
    url = first["next"]
    while url:
        page = client.get(url).json()
        seen += [o["id"] for o in page["observations"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 15


def test_one_record_with_its_enrichment_in_the_callers_language(
    client: TestClient, demo_mission: Mission
) -> None:
    submitted = record(1, id="RU-A/with/slashes", remarks="Three impacts")
    _load(client, [submitted])
    url = f"{API}/observations/RU/RU-A/with/slashes"
    english = client.get(url).json()
    canonical = Observation.model_validate(submitted).to_json_dict()
    assert {k: english[k] for k in canonical} == canonical
    enrichment = english["enrichment"]
    assert set(enrichment) == {
        "zones",
        "controlled_by",
        "distance_to_line_m",
        "line_side",
        "nearest_settlement",
        "phrase",
    }
    nearest = enrichment["nearest_settlement"]
    assert {"id", "distance_m", "bearing_deg"} <= set(nearest)
    assert english["received_at"].endswith("Z")
    settlement = next(s for s in demo_mission.settlements if s.id == nearest["id"])
    assert demo_mission.settlement_name(settlement, "en") in enrichment["phrase"]

    russian = client.get(url, headers={"Accept-Language": "ru"}).json()["enrichment"]
    assert demo_mission.settlement_name(settlement, "ru") in russian["phrase"]
    assert russian["phrase"] != enrichment["phrase"]
    unsupported = client.get(url, headers={"Accept-Language": "de, fr;q=0.5"})
    assert unsupported.json()["enrichment"]["phrase"] == enrichment["phrase"]

    listed = client.get(f"{API}/observations").json()["observations"]
    assert listed == [english]


def test_not_found_and_bad_parameters_are_problem_details(client: TestClient) -> None:
    body = assert_problem(client.get(f"{API}/observations/RU/RU-NOPE"), 404)
    assert "RU-NOPE" in body["detail"]
    assert_problem(client.get(f"{API}/nothing-here"), 404)
    assert_problem(client.get("/nothing-here"), 404)  # beside the API: the pages, same answer
    deleted = assert_problem(client.delete(f"{API}/health"), 405)
    assert deleted["type"] == "about:blank"

    for query, field in [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "46,40,47,39"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2021-02-01T10:00:00"}, "until"),  # no offset
        ({"since": "2021-02-02T00:00:00Z", "until": "2021-02-01T00:00:00Z"}, "until"),
        ({"category": "dragons"}, "category"),
        ({"contingent": "XX"}, "contingent"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "many"}, "limit"),
    ]:
        body = assert_problem(client.get(f"{API}/observations", params=query), 422)
        assert [e["field"] for e in body["errors"]] == [field], query
        assert body["errors"][0]["in"] == "query" and body["errors"][0]["reason"]
    several = assert_problem(
        client.get(f"{API}/observations", params={"bbox": "x", "since": "y"}), 422
    )
    assert [e["field"] for e in several["errors"]] == ["bbox", "since"]


def test_health_schema_and_openapi(client: TestClient, engine: Engine) -> None:
    _load(client, [record(1), record(2, "TR")])
    health = client.get(f"{API}/health").json()
    assert health["status"] == "ok" and health["mission"] == "karabakh-2020"
    assert health["database"] == engine.dialect.name
    assert health["schema_revision"] == head_revision(engine)
    assert health["counts"]["observations"] == 2
    assert health["counts"]["by_contingent"] == {"RU": 1, "TR": 1}

    schema = client.get(f"{API}/schemas/observation")
    assert schema.headers["content-type"] == "application/schema+json"
    assert schema.json() == json.loads(SCHEMA_PATH.read_text())

    document = client.get(f"{API}/openapi.json").json()
    operations = {
        (method.upper(), path) for path, methods in document["paths"].items() for method in methods
    }
    assert {
        ("GET", f"{API}/health"),
        ("POST", f"{API}/observations"),
        ("GET", f"{API}/observations"),
        ("GET", f"{API}/observations/{{contingent}}/{{observation_id}}"),
        ("GET", f"{API}/schemas/observation"),
        ("GET", f"{API}/incidents"),
        ("GET", f"{API}/incidents/{{incident_id}}"),
        ("GET", f"{API}/coverage"),
        ("GET", f"{API}/ledger/checkpoint"),
        ("GET", f"{API}/ledger/entries/{{index}}"),
        ("GET", f"{API}/ledger/proof/inclusion"),
        ("GET", f"{API}/ledger/proof/consistency"),
    } <= operations  # and the workflow's (test_roles_matrix.py walks them all)
    schemas = document["components"]["schemas"]
    assert {"Observation", "ProblemDetails", "ObservationPage", "BatchResult"} <= set(schemas)
    assert {
        "IncidentPage",
        "IncidentDetail",
        "Coverage",
        "LedgerCheckpoint",
        "LedgerEntry",
        "InclusionProof",
        "ConsistencyProof",
    } <= set(schemas)
    listing = document["paths"][f"{API}/incidents"]["get"]
    assert {"application/json", "application/geo+json"} <= set(
        listing["responses"]["200"]["content"]
    )
    assert {p["name"] for p in listing["parameters"]} == {
        "since",
        "until",
        "status",
        "category",
        "format",
        "limit",
        "cursor",
    }
    checkpoint = document["paths"][f"{API}/ledger/checkpoint"]["get"]["responses"]
    assert {"text/plain", "application/json"} <= set(checkpoint["200"]["content"])
    assert PROBLEM in checkpoint["404"]["content"]
    for path in ("/ledger/proof/inclusion", "/ledger/proof/consistency", "/coverage"):
        assert PROBLEM in document["paths"][API + path]["get"]["responses"]["422"]["content"]
    assert "HTTPValidationError" not in json.dumps(document)
    assert "#/$defs/" not in json.dumps(document)
    post = document["paths"][f"{API}/observations"]["post"]
    assert {"200", "400", "413", "415", "422"} <= set(post["responses"])
    assert PROBLEM in post["responses"]["400"]["content"]

    docs = client.get(f"{API}/docs")
    assert docs.status_code == 200 and "/api/v1/observations" in docs.text
    assert "/api/v1/ledger/proof/inclusion" in docs.text
    assert "<script" not in docs.text and "cdn" not in docs.text.lower()
    assert client.get("/docs").status_code == 404  # no Swagger UI from a CDN


def test_a_batch_is_made_ready_outside_the_write_lock(
    engine: Engine,
    demo_mission: Mission,
    demo_enricher: Any,
    tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the store's part of a batch holds the center's write lock: checking the records
    and making their rows (canonical text, digests) are done before it is taken, so another
    batch can be stored (and its commit's fsync waited for) meanwhile."""
    lock = threading.Lock()
    app = create_app(engine, demo_mission, enricher=demo_enricher, write_lock=lock)
    held: dict[str, set[bool]] = {}
    for name in ("add", "prepare", "flush"):
        real = getattr(Intake, name)

        def spy(self: Intake, *args: Any, _real: Any = real, _name: str = name) -> Any:
            held.setdefault(_name, set()).add(lock.locked())
            return _real(self, *args)

        monkeypatch.setattr(Intake, name, spy)
    with TestClient(app, headers=bearer(tokens[duty_officer("RU")])) as client:
        response = client.post(f"{API}/observations", json=[record(1), record(2)])
    assert response.json()["accepted"] == 2
    assert held == {"add": {False}, "prepare": {False}, "flush": {True}}

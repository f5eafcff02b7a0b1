"""The ledger over HTTP, on SQLite and PostgreSQL: what a client fetches (checkpoint, entries,
proofs) verifies with the ledger library alone; bad parameters are problem details."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from api_support import add_staff, bearer, duty_officer
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ceasefire.api import create_app
from ceasefire.ledger import (
    Checkpoint,
    ProofError,
    leaf_hash,
    parse_note,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from ceasefire.ledger.cosign import make_checkpoint, verify_checkpoint
from ceasefire.ledger.entry import KIND_KEY, KIND_OBSERVATION, entry_leaf_hash, parse_envelope
from ceasefire.ledger.keys import KeyRing, init_keys, load_keys, origin_of
from ceasefire.mission import Mission

API = "/api/v1/ledger"
STAFF = 2
"""The log's first entries: the test's user and its token."""
PROBLEM = "application/problem+json"


def record(i: int) -> dict[str, Any]:
    return {
        "id": f"RU-L{i:04d}",
        "contingent": "RU",
        "platform": {"id": "orlan-10-07", "type": "orlan-10"},
        "observed_at": f"2021-02-01T{i % 24:02d}:15:00Z",
        "location": {"lat": 39.85 + i * 1e-3, "lon": 46.75, "ce_m": 50},
        "category": "uav_flight",
        "sensed_by": "drone-eo",
        "remarks": "Полёт «БПЛА» \\ ✈",  # the exact text is what is hashed
    }


def keyring(directory: Path, mission: Mission) -> KeyRing:
    origin = origin_of(mission.id)
    init_keys(directory, origin, mission.contingent_ids())
    return load_keys(directory, origin, mission.contingent_ids())


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def assert_problem(response: Any, status: int, *fields: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"] and body["title"] and body["detail"]
    if fields:
        assert [e["field"] for e in body["errors"]] == list(fields), body
        assert all(e["reason"] for e in body["errors"])
    return body


@pytest.fixture
def client(engine: Engine, demo_mission: Mission, demo_enricher: Any) -> TestClient:
    """Signed in as RU's duty officer (a user and a token: the log's first STAFF entries)."""
    token = add_staff(engine, demo_mission, (duty_officer("RU"),))[duty_officer("RU")]
    return TestClient(
        create_app(engine, demo_mission, enricher=demo_enricher), headers=bearer(token)
    )


def load(client: TestClient, records: list[dict[str, Any]]) -> None:
    response = client.post("/api/v1/observations", json=records)
    assert response.json()["accepted"] == len(records), response.text


def fetch_checkpoint(client: TestClient) -> tuple[int, bytes, str]:
    """The latest checkpoint as a client gets it: size and root from the signed note's text."""
    text = client.get(f"{API}/checkpoint")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    body, _signatures = parse_note(text.text)
    checkpoint = Checkpoint.parse(body)
    as_json = client.get(f"{API}/checkpoint", headers={"Accept": "application/json"}).json()
    assert as_json["note"] == text.text
    assert (as_json["size"], b64(as_json["root"])) == (checkpoint.size, checkpoint.root_hash)
    assert as_json["origin"] == checkpoint.origin
    return checkpoint.size, checkpoint.root_hash, text.text


def prefix_root(client: TestClient, size: int) -> bytes:
    """The root of the log's first ``size`` entries, from their texts alone."""
    leaves = [
        entry_leaf_hash(client.get(f"{API}/entries/{i}").json()["entry"]) for i in range(size)
    ]
    return root_hash(leaves)


def test_proofs_fetched_over_http_verify_against_the_checkpoint(
    client: TestClient, engine: Engine, demo_mission: Mission, tmp_path: Path
) -> None:
    ring = keyring(tmp_path / "keys", demo_mission)
    load(client, [record(i) for i in range(6)])
    first = make_checkpoint(engine, ring)
    size, root, note = fetch_checkpoint(client)
    assert (size, root, note) == (first.size, first.root_hash, first.note)
    verified = verify_checkpoint(note, ring)  # the center's signature and every cosignature
    assert sorted(verified.cosigned_at) == sorted(demo_mission.contingent_ids())
    assert (
        size == STAFF + 6 + 3
    )  # the staff, six observations, then a key entry each for center, RU and TR

    kinds = set()
    for index in range(size):
        entry = client.get(f"{API}/entries/{index}").json()
        assert entry["index"] == index
        leaf = entry_leaf_hash(entry["entry"])
        assert leaf == leaf_hash(entry["entry"].encode("utf-8")) == b64(entry["leaf_hash"])
        envelope = parse_envelope(entry["entry"])
        assert (envelope.kind, envelope.ref, envelope.appended_at) == (
            entry["kind"],
            entry["ref"],
            entry["appended_at"],
        )
        kinds.add(entry["kind"])
        proof = client.get(f"{API}/proof/inclusion", params={"index": index}).json()
        assert (proof["index"], proof["size"], b64(proof["leaf_hash"])) == (index, size, leaf)
        verify_inclusion(leaf, index, size, [b64(h) for h in proof["proof"]], root)
    assert kinds == {KIND_OBSERVATION, KIND_KEY, "user", "token"}
    observation = client.get(f"{API}/entries/{STAFF}").json()
    assert observation["ref"] == "RU/RU-L0000"
    assert parse_envelope(observation["entry"]).record["remarks"] == record(0)["remarks"]

    # A proof does not pass for another entry.
    other = entry_leaf_hash(client.get(f"{API}/entries/{STAFF + 1}").json()["entry"])
    proof = client.get(f"{API}/proof/inclusion", params={"index": STAFF}).json()["proof"]
    with pytest.raises(ProofError):
        verify_inclusion(other, STAFF, size, [b64(h) for h in proof], root)

    # The log grows; the new checkpoint extends the first, and old proofs still hold.
    load(client, [record(i) for i in range(6, 11)])
    second = make_checkpoint(engine, ring)
    new_size, new_root, _note = fetch_checkpoint(client)
    assert (new_size, new_root) == (second.size, second.root_hash) and new_size == size + 5
    for old in (size, 1, 0, new_size):
        answer = client.get(f"{API}/proof/consistency", params={"old": old}).json()
        assert (answer["old_size"], answer["new_size"]) == (old, new_size)
        # at a size no checkpoint was made at, the root of that prefix of the log
        old_root = {size: root, new_size: new_root}.get(old) or prefix_root(client, old)
        verify_consistency(old, new_size, old_root, new_root, [b64(h) for h in answer["proof"]])
    explicit = client.get(f"{API}/proof/consistency", params={"old": size, "new": new_size}).json()
    verify_consistency(size, new_size, root, new_root, [b64(h) for h in explicit["proof"]])
    at_first = client.get(f"{API}/proof/inclusion", params={"index": 2, "size": size}).json()
    leaf = b64(client.get(f"{API}/entries/2").json()["leaf_hash"])
    verify_inclusion(leaf, 2, size, [b64(h) for h in at_first["proof"]], root)
    with pytest.raises(ProofError):  # the consistency proof does not prove another history
        verify_consistency(size, new_size, new_root, root, [b64(h) for h in explicit["proof"]])


def test_bad_requests_are_problem_details(
    client: TestClient, engine: Engine, demo_mission: Mission, tmp_path: Path
) -> None:
    # No checkpoint yet: nothing to serve, and proofs need an explicit size.
    body = assert_problem(client.get(f"{API}/checkpoint"), 404)
    assert body["type"].endswith("not-found")
    assert_problem(client.get(f"{API}/proof/inclusion", params={"index": 0}), 422, "size")
    assert_problem(client.get(f"{API}/proof/consistency", params={"old": 0}), 422, "new")
    body = assert_problem(client.get(f"{API}/entries/{STAFF}"), 404)
    assert body["type"].endswith("not-found")

    load(client, [record(i) for i in range(4)])
    make_checkpoint(engine, keyring(tmp_path / "keys", demo_mission))
    size = client.get(f"{API}/checkpoint", headers={"Accept": "application/json"}).json()["size"]
    assert size == STAFF + 7
    inclusion, consistency = f"{API}/proof/inclusion", f"{API}/proof/consistency"
    for url, params, field in [
        (inclusion, {"index": size}, "index"),  # index >= size
        (inclusion, {"index": 3, "size": 3}, "index"),
        (inclusion, {"index": 0, "size": size + 1}, "size"),  # beyond the log
        (inclusion, {"index": 0, "size": 0}, "size"),
        (inclusion, {"index": -1}, "index"),
        (inclusion, {"index": "first"}, "index"),
        (inclusion, {"index": 2**63}, "index"),
        (inclusion, {}, "index"),
        (consistency, {"old": size + 1}, "old"),  # old > new
        (consistency, {"old": 5, "new": 4}, "old"),
        (consistency, {"old": 1, "new": size + 1}, "new"),  # beyond the log
        (consistency, {"old": -1}, "old"),
        (consistency, {}, "old"),
        (f"{API}/entries", {"start": 0, "end": size + 1}, "end"),  # beyond the log
        (f"{API}/entries", {"start": size + 1, "end": size + 2}, "end"),
        (f"{API}/entries", {"start": 2**40, "end": 2**40 + 1}, "end"),
        (f"{API}/entries", {"start": 2, "end": 1}, "end"),
    ]:
        body = assert_problem(client.get(url, params=params), 422, field)
        assert body["type"].endswith("invalid-parameter"), params
    body = assert_problem(client.get(f"{API}/entries/{size}"), 404)
    assert str(size) in body["detail"]
    # An entry that exists but no cosigned checkpoint covers yet is told so, not "at most".
    load(client, [record(9)])
    body = assert_problem(client.get(inclusion, params={"index": size}), 422, "index")
    assert "not in a cosigned checkpoint yet" in str(body)
    assert_problem(client.get(f"{API}/entries/-1"), 422, "index")
    assert_problem(client.get(f"{API}/entries/abc"), 422, "index")
    assert_problem(client.post(f"{API}/checkpoint"), 405)  # read-only

    # Accept decides the checkpoint's form; anything else gets the signed note.
    for accept, form in [
        ("application/json", "application/json"),
        ("text/plain, application/json;q=0.5", "text/plain"),
        ("*/*", "text/plain"),
        ("application/*", "application/json"),
        ("image/png", "text/plain"),
    ]:
        got = client.get(f"{API}/checkpoint", headers={"Accept": accept})
        assert got.headers["content-type"].startswith(form), accept

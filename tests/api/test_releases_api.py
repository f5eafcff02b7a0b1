"""Release bundles over HTTP: every liaison fetches what went to its own party or force, and
nothing else; contingent users read them all; both parties' bundles hold the same records."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from api_support import add_staff, bearer
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ceasefire.api import create_app
from ceasefire.ledger.bundle import verify_bundle
from ceasefire.ledger.cosign import make_checkpoint
from ceasefire.ledger.keys import init_keys, load_keys, origin_of
from ceasefire.ledger.release import Selection, write_release
from ceasefire.mission import Mission
from ceasefire.observations import Observation
from ceasefire.workflow.releases import incident_selections
from ceasefire.workflow.roles import add_user, issue_token
from centers import intake_of

API = "/api/v1"


def test_each_liaison_reads_only_its_own_releases(
    engine: Engine,
    demo_mission: Mission,
    demo_enricher,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    intake_of(engine, demo_mission, demo_enricher).feed(
        [
            Observation.model_validate(
                {
                    "id": "RU-R001",
                    "contingent": "RU",
                    "platform": {"id": "orlan-10-07", "type": "orlan-10"},
                    "observed_at": "2021-02-01T10:00:00Z",
                    "location": {"lat": 39.93, "lon": 46.83, "ce_m": 50},
                    "category": "explosion",
                    "sensed_by": "drone-eo",
                }
            )
        ],
        "t",
    )
    keys = tmp_path / "keys"
    init_keys(keys, origin_of(demo_mission.id), demo_mission.contingent_ids())
    ring = load_keys(keys, origin_of(demo_mission.id), demo_mission.contingent_ids())
    make_checkpoint(engine, ring)
    for party in ("AM", "AZ"):
        write_release(
            engine,
            ring,
            tmp_path / f"{party}.json",
            party,
            [Selection("observation", ("RU/RU-R001",))],
        )
    tokens = {}
    with engine.begin() as db:
        for name, role, affiliation in (
            ("am-liaison", "party_liaison", "AM"),
            ("az-liaison", "party_liaison", "AZ"),
            ("pk-liaison", "liaison", "PK"),
            ("tr-analyst", "analyst", "TR"),
        ):
            add_user(db, demo_mission, name, role, affiliation)
            tokens[name] = issue_token(db, name)
    client = TestClient(create_app(engine, demo_mission, enricher=demo_enricher))

    def listed(name: str) -> list[dict[str, object]]:
        response = client.get(f"{API}/releases", headers=bearer(tokens[name]))
        assert response.status_code == 200, response.text
        return list(response.json()["releases"])

    am, az = listed("am-liaison"), listed("az-liaison")
    assert [r["released_to"] for r in am] == ["AM"] and [r["released_to"] for r in az] == ["AZ"]
    assert listed("pk-liaison") == []
    assert sorted(r["released_to"] for r in listed("tr-analyst")) == ["AM", "AZ"]
    # AZ's liaison cannot fetch AM's bundle (it does not exist for them).
    assert client.get(str(am[0]["href"]), headers=bearer(tokens["az-liaison"])).status_code == 404
    bundles = {}
    for name, rows in (("am-liaison", am), ("az-liaison", az)):
        fetched = client.get(str(rows[0]["href"]), headers=bearer(tokens[name]))
        assert fetched.status_code == 200
        bundles[name] = fetched.json()
        verify_bundle(json.dumps(bundles[name]))
    # Neutrality: both parties got the same records.
    assert [e["record"] for e in bundles["am-liaison"]["entries"]] == [
        e["record"] for e in bundles["az-liaison"]["entries"]
    ]
    assert client.get(f"{API}/releases").status_code == 401


def included(item: dict[str, Any], size: int, root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2 with hashlib alone: the entry is in the tree of that root."""
    fn, sn = item["index"], size - 1
    r = hashlib.sha256(b"\x00" + item["record"].encode()).digest()
    for p in (base64.b64decode(h) for h in item["inclusion_proof"]):
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def test_a_party_learns_nothing_of_other_releases_nor_of_names(
    engine: Engine,
    demo_mission: Mission,
    demo_enricher,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """AM gets two releases, then AZ: AZ's ids, proofs and records say nothing of AM's, and the
    finding released names roles and contingents, not the officers."""
    m = demo_mission
    tokens = add_staff(engine, m)
    client = TestClient(create_app(engine, m, enricher=demo_enricher))
    sent = client.post(
        f"{API}/observations",
        json=[
            {
                "id": "RU-P001",
                "contingent": "RU",
                "platform": {"id": "orlan-10-07", "type": "orlan-10"},
                "observed_at": "2021-02-01T10:00:00Z",
                "location": {"lat": 39.93, "lon": 46.83, "ce_m": 50},
                "category": "explosion",
                "sensed_by": "drone-eo",
            }
        ],
        headers=bearer(tokens["ru-duty-officer"]),
    )
    assert sent.json()["accepted"] == 1, sent.text
    [incident] = client.get(f"{API}/incidents", headers=bearer(tokens["ru-analyst"])).json()[
        "incidents"
    ]
    for officer in ("ru-duty-officer", "tr-head"):
        made = client.post(
            f"{API}/incidents/{incident['id']}/assessments",
            json={"violation": "yes", "clauses": ["1"], "attribution": "AZ"},
            headers=bearer(tokens[officer]),
        )
        assert made.status_code == 201, made.text
    keys = tmp_path / "keys"
    init_keys(keys, origin_of(m.id), m.contingent_ids())
    ring = load_keys(keys, origin_of(m.id), m.contingent_ids())
    bundles = {}
    for n, party in enumerate(("AM", "AM", "AZ", "AZ")):
        path = tmp_path / f"{n}.json"
        write_release(engine, ring, path, party, incident_selections(engine, incident["id"]))
        bundles[n] = json.loads(path.read_text())
    # Consistency proofs only from this party's own earlier releases.
    assert bundles[1]["consistency_proofs"][0]["old_size"] == bundles[0]["log_size"]
    assert bundles[2]["consistency_proofs"] == []
    assert [p["old_size"] for p in bundles[3]["consistency_proofs"]] == [bundles[2]["log_size"]]
    # Per-recipient ids: AZ's first is AZ-1, whatever AM received.
    listed = client.get(f"{API}/releases", headers=bearer(tokens["az-liaison"])).json()
    assert [r["id"] for r in listed["releases"]] == ["AZ-1", "AZ-2"]
    assert "ledger_index" not in json.dumps(listed)
    everyone = client.get(f"{API}/releases", headers=bearer(tokens["tr-analyst"])).json()
    assert [r["id"] for r in everyone["releases"]] == ["AM-1", "AM-2", "AZ-1", "AZ-2"]
    assert (
        client.get(f"{API}/releases/AM-1", headers=bearer(tokens["az-liaison"])).status_code == 404
    )
    fetched = client.get(f"{API}/releases/AZ-1", headers=bearer(tokens["az-liaison"]))
    assert fetched.json() == bundles[2]
    for bundle in bundles.values():
        text = json.dumps(bundle)
        # Names stay inside the center; the finding names contingents and roles.
        assert not any(name in text for name in tokens), text
        verify_bundle(text)
        size, root = bundle["log_size"], base64.b64decode(bundle["checkpoint"].split("\n")[2])
        assert all(included(item, size, root) for item in bundle["entries"])
    finding = [json.loads(e["record"]) for e in bundles[2]["entries"]]
    views = next(r["record"]["views"] for r in finding if r["kind"] == "finding")
    assert {v["submitted_by_role"] for v in views.values()} == {"duty_officer", "head"}

"""Release bundles over HTTP: every liaison fetches what went to its own party or force, and
nothing else; contingent users read them all; both parties' bundles hold the same records."""

from __future__ import annotations

import json
from pathlib import Path

from api_support import bearer
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ceasefire.api import create_app
from ceasefire.ingest.pipeline import Intake
from ceasefire.ledger.bundle import verify_bundle
from ceasefire.ledger.cosign import make_checkpoint
from ceasefire.ledger.keys import init_keys, load_keys, origin_of
from ceasefire.ledger.release import Selection, write_release
from ceasefire.mission import Mission
from ceasefire.observations import Observation
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.workflow.roles import add_user, issue_token

API = "/api/v1"


def test_each_liaison_reads_only_its_own_releases(
    engine: Engine,
    demo_mission: Mission,
    demo_enricher,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    stored, _ = save_mission(engine, demo_mission)
    Intake(engine, demo_mission, mission_row(engine, stored), enricher=demo_enricher).feed(
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

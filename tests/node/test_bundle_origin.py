"""A release bundle proves who each observation came from: `ceasefire verify --bundle` checks
every observation's node signature against its contingent's intake key listed in the bundle."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from node_support import center_app, in_process, make_node, record, register
from sqlalchemy import Engine

from ceasefire.canonical import canonical_json
from ceasefire.geo.engine import Enricher
from ceasefire.ledger import log
from ceasefire.ledger.bundle import BundleError, verify_bundle
from ceasefire.ledger.entry import KIND_OBSERVATION, LogEntry
from ceasefire.ledger.keys import init_keys, load_keys, origin_of
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.ledger.origin import intake_key_name, sign_record
from ceasefire.ledger.release import Selection, build_bundle
from ceasefire.mission import Mission


def _forward(node: object, app: object) -> None:
    async def go() -> None:
        forwarder = node.forwarder(in_process(app))  # type: ignore[attr-defined]
        try:
            assert await forwarder.drain()
        finally:
            await forwarder.transport.close()

    asyncio.run(go())


def test_the_bundle_proves_each_records_origin_and_refuses_a_forged_one(
    cli: object, engine: Engine, demo_mission: Mission, demo_enricher: Enricher, tmp_path: Path
) -> None:
    origin = origin_of(demo_mission.id)
    keys = tmp_path / "keys"
    init_keys(keys, origin, demo_mission.contingent_ids())
    ring = load_keys(keys, origin, demo_mission.contingent_ids())
    ru, tr = (make_node(tmp_path / c, demo_mission, c) for c in ("RU", "TR"))
    app = center_app(engine, demo_mission, demo_enricher)
    for node, contingent in ((ru, "RU"), (tr, "TR")):
        register(engine, demo_mission, node)
        node.take([record(i, contingent) for i in range(3)], "test")
        _forward(node, app)
        node.outbox.close()
    every = [Selection(KIND_OBSERVATION, None)]
    report = verify_bundle(build_bundle(engine, ring, "AM", every))
    assert report.signed_by == {"RU": 3, "TR": 3} and report.unsigned == 0

    # an entry in RU's name without any signature is the center's word alone: said, not refused
    with engine.begin() as db:
        unsigned = record(98, "RU")
        log.append(db, [LogEntry.of(KIND_OBSERVATION, f"RU/{unsigned['id']}", unsigned)])
    honest = build_bundle(engine, ring, "AM", every)
    report = verify_bundle(honest)
    assert report.signed_by == {"RU": 3, "TR": 3} and report.unsigned == 1
    path = tmp_path / "honest.json"
    path.write_text(json.dumps(honest), encoding="utf-8")
    said = cli("verify", "--bundle", str(path))  # type: ignore[operator]
    assert said.code == 0 and "1 observations are the center's word alone" in said.out
    assert "origin: RU 3, TR 3 observation(s) signed" in " ".join(said.out.split())

    # the center (or anyone who can write its database) appends a record in RU's name,
    # signed with a key of its own making: proven in the log, refused as RU's
    forger = Ed25519Signer.generate(intake_key_name(origin, "RU"))
    forged = record(99, "RU")
    text = canonical_json(forged)
    with engine.begin() as db:
        log.append(
            db,
            [
                LogEntry(
                    KIND_OBSERVATION,
                    f"RU/{forged['id']}",
                    text.decode(),
                    sign_record(forger, text),
                )
            ],
        )
    bundle = build_bundle(engine, ring, "AM", every)
    with pytest.raises(BundleError) as refused:
        verify_bundle(bundle)
    assert any("not by an intake key of RU" in p for p in refused.value.problems)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    said = cli("verify", "--bundle", str(path))  # type: ignore[operator]
    assert said.code == 1 and "not by an intake key of RU" in said.out

    # a bundle of before the intake keys: checked as before, the origins said to be unchecked
    del honest["intake_keys"]
    report = verify_bundle(honest)
    assert report.signed_by == {} and any("no intake keys" in w for w in report.warnings)

"""Contingent nodes: signed intake, the outbox, forwarding, the center's checks, catching up."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import orjson
import pytest
from node_support import (
    Unreachable,
    center_app,
    in_process,
    make_node,
    record,
    register,
)
from sqlalchemy import Engine, select

from ceasefire.canonical import canonical_json
from ceasefire.geo.engine import Enricher
from ceasefire.ingest.pipeline import Intake
from ceasefire.intake._common import validate
from ceasefire.ledger import intake_keys
from ceasefire.ledger.audit import audit
from ceasefire.ledger.entry import parse_envelope
from ceasefire.ledger.keys import init_keys, load_keys, origin_of
from ceasefire.ledger.note import Ed25519Signer, Ed25519Verifier
from ceasefire.ledger.origin import intake_key_name, sign_batch, sign_record, verify_record
from ceasefire.ledger.tables import ledger
from ceasefire.mission import Mission
from ceasefire.mission.model import IntakePolicy
from ceasefire.node.forward import Forwarder
from ceasefire.node.receive import BatchRefused, Receiver
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.store.schema import node_batches, observations


def drain(forwarder: Forwarder) -> bool:
    async def go() -> bool:
        try:
            return await forwarder.drain()
        finally:
            await forwarder.transport.close()

    return asyncio.run(go())


def stored(engine: Engine) -> list[tuple[str, str, str | None, str]]:
    """(contingent, source id, signature, ledger entry) in the log's order."""
    with engine.connect() as db:
        rows = db.execute(
            select(
                observations.c.contingent,
                observations.c.source_id,
                observations.c.signature,
                ledger.c.entry,
            )
            .join(ledger, ledger.c["index"] == observations.c.ledger_index)
            .order_by(observations.c.ledger_index)
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]


def receiver(engine: Engine, mission: Mission, enricher: Enricher) -> Receiver:
    import threading

    version, _new = save_mission(engine, mission)
    return Receiver(engine, mission, mission_row(engine, version), enricher, threading.Lock())


def test_signed_records_reach_the_center_with_their_signature_in_the_ledger(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher, tmp_path: Path
) -> None:
    node = make_node(tmp_path / "ru", demo_mission, batch=4)
    answer = node.take([record(i) for i in range(10)] + [record(3)], "test")
    assert (answer["accepted"], answer["duplicates"]) == (10, 1)
    status = node.outbox.status()
    assert (status["received"], status["backlog"], status["accepted"]) == (10, 10, 0)

    register(engine, demo_mission, node)
    app = center_app(engine, demo_mission, demo_enricher)
    assert drain(node.forwarder(in_process(app)))

    status = node.outbox.status()
    assert (status["backlog"], status["accepted"], status["batches_answered"]) == (0, 10, 3)
    rows = stored(engine)
    # in the order the node received them, each once
    assert [r[1] for r in rows] == [f"RU-N{i:05d}" for i in range(10)]
    key = Ed25519Verifier.from_vkey(node.signer.vkey)
    for _contingent, _id, signature, entry in rows:
        envelope = parse_envelope(entry)
        assert envelope.signature == signature is not None
        assert signature is not None
        assert verify_record(key, canonical_json(envelope.record), signature)
    # the audit rebuilds each entry from its row, signature included
    keys = tmp_path / "keys"
    init_keys(keys, origin_of(demo_mission.id), demo_mission.contingent_ids())
    report = audit(
        engine, load_keys(keys, origin_of(demo_mission.id), demo_mission.contingent_ids())
    )
    assert not report.findings
    # the registration is in the ledger too
    with engine.connect() as db:
        refs = list(db.execute(select(ledger.c.ref).where(ledger.c.kind == "key")).scalars())
    assert refs == ["RU/intake"]


def test_the_center_away_for_a_while_the_node_catches_up_in_order(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher, tmp_path: Path
) -> None:
    node = make_node(tmp_path / "ru", demo_mission, batch=5)
    register(engine, demo_mission, node)
    node.take([record(i) for i in range(12)], "test")
    away = Unreachable()
    forwarder = node.forwarder(away)

    async def while_away() -> None:
        for _ in range(3):
            assert await forwarder.step() is False

    asyncio.run(while_away())
    status = node.outbox.status()
    assert (status["backlog"], status["in_flight"]) == (12, 5)
    assert status["error"]["attempts"] == 3 and "connection refused" in status["error"]["reason"]
    node.take([record(i) for i in range(12, 20)], "test")  # the node keeps taking in

    app = center_app(engine, demo_mission, demo_enricher)
    assert drain(node.forwarder(in_process(app)))
    assert [r[1] for r in stored(engine)] == [f"RU-N{i:05d}" for i in range(20)]
    status = node.outbox.status()
    assert (status["backlog"], status["accepted"], status["error"]) == (0, 20, None)


def test_a_batch_sent_again_gets_the_same_answer_and_other_content_is_a_replay(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher, tmp_path: Path
) -> None:
    node = make_node(tmp_path / "ru", demo_mission)
    register(engine, demo_mission, node)
    center = receiver(engine, demo_mission, demo_enricher)
    node.take([record(i) for i in range(3)], "test")
    batch = node.outbox.next_batch(node.signer, 100)
    assert batch is not None
    first = center.receive("RU", batch.payload, batch.signature)
    assert first["accepted"] == 3
    again = center.receive("RU", batch.payload, batch.signature)
    assert again["again"] is True and again["accepted"] == 3
    # the same number with other (validly signed) content
    data = orjson.loads(batch.payload)
    data["observations"] = data["observations"][:1]
    other = orjson.dumps(data)
    with pytest.raises(BatchRefused) as refused:
        center.receive("RU", other, sign_batch(node.signer, other))
    assert refused.value.status == 409 and "already received with other content" in str(
        refused.value
    )
    assert len(stored(engine)) == 3


def test_unknown_nodes_bad_signatures_and_other_contingents_keys_are_refused(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher, tmp_path: Path
) -> None:
    ru = make_node(tmp_path / "ru", demo_mission)
    tr = make_node(tmp_path / "tr", demo_mission, "TR")
    center = receiver(engine, demo_mission, demo_enricher)
    ru.take([record(i) for i in range(3)], "test")
    batch = ru.outbox.next_batch(ru.signer, 100)
    assert batch is not None
    # an unknown node: no key registered for RU yet
    with pytest.raises(BatchRefused) as refused:
        center.receive("RU", batch.payload, batch.signature)
    assert refused.value.status == 403 and "no intake key registered" in refused.value.reason
    register(engine, demo_mission, ru)
    register(engine, demo_mission, tr)
    # a batch signed by another key (TR's) in RU's name
    with pytest.raises(BatchRefused) as refused:
        center.receive("RU", batch.payload, sign_batch(tr.signer, batch.payload))
    assert refused.value.status == 403 and "does not verify" in refused.value.reason
    # a stranger's contingent
    with pytest.raises(BatchRefused) as refused:
        center.receive("XX", batch.payload, batch.signature)
    assert refused.value.status == 403 and "unknown contingent" in refused.value.reason

    # within a well-signed batch: a record altered after signing, one signed with TR's key,
    # one of TR's records in RU's batch; the rest is taken
    data = orjson.loads(batch.payload)
    entries = data["observations"]
    entries[0]["record"]["count"] = 7
    entries[1]["signature"] = sign_record(
        tr.signer, orjson.dumps(entries[1]["record"], option=orjson.OPT_SORT_KEYS)
    )
    tr_record = validate(record(9, "TR"), "t", 1, "", "record")
    entries.append(
        {"record": record(9, "TR"), "signature": sign_record(tr.signer, tr_record.canonical())}  # type: ignore[union-attr]
    )
    payload = orjson.dumps(data)
    answer = center.receive("RU", payload, sign_batch(ru.signer, payload))
    assert (answer["accepted"], answer["rejected"]) == (1, 3)
    reasons = {r["index"]: (r["field"], r["reason"]) for r in answer["results"] if "reason" in r}
    assert reasons[0][0] == "signature" and "does not match the record" in reasons[0][1]
    assert reasons[1][0] == "signature" and "contingent TR" in reasons[1][1]
    assert reasons[3][0] == "contingent"
    assert [r[1] for r in stored(engine)] == ["RU-N00002"]


def test_the_node_hears_why_a_batch_was_refused_and_goes_on_once_registered(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher, tmp_path: Path
) -> None:
    node = make_node(tmp_path / "ru", demo_mission)
    node.take([record(0)], "test")
    app = center_app(engine, demo_mission, demo_enricher)
    forwarder = node.forwarder(in_process(app))

    async def once() -> Any:
        return await forwarder.step()

    assert asyncio.run(once()) is False
    error = node.outbox.status()["error"]
    assert "no intake key registered" in error["reason"]
    register(engine, demo_mission, node)
    assert drain(forwarder)
    assert node.outbox.status()["accepted"] == 1


def test_a_mission_that_requires_signed_intake_refuses_unsigned_records(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher, tmp_path: Path
) -> None:
    strict = dataclasses.replace(
        demo_mission,
        config=demo_mission.config.model_copy(update={"intake": IntakePolicy(signed=True)}),
    )
    version, _new = save_mission(engine, strict)
    node = make_node(tmp_path / "ru", demo_mission)
    register(engine, strict, node)
    intake = Intake(engine, strict, mission_row(engine, version), demo_enricher, keep_outcomes=True)
    unsigned = validate(record(0), "t", 1, "", "record")
    signed = validate(record(1), "t", 2, "", "record")
    intake.add(unsigned, "t", 1)
    intake.add(signed, "t", 2, signature=sign_record(node.signer, signed.canonical()))  # type: ignore[union-attr]
    intake.flush()
    outcomes = {o.record: o for o in intake.result.outcomes}
    assert outcomes[1].status == "rejected" and outcomes[1].field == "signature"
    assert "only records signed" in outcomes[1].reason
    assert outcomes[2].status == "accepted"


def test_a_new_intake_key_replaces_the_old_one_and_is_logged(
    engine: Engine, demo_mission: Mission, tmp_path: Path
) -> None:
    name = intake_key_name(origin_of(demo_mission.id), "RU")
    old, new = Ed25519Signer.generate(name), Ed25519Signer.generate(name)
    assert intake_keys.register(engine, demo_mission, old.vkey).action == "register"
    assert intake_keys.register(engine, demo_mission, old.vkey).action == "unchanged"
    assert intake_keys.register(engine, demo_mission, new.vkey).action == "rotate"
    assert intake_keys.current(engine)["RU"].vkey == new.vkey
    with engine.connect() as db:
        entries = list(db.execute(select(ledger.c.entry).where(ledger.c.kind == "key")).scalars())
    assert [parse_envelope(e).record["action"] for e in entries] == ["register", "rotate"]
    assert parse_envelope(entries[1]).record["previous"] == old.vkey
    other = Ed25519Signer.generate(f"{origin_of(demo_mission.id)}/RU")
    with pytest.raises(intake_keys.IntakeKeyError, match="not an intake key"):
        intake_keys.register(engine, demo_mission, other.vkey)
    with pytest.raises(intake_keys.IntakeKeyError, match="unknown contingent"):
        intake_keys.register(
            engine,
            demo_mission,
            Ed25519Signer.generate(intake_key_name(origin_of(demo_mission.id), "XX")).vkey,
        )


def test_replayed_batches_are_kept_once(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher, tmp_path: Path
) -> None:
    """The batch table keeps one answer per (contingent, number)."""
    node = make_node(tmp_path / "ru", demo_mission, batch=2)
    register(engine, demo_mission, node)
    node.take([record(i) for i in range(4)], "test")
    assert drain(node.forwarder(in_process(center_app(engine, demo_mission, demo_enricher))))
    with engine.connect() as db:
        numbers = list(db.execute(select(node_batches.c.sequence)).scalars())
    assert sorted(numbers) == [1, 3]


def test_a_running_node_takes_http_and_cot_and_forwards_them(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    import httpx

    from ceasefire.intake.cot import observation_to_cot, track_to_cot
    from ceasefire.node.run import run
    from ceasefire.observations.track import TrackPoint

    node = make_node(tmp_path / "ru", demo_mission)
    node.config.http_port = 0
    node.config.cot_tcp_port = 0
    register(engine, demo_mission, node)
    app = center_app(engine, demo_mission, demo_enricher)
    cot_record = validate(record(50), "t", 1, "", "record")
    track = TrackPoint("orlan-10-07", datetime(2021, 2, 3, 10, 0, tzinfo=UTC), 39.9, 46.7)

    async def scenario() -> dict[str, Any]:
        stop = asyncio.Event()
        ports: dict[str, int | None] = {}

        def ready(bound: dict[str, int | None]) -> None:
            ports.update(bound)

        task = asyncio.create_task(run(node, stop, ready, transport=in_process(app)))
        while not ports:
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient() as client:
            answer = (
                await client.post(
                    f"http://127.0.0.1:{ports['http']}/api/v1/observations",
                    json=[record(0), record(1), record(2, "TR"), {"id": 5}],
                )
            ).json()
        _reader, writer = await asyncio.open_connection("127.0.0.1", ports["cot_tcp"])
        writer.write(observation_to_cot(cot_record) + track_to_cot(track))  # type: ignore[arg-type]
        await writer.drain()
        writer.close()
        for _ in range(300):
            if len(stored(engine)) == 3 and node.outbox.status()["backlog"] == 0:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await task
        return dict(answer)

    answer = asyncio.run(scenario())
    assert (answer["accepted"], answer["rejected"]) == (2, 2)
    reasons = {r["index"]: r for r in answer["results"]}
    assert reasons[2]["field"] == "contingent"
    assert sorted(r[1] for r in stored(engine)) == ["RU-N00000", "RU-N00001", "RU-N00050"]
    status = node.outbox.status()
    assert (status["accepted"], status["backlog"]) == (4, 0)  # three records and the track

"""A contingent's witness cosigns only if every new entry in its name carries its signature."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from node_support import center_app, in_process, make_node, record, register, served
from sqlalchemy import Engine

from ceasefire.geo.engine import Enricher
from ceasefire.ingest.pipeline import Intake
from ceasefire.intake._common import validate
from ceasefire.ledger.checkpoint import Checkpoint, CosignatureSigner, sign_checkpoint
from ceasefire.ledger.cosign import CheckpointRefusedError, make_checkpoint
from ceasefire.ledger.entry import entry_leaf_hash
from ceasefire.ledger.keys import CENTER, WITNESSES_FILE, init_key, load_keys, origin_of
from ceasefire.ledger.merkle import MerkleTree
from ceasefire.ledger.note import Ed25519Signer, Ed25519Verifier
from ceasefire.ledger.witness import (
    InconsistentError,
    OriginCheck,
    UnsignedEntryError,
    Witness,
)
from ceasefire.mission import Mission
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.witness.client import WitnessClient
from ceasefire.witness.server import CenterEntries, WitnessNode
from ceasefire.workflow.roles import add_user, issue_token


@pytest.fixture
def setting(
    tmp_path: Path, engine: Engine, demo_mission: Mission, demo_enricher: Enricher
) -> Iterator[tuple[object, ...]]:
    """The center's API served, each contingent's node and its witness checking entries."""
    origin = origin_of(demo_mission.id)
    center_keys = tmp_path / "center"
    init_key(center_keys, origin, CENTER)
    nodes = {c: make_node(tmp_path / c, demo_mission, c) for c in demo_mission.contingent_ids()}
    tokens = {}
    with engine.begin() as db:
        for c in nodes:
            add_user(db, demo_mission, f"{c.lower()}-witness", "analyst", c)
            tokens[c] = issue_token(db, f"{c.lower()}-witness", "witness")
    for node in nodes.values():
        register(engine, demo_mission, node)
    app = center_app(engine, demo_mission, demo_enricher)
    witnesses: dict[str, WitnessNode] = {}
    with served(app) as url:
        try:
            for c, node in nodes.items():
                keys = tmp_path / f"witness-{c}"
                init_key(keys, origin, c)
                shutil.copy(center_keys / f"{CENTER}.vkey", keys)
                shutil.copy(keys / f"{c}.vkey", center_keys)
                check = OriginCheck(
                    c,
                    (Ed25519Verifier.from_vkey(node.signer.vkey),),
                    CenterEntries(url, tokens[c]),
                )
                witnesses[c] = WitnessNode(keys, keys / "witness.db", origin_check=check).start()
            lines = [f'{c} = "{w.url}"' for c, w in witnesses.items()]
            (center_keys / WITNESSES_FILE).write_text("\n".join(lines) + "\n")
            ring = load_keys(center_keys, origin, demo_mission.contingent_ids())
            yield ring, nodes, app
        finally:
            for w in witnesses.values():
                w.stop()


def forward(node: object, app: object) -> None:
    async def go() -> None:
        forwarder = node.forwarder(in_process(app))  # type: ignore[attr-defined]
        try:
            assert await forwarder.drain()
        finally:
            await forwarder.transport.close()

    asyncio.run(go())


def test_the_center_cannot_have_a_record_in_a_contingents_name_cosigned(
    setting: tuple[object, ...], engine: Engine, demo_mission: Mission, demo_enricher: Enricher
) -> None:
    ring, nodes, app = setting
    nodes["RU"].take([record(i) for i in range(3)], "test")  # type: ignore[index]
    nodes["TR"].take([record(i, "TR") for i in range(2)], "test")  # type: ignore[index]
    forward(nodes["RU"], app)  # type: ignore[index]
    forward(nodes["TR"], app)  # type: ignore[index]
    first = make_checkpoint(engine, ring, remote=WitnessClient)  # type: ignore[arg-type]
    assert first.size >= 2 + 5 + 3  # the intake keys, the records, the keys, the users

    # the center writes a record in RU's name itself (not signed by RU's node)
    version, _new = save_mission(engine, demo_mission)
    intake = Intake(engine, demo_mission, mission_row(engine, version), demo_enricher)
    intake.feed([validate(record(77), "center", 1, "", "record")], "center")
    assert intake.result.accepted == 1
    with pytest.raises(CheckpointRefusedError) as refused:
        make_checkpoint(engine, ring, remote=WitnessClient)  # type: ignore[arg-type]
    assert "RU" in str(refused.value) and "RU/RU-N00077" in str(refused.value)
    assert "not signed" in str(refused.value)


def _checkpoint(entries: list[str]) -> Checkpoint:
    tree = MerkleTree(entry_leaf_hash(e) for e in entries)
    return Checkpoint("o", tree.size, tree.root())


def test_a_witness_refuses_entries_that_do_not_make_the_checkpoint() -> None:
    """The entries served must rebuild the checkpoint's tree: the center cannot show the
    witness other entries than those it cosigns."""
    key = Ed25519Signer.generate("o")
    cosigner = CosignatureSigner.generate("o/RU")
    intake = Ed25519Signer.generate("o/RU/intake")
    good = '{"appended_at":"2021-01-01T00:00:00.000000Z","kind":"key","record":{},"ref":"x"}'
    bad = good.replace('"x"', '"y"')
    checkpoint = _checkpoint([good])
    served_entries: list[str | bytes] = [bad]
    check = OriginCheck("RU", (intake.verifier(),), lambda o, a, b: ([], served_entries))
    witness = Witness(cosigner, {"o": [key.verifier()]}, origin_check=check)
    note = sign_checkpoint(checkpoint, key).encode()
    with pytest.raises(InconsistentError, match="not those of the checkpoint"):
        witness.add_checkpoint(note, 0, [])
    served_entries[:] = [good]
    witness.add_checkpoint(note, 0, [])  # the true entry: cosigned
    unsigned = (
        '{"appended_at":"2021-01-01T00:00:00.000000Z","kind":"observation",'
        '"record":{"contingent":"RU","id":"RU-1"},"ref":"RU/RU-1"}'
    )
    grown = _checkpoint([good, unsigned])
    served_entries[:] = [unsigned]
    frontier = [entry_leaf_hash(good)]
    witness = Witness(
        cosigner,
        {"o": [key.verifier()]},
        witness._state,  # type: ignore[attr-defined]
        OriginCheck("RU", (intake.verifier(),), lambda o, a, b: (frontier, served_entries)),
    )
    proof = MerkleTree([entry_leaf_hash(good), entry_leaf_hash(unsigned)]).consistency_proof(1)
    with pytest.raises(UnsignedEntryError, match=r"entry 1 \(RU/RU-1\).*not signed"):
        witness.add_checkpoint(sign_checkpoint(grown, key).encode(), 1, proof)

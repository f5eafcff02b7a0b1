"""Each contingent's witness keeps the leaf hashes it cosigned, and `verify` names the entry an
attacker rewrote with its leaf hash and its row made to agree (which the checkpoints alone
show only as a range of indexes)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ceasefire.canonical import canonical_json
from ceasefire.center import Center, Settings
from ceasefire.ledger import log
from ceasefire.ledger.checkpoint import Checkpoint, CosignatureSigner, sign_checkpoint
from ceasefire.ledger.cosign import make_checkpoint
from ceasefire.ledger.entry import entry_leaf_hash, envelope, parse_envelope
from ceasefire.ledger.keys import CENTER, WITNESSES_FILE, KeyRing, init_key, load_keys, origin_of
from ceasefire.ledger.leaves import LeafCopy, LeafKeeper, MemoryLeafStore
from ceasefire.ledger.merkle import MerkleTree
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.ledger.witness import InconsistentError, OriginCheck, UnsignedEntryError, Witness
from ceasefire.mission import Mission
from ceasefire.witness.client import WitnessClient
from ceasefire.witness.server import WitnessNode
from ceasefire.workflow.audit import audit_all
from ceasefire.workflow.roles import add_user


def entries_of(engine: sa.Engine) -> Any:
    """What the center's API would serve the witness (``CenterEntries``), read directly."""

    def fetch(origin: str, start: int, end: int) -> tuple[list[bytes], list[str | bytes]]:
        with engine.connect() as db:
            return [], [e.entry for e in log.entries_at(db, range(start, end))]

    return fetch


@pytest.fixture
def witnessed(
    tmp_path: Path, engine: sa.Engine, demo_mission: Mission
) -> Iterator[tuple[KeyRing, dict[str, WitnessNode]]]:
    """The center's keys with each contingent's witness on its own node, keeping leaves."""
    origin = origin_of(demo_mission.id)
    center = tmp_path / "center"
    init_key(center, origin, CENTER)
    nodes: dict[str, WitnessNode] = {}
    try:
        for c in demo_mission.contingent_ids():
            keys = tmp_path / c
            init_key(keys, origin, c)
            shutil.copy(center / f"{CENTER}.vkey", keys)
            shutil.copy(keys / f"{c}.vkey", center)
            nodes[c] = WitnessNode(
                keys, keys / "witness.db", leaves_from=entries_of(engine)
            ).start()
        lines = [f'{c} = "{n.url}"' for c, n in nodes.items()]
        (center / WITNESSES_FILE).write_text("\n".join(lines) + "\n")
        yield load_keys(center, origin, demo_mission.contingent_ids()), nodes
    finally:
        for node in nodes.values():
            node.stop()


def users_and_checkpoints(engine: sa.Engine, ring: KeyRing, mission: Mission) -> None:
    """Users logged in two checkpoints (the witnesses keep both growths)."""
    with engine.begin() as db:
        add_user(db, mission, "ru-analyst", "analyst", "RU")
        add_user(db, mission, "tr-head", "head", "TR")
    make_checkpoint(engine, ring, remote=WitnessClient)
    with engine.begin() as db:
        add_user(db, mission, "ru-head", "head", "RU")
    make_checkpoint(engine, ring, remote=WitnessClient)


def promote(engine: sa.Engine, name: str) -> int:
    """The attacker's rewrite: the user made TR's head in its row, its entry and its leaf
    hash alike (each agrees with the others). The entry's index."""
    with engine.begin() as db:
        index, text = db.execute(
            sa.text("SELECT \"index\", entry FROM ledger WHERE kind = 'user' AND ref = :n"),
            {"n": name},
        ).one()
        env = parse_envelope(text)
        record = {**env.record, "role": "head", "affiliation": "TR"}
        forged = envelope(
            env.kind, env.ref, canonical_json(record).decode("utf-8"), env.appended_at
        )
        db.execute(
            sa.text('UPDATE ledger SET entry = :e, leaf_hash = :h WHERE "index" = :i'),
            {"e": forged, "h": entry_leaf_hash(forged), "i": index},
        )
        db.execute(
            sa.text("UPDATE users SET role = 'head', affiliation = 'TR' WHERE name = :n"),
            {"n": name},
        )
    return int(index)


def test_verify_names_the_entry_rewritten_with_its_leaf_and_row(
    engine: sa.Engine,
    demo_mission: Mission,
    witnessed: tuple[KeyRing, dict[str, WitnessNode]],
) -> None:
    ring, nodes = witnessed
    users_and_checkpoints(engine, ring, demo_mission)
    center = Center(
        Settings(keys=ring.directory), mission=demo_mission, engine=engine, capabilities=()
    )
    clean = center.verify()
    assert clean.ok, clean.findings
    assert any("compared with the copy of the witness" in n for n in clean.notes), clean.notes

    index = promote(engine, "ru-analyst")
    without = audit_all(engine, ring)  # the checkpoints alone: a range, no entry named
    assert not without.ok
    assert [f for f in without.findings if f.table == "users"] == []  # the row agrees
    assert not any(f"index {index} (" in f.row for f in without.findings), without.findings

    report = center.verify()  # each witness asked over HTTP for its copy
    named = [f for f in report.findings if f.row == f"index {index} (user ru-analyst)"]
    assert len(named) == len(nodes), report.findings  # every contingent's copy names it
    assert all("rewritten" in f.problem for f in named)
    others = [f for f in report.findings if f.row.startswith("index ") and f not in named]
    assert others == [], others  # no other entry is accused


def test_the_witness_serves_hashes_only_and_its_copy_can_be_exported(
    engine: sa.Engine,
    demo_mission: Mission,
    database_url: str,
    witnessed: tuple[KeyRing, dict[str, WitnessNode]],
    tmp_path: Path,
    cli: Any,
) -> None:
    ring, nodes = witnessed
    users_and_checkpoints(engine, ring, demo_mission)
    node = nodes["RU"]
    page = httpx.get(node.url + "/leaves", params={"start": 1, "end": 3}).json()
    with engine.connect() as db:
        size = log.size(db)
        stored = log.entries_at(db, range(size))
    assert page["size"] == size and page["start"] == 1 and len(page["leaf_hashes"]) == 2
    assert set(page) == {"witness", "origin", "start", "size", "leaf_hashes"}  # no content
    with WitnessClient() as client:
        copy = client.leaves(node.url, ring.origin)
    assert copy.packed == b"".join(e.leaf_hash for e in stored)

    for n in nodes.values():
        n.stop()  # the witnesses out of reach: verify works from an exported copy
    exported = tmp_path / "ru-leaves.json"
    shown = cli(
        "witness", "leaves", "--key", str(tmp_path / "RU"), "--state",
        str(tmp_path / "RU" / "witness.db"), "--out", str(exported),
    )  # fmt: skip
    assert shown.code == 0, shown.err
    assert LeafCopy.from_json(json.loads(exported.read_text())).packed == copy.packed
    index = promote(engine, "ru-head")
    args = ["--db", database_url, "--mission", demo_mission.id, "--keys", str(ring.directory)]
    shown = cli("verify", *args, "--witness-leaves", str(exported), "--format", "json")
    assert shown.code == 1, shown.out + shown.err
    report = json.loads(shown.out)
    assert {"table": "ledger", "row": f"index {index} (user ru-head)"} in [
        {"table": f["table"], "row": f["row"]} for f in report["findings"]
    ], report
    assert any("no copy of leaf hashes from the witness of RU" in n for n in report["notes"])


def test_a_witness_keeps_only_leaves_that_make_what_it_cosigns() -> None:
    """Served other entries than those of the checkpoint, it refuses and keeps nothing; it
    catches up from where its copy ends, checking all it fetched against the new root."""
    key = Ed25519Signer.generate("o")
    entries = [f'{{"i":{i}}}' for i in range(5)]
    served = list(entries)
    keeper = LeafKeeper(MemoryLeafStore(), lambda o, a, b: ([], list(served[a:b])))
    witness = Witness(CosignatureSigner.generate("o/RU"), {"o": [key.verifier()]}, leaves=keeper)

    def note(size: int) -> bytes:
        tree = MerkleTree(entry_leaf_hash(e) for e in entries[:size])
        return sign_checkpoint(Checkpoint("o", size, tree.root()), key).encode()

    served[1] = '{"i":10}'
    with pytest.raises(InconsistentError):
        witness.add_checkpoint(note(2), 0, [])
    assert keeper.copy("o") == b""
    served[1] = entries[1]
    witness.add_checkpoint(note(2), 0, [])
    tree = MerkleTree(entry_leaf_hash(e) for e in entries)
    witness.add_checkpoint(note(5), 2, tree.consistency_proof(2, 5))
    assert keeper.copy("o") == tree.packed_leaves()


def test_with_the_origin_check_the_entries_are_read_once_and_still_checked() -> None:
    """A witness that checks its contingent's signatures and keeps leaves reads each
    checkpoint's entries once, for both; an unsigned record in its name is still refused,
    and nothing of that checkpoint is kept."""
    key = Ed25519Signer.generate("o")
    good = '{"appended_at":"2021-01-01T00:00:00.000000Z","kind":"key","record":{},"ref":"x"}'
    unsigned = (
        '{"appended_at":"2021-01-01T00:00:00.000000Z","kind":"observation",'
        '"record":{"contingent":"RU","id":"RU-1"},"ref":"RU/RU-1"}'
    )
    entries = [good, good.replace('"x"', '"y"'), unsigned]
    reads: list[tuple[int, int]] = []

    def source(origin: str, start: int, end: int) -> tuple[list[bytes], list[str | bytes]]:
        reads.append((start, end))
        return [], list(entries[start:end])

    intake = Ed25519Signer.generate("o/RU/intake")
    check = OriginCheck("RU", (intake.verifier(),), source)
    keeper = LeafKeeper(MemoryLeafStore(), source)
    witness = Witness(
        CosignatureSigner.generate("o/RU"), {"o": [key.verifier()]}, origin_check=check,
        leaves=keeper,
    )  # fmt: skip
    tree = MerkleTree(entry_leaf_hash(e) for e in entries)

    def note(size: int) -> bytes:
        return sign_checkpoint(Checkpoint("o", size, tree.root(size)), key).encode()

    witness.add_checkpoint(note(2), 0, [])
    assert reads == [(0, 2)]  # once, for the check and the copy
    with pytest.raises(UnsignedEntryError, match="RU/RU-1"):
        witness.add_checkpoint(note(3), 2, tree.consistency_proof(2, 3))
    assert reads == [(0, 2), (2, 3)]
    assert keeper.copy("o") == tree.packed_leaves(0, 2)  # the refused growth is not kept

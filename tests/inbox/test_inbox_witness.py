"""A party's inbox as a witness of the center's log (C2SP tlog-witness).

The party's inbox serves its witness under /witness with a key and a state file of its own; the
center asks it after the contingents' witnesses. The test rewrites the center's history and
wipes the contingents' in-process witness memory (which sits in the center's own database in the
embedded center): the contingents' witnesses cosign again, the party's inbox refuses. Whether
that refusal stops the checkpoint is the mission's setting, checkpoints.parties_required.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ceasefire.center import Settings
from ceasefire.center.core import load_ring
from ceasefire.inbox import Inbox, init_inbox
from ceasefire.inbox.server import InboxNode
from ceasefire.inbox.store import WITNESS_STATE, init_witness, witness_key_file
from ceasefire.ledger import TreeHead
from ceasefire.ledger.checkpoint import IncompleteCheckpointError
from ceasefire.ledger.cosign import CheckpointRefusedError, make_checkpoint, verify_checkpoint
from ceasefire.ledger.keys import CENTER, KeyRing, init_keys, origin_of
from ceasefire.ledger.tables import checkpoints, witness_state
from ceasefire.mission import Mission
from ceasefire.mission.load import BUILTIN_DIR
from ceasefire.mission.model import Checkpoints, PartyWitness
from ceasefire.witness.client import WitnessClient
from ceasefire.witness.server import OwnWitness
from centers import forge_entry, grow


@dataclasses.dataclass
class PartyLine:
    own: OwnWitness
    node: InboxNode
    vkey: str


@pytest.fixture
def az(tmp_path: Path, demo_mission: Mission) -> Iterator[PartyLine]:
    """The center's keys (its own, the contingents' embedded witnesses), and AZ's inbox
    serving its witness, as `ceasefire inbox init` and `inbox serve` make them."""
    origin = origin_of(demo_mission.id)
    init_keys(tmp_path / "center", origin, demo_mission.contingent_ids())
    center_vkey = (tmp_path / "center" / f"{CENTER}.vkey").read_text().strip()
    folder = tmp_path / "inbox-AZ"
    init_inbox(folder, "AZ")
    vkey = init_witness(folder, origin, "AZ")
    own = OwnWitness.open(witness_key_file(folder, "AZ"), folder / WITNESS_STATE, [center_vkey])
    inbox = Inbox(folder, "AZ", center_vkey)
    node = InboxNode(inbox, lang="az", witness=own.app())
    node.start()
    try:
        yield PartyLine(own, node, vkey)
    finally:
        node.stop()
        inbox.close()
        own.close()


def _ring(tmp_path: Path, mission: Mission, az: PartyLine, required: bool) -> KeyRing:
    """The ring as a center loads it from a mission naming AZ's witness."""
    parties = [
        p.model_copy(update={"witness": PartyWitness(url=az.node.witness_url, key=az.vkey)})
        if p.id == "AZ"
        else p
        for p in mission.config.parties
    ]
    config = mission.config.model_copy(
        update={"parties": parties, "checkpoints": Checkpoints(parties_required=required)}
    )
    return load_ring(
        dataclasses.replace(mission, config=config), Settings(keys=tmp_path / "center")
    )


def _rewrite_history(engine: sa.Engine) -> None:
    """Change a logged entry and forget what the center's in-process witnesses cosigned."""
    with engine.begin() as db:
        forge_entry(db, 4)
        db.execute(sa.delete(witness_state))


def _count(engine: sa.Engine) -> int:
    with engine.connect() as db:
        return int(db.execute(sa.select(sa.func.count()).select_from(checkpoints)).scalar_one())


@pytest.mark.parametrize("required", [True, False], ids=["required", "not-required"])
def test_a_party_cosigns_then_refuses_a_rewritten_history(
    engine: sa.Engine,
    tmp_path: Path,
    demo_mission: Mission,
    az: PartyLine,
    required: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ring = _ring(tmp_path, demo_mission, az, required)
    assert ring.parties_required is required and list(ring.parties) == ["AZ"]
    grow(engine, 6)
    first = make_checkpoint(engine, ring, remote=WitnessClient)
    cosigned = verify_checkpoint(first.note, ring, parties=True).cosigned_at
    assert sorted(cosigned) == sorted([*demo_mission.contingent_ids(), "AZ"])
    assert az.own.witness.latest(ring.origin) == TreeHead(first.size, first.root_hash)
    grow(engine, 3, 6)
    second = make_checkpoint(engine, ring, remote=WitnessClient)
    assert "AZ" in verify_checkpoint(second.note, ring, parties=True).cosigned_at

    _rewrite_history(engine)
    grow(engine, 2, 9)
    if required:
        with pytest.raises(CheckpointRefusedError, match="party AZ refused") as refused:
            make_checkpoint(engine, ring, remote=WitnessClient)
        assert refused.value.party and refused.value.contingent == "AZ"
        assert refused.value.error.status == 422  # no consistency proof from what AZ cosigned
        assert _count(engine) == 2
    else:
        with caplog.at_level(logging.WARNING, logger="ceasefire.ledger.cosign"):
            third = make_checkpoint(engine, ring, remote=WitnessClient)
        assert "party AZ refused" in caplog.text
        assert _count(engine) == 3
        assert "AZ" not in verify_checkpoint(third.note, ring).cosigned_at
        with pytest.raises(IncompleteCheckpointError):
            verify_checkpoint(third.note, ring, parties=True)
    # the party's memory is its own: still the last history it cosigned
    assert az.own.witness.latest(ring.origin) == TreeHead(second.size, second.root_hash)


def test_inbox_init_makes_the_witness_key(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "az"
    made = cli("inbox", "init", "--party", "AZ", "--dir", str(folder))
    assert made.code == 0
    ack_key, witness_key = made.out.split()
    assert ack_key.startswith("az-inbox+") and "/AZ+" in witness_key
    assert witness_key_file(folder, "AZ").stat().st_mode & 0o077 == 0
    assert cli("inbox", "init", "--party", "AZ", "--dir", str(folder)).out == made.out


def test_mission_validate_checks_the_parties_witnesses(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "m"
    shutil.copytree(BUILTIN_DIR / "karabakh-2020", folder)
    toml = folder / "mission.toml"
    text = toml.read_text()
    text = text.replace(
        '[[parties]]\nid = "AZ"\nlanguage = "az"',
        '[[parties]]\nid = "AZ"\nlanguage = "az"\n'
        'witness = { url = "ftp://inbox.az.example", key = "az-inbox+00000000+AAAA" }',
        1,
    )
    toml.write_text(text + "\n[checkpoints]\nparties_required = true\n")
    bad = cli("mission", "validate", str(folder), "--format", "json")
    assert bad.code == 1
    problems = {(p.get("record"), p["field"]) for p in bad.json()["problems"]}
    assert problems == {
        ("AM", "parties[0].witness"),  # required, and AM names none
        ("AZ", "parties[1].witness.url"),
        ("AZ", "parties[1].witness.key"),
    }

"""Checkpoints in the database: cosigned by every contingent's witness, refused when the log was
rewritten or rolled back; witness state with compare-and-swap; key files and rotation."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_store_support import keyring

from ceasefire.ledger import TreeHead, log
from ceasefire.ledger.cosign import (
    CheckpointRefusedError,
    DatabaseWitnessState,
    RemoteWitnesses,
    StoredCheckpoint,
    latest_checkpoint,
    make_checkpoint,
    stored_checkpoints,
    verify_checkpoint,
)
from ceasefire.ledger.errors import LedgerError
from ceasefire.ledger.keys import (
    KeyFileError,
    KeyRing,
    init_keys,
    install_key,
    load_keys,
    new_key,
    origin_of,
)
from ceasefire.ledger.tables import checkpoints
from ceasefire.mission import Mission
from centers import forge_entry, grow


def count(engine: sa.Engine) -> int:
    with engine.connect() as db:
        return int(db.execute(sa.select(sa.func.count()).select_from(checkpoints)).scalar_one())


def test_witness_state_compare_and_swap(engine: sa.Engine) -> None:
    state = DatabaseWitnessState(engine, "RU")
    other = DatabaseWitnessState(engine, "TR")
    one, two, three = (TreeHead(n, bytes([n]) * 32) for n in (1, 2, 3))
    assert state.latest("o") is None
    assert state.compare_and_swap("o", None, one)
    assert not state.compare_and_swap("o", None, two)  # a head exists already
    assert state.latest("o") == one
    assert not state.compare_and_swap("o", two, three)  # not what is stored
    assert not state.compare_and_swap("o", TreeHead(1, b"\x09" * 32), three)  # same size, root
    assert state.compare_and_swap("o", one, two)
    assert state.latest("o") == two
    assert other.latest("o") is None  # each witness has its own memory


def test_checkpoint_is_signed_by_the_center_and_cosigned_by_every_contingent(
    engine: sa.Engine, tmp_path: Path, demo_mission: Mission
) -> None:
    ring = keyring(tmp_path / "keys", demo_mission)
    grow(engine, 5)
    first = make_checkpoint(engine, ring)
    # 5 entries and one "key" entry per key (center, RU, TR) registered before signing.
    assert first.size == 8
    verified = verify_checkpoint(first.note, ring)
    assert sorted(verified.cosigned_at) == sorted(demo_mission.contingent_ids())
    assert first.note.startswith(f"{origin_of(demo_mission.id)}\n8\n")
    with engine.connect() as db:
        assert log.read_tree(db).tree.root() == first.root_hash
        assert latest_checkpoint(db) == first
    assert make_checkpoint(engine, ring) == first  # nothing new: the same checkpoint
    grow(engine, 3, 5)
    second = make_checkpoint(engine, ring)
    assert (second.size, second.id) == (11, first.id + 1)
    for contingent in demo_mission.contingent_ids():
        head = DatabaseWitnessState(engine, contingent).latest(ring.origin)
        assert head == TreeHead(11, second.root_hash)


def test_witnesses_refuse_a_rewritten_log(
    engine: sa.Engine, tmp_path: Path, demo_mission: Mission
) -> None:
    ring = keyring(tmp_path / "keys", demo_mission)
    grow(engine, 6)
    make_checkpoint(engine, ring)
    with engine.begin() as db:
        forge_entry(db, 2)
    grow(engine, 2, 6)
    with pytest.raises(CheckpointRefusedError, match="inconsistent") as refused:
        make_checkpoint(engine, ring)
    assert refused.value.contingent == demo_mission.contingent_ids()[0]
    assert count(engine) == 1


def test_witnesses_refuse_a_rolled_back_log(
    engine: sa.Engine, tmp_path: Path, demo_mission: Mission
) -> None:
    ring = keyring(tmp_path / "keys", demo_mission)
    grow(engine, 6)
    assert make_checkpoint(engine, ring).size == 9
    grow(engine, 3, 6)
    assert make_checkpoint(engine, ring).size == 12
    with engine.begin() as db:
        db.execute(sa.text('DELETE FROM ledger WHERE "index" >= 10'))
        db.execute(sa.text("UPDATE ledger_head SET size = 10"))
    with pytest.raises(CheckpointRefusedError, match="rollback"):
        make_checkpoint(engine, ring)
    # History rewritten from index 8 on and grown again: not an extension of what was cosigned.
    with engine.begin() as db:
        db.execute(sa.text('DELETE FROM ledger WHERE "index" >= 8'))
        db.execute(sa.text("UPDATE ledger_head SET size = 8"))
    grow(engine, 4, 50)
    with pytest.raises(CheckpointRefusedError, match="inconsistent"):
        make_checkpoint(engine, ring)
    assert count(engine) == 2


def checkpoints_while_appending(
    engine: sa.Engine, ring: KeyRing, remote: RemoteWitnesses | None = None
) -> StoredCheckpoint:
    """Two threads checkpoint three times each while a third appends: every checkpoint is
    stored, cosigned and true to the log (witnesses with a URL asked through ``remote``). The
    newest."""
    grow(engine, 3)
    errors: list[BaseException] = []

    def checkpointer() -> None:
        try:
            for _ in range(3):
                make_checkpoint(engine, ring, reuse=False, remote=remote)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    def writer() -> None:
        for b in range(6):
            grow(engine, 4, 100 + 10 * b)

    threads = [threading.Thread(target=checkpointer) for _ in range(2)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with engine.connect() as db:
        tree = log.read_tree(db)
        stored = stored_checkpoints(db)
        latest = latest_checkpoint(db)
    assert len(stored) == 6
    for cp in stored:
        verify_checkpoint(cp.note, ring)
        assert tree.tree.root(cp.size) == cp.root_hash
    assert latest is not None and latest.size == max(cp.size for cp in stored)
    return latest


def test_checkpoints_made_at_once_while_appending_all_count(
    engine: sa.Engine, tmp_path: Path, demo_mission: Mission
) -> None:
    checkpoints_while_appending(engine, keyring(tmp_path / "keys", demo_mission))


def test_key_files_rotation_and_old_checkpoints(
    engine: sa.Engine, tmp_path: Path, demo_mission: Mission
) -> None:
    folder = tmp_path / "keys"
    ring = keyring(folder, demo_mission)
    for holder in ("center", "RU", "TR"):
        assert stat.S_IMODE((folder / f"{holder}.skey").stat().st_mode) == 0o600
        assert stat.S_IMODE((folder / f"{holder}.vkey").stat().st_mode) == 0o644
    assert init_keys(folder, ring.origin, ["RU", "TR"]) == []  # existing keys are kept
    grow(engine, 2)
    old = make_checkpoint(engine, ring)

    rotation = new_key(folder, ring.origin, "RU")
    install_key(folder, rotation)
    rotated = load_keys(folder, ring.origin, ["RU", "TR"])
    assert rotated.cosigner_verifiers["RU"].vkey == rotation.vkey != rotation.previous
    assert [v.vkey for v in rotated.retired["RU"]] == [rotation.previous]
    verify_checkpoint(old.note, rotated)  # with the retired key
    with pytest.raises(LedgerError, match="RU"):
        verify_checkpoint(old.note, rotated, retired=False)
    new = make_checkpoint(engine, rotated)  # the rotated key is registered, then cosigns
    assert new.size == old.size + 1
    verify_checkpoint(new.note, rotated, retired=False)

    os.chmod(folder / "TR.skey", 0o644)
    with pytest.raises(KeyFileError, match="can be read by others"):
        load_keys(folder, ring.origin, ["RU", "TR"])
    assert load_keys(folder, ring.origin, ["RU", "TR"], secret=False).cosigners == {}

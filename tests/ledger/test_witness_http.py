"""Witnesses on each contingent's own node, asked over HTTP (C2SP tlog-witness).

Each contingent's witness is a real server on a real socket, with its own key directory and
state file; the center's key directory holds the center's signer key and only the contingents'
verifier keys. Sockets are bound before the server thread starts, so no test waits on time.
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from test_store_checkpoint import checkpoints_while_appending

from ceasefire.center import Center, Settings
from ceasefire.center.checkpointer import Checkpointer
from ceasefire.ledger import TreeHead, log
from ceasefire.ledger.checkpoint import Checkpoint, CosignatureSigner, sign_checkpoint
from ceasefire.ledger.cosign import (
    CheckpointRefusedError,
    DatabaseWitnessState,
    make_checkpoint,
    stored_checkpoints,
    verify_checkpoint,
)
from ceasefire.ledger.keys import (
    CENTER,
    WITNESSES_FILE,
    KeyFileError,
    KeyRing,
    init_key,
    load_keys,
    origin_of,
)
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.ledger.tables import checkpoints
from ceasefire.ledger.witness import (
    MAX_REQUEST_BYTES,
    SIZE_TYPE,
    AddCheckpointRequest,
    Witness,
    WitnessState,
)
from ceasefire.mission import Mission
from ceasefire.witness.client import WitnessClient
from ceasefire.witness.server import WitnessNode, create_app, open_state
from centers import forge_entry, grow


class Recorder:
    """An ASGI wrapper remembering the status of every answer (to see a 409 happen)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.statuses: list[int] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.statuses.append(message["status"])
            await send(message)

        await self.app(scope, receive, record)


class Rendezvous:
    """A witness state whose first two reads wait for each other.

    Two requests are then checked against the same head, as in the race the spec describes;
    only the compare-and-swap can tell them apart.
    """

    def __init__(self, state: WitnessState) -> None:
        self.state = state
        self.barrier = threading.Barrier(2, timeout=60)  # a safety net, not a measure
        self.armed = 2
        self.lock = threading.Lock()

    def latest(self, origin: str) -> TreeHead | None:
        head = self.state.latest(origin)
        with self.lock:
            wait, self.armed = self.armed > 0, self.armed - 1
        if wait:
            self.barrier.wait()
        return head

    def compare_and_swap(self, origin: str, expected: TreeHead | None, new: TreeHead) -> bool:
        return self.state.compare_and_swap(origin, expected, new)


class Node:
    """A contingent's node: its key directory, its state file, its witness server."""

    def __init__(self, directory: Path, contingent: str) -> None:
        self.directory = directory
        self.contingent = contingent
        self.state_file = directory / "witness.db"
        self.url = ""

    def start(self, rendezvous: bool = False) -> None:
        """Serve as `ceasefire witness serve --key DIR --state FILE` does, on a fresh port."""
        self.server = WitnessNode(self.directory, self.state_file)
        if rendezvous:
            state = Rendezvous(self.server.state)
            self.server.app = create_app(Witness(self.server.signer, self.server.logs, state))
        self.recorder = Recorder(self.server.app)
        self.server.app = self.recorder
        self.url = self.server.start().url

    def stop(self) -> None:
        self.server.stop()

    def latest(self, origin: str) -> TreeHead | None:
        """What the node's state file says, read afresh."""
        state = open_state(self.state_file, self.server.signer.name)
        try:
            return state.latest(origin)
        finally:
            state.engine.dispose()


@pytest.fixture
def nodes(tmp_path: Path, demo_mission: Mission) -> Iterator[dict[str, Node]]:
    """Each contingent's node with its own key, the center's verifier key, a running witness."""
    origin = origin_of(demo_mission.id)
    center = tmp_path / "center"
    init_key(center, origin, CENTER)
    started: dict[str, Node] = {}
    try:
        for c in demo_mission.contingent_ids():
            node = Node(tmp_path / c, c)
            init_key(node.directory, origin, c)
            shutil.copy(center / f"{CENTER}.vkey", node.directory)  # handed over at setup
            shutil.copy(node.directory / f"{c}.vkey", center)  # and the other way round
            node.start()
            started[c] = node
        yield started
    finally:
        for node in started.values():
            node.server.signal_stop()  # together, not one after the other
        for node in started.values():
            node.stop()


@pytest.fixture
def ring(tmp_path: Path, demo_mission: Mission, nodes: dict[str, Node]) -> KeyRing:
    """The center's keys: its own signer key, the contingents' verifier keys and witness URLs."""
    lines = [f'{c} = "{node.url}"' for c, node in nodes.items()]
    (tmp_path / "center" / WITNESSES_FILE).write_text("\n".join(lines) + "\n")
    return load_keys(tmp_path / "center", origin_of(demo_mission.id), demo_mission.contingent_ids())


def truncate(engine: sa.Engine, size: int) -> None:
    with engine.begin() as db:
        db.execute(sa.text('DELETE FROM ledger WHERE "index" >= :n'), {"n": size})
        db.execute(sa.text("UPDATE ledger_head SET size = :n"), {"n": size})


def count(engine: sa.Engine) -> int:
    with engine.connect() as db:
        return int(db.execute(sa.select(sa.func.count()).select_from(checkpoints)).scalar_one())


def request_for(engine: sa.Engine, ring: KeyRing, old: int) -> bytes:
    """An add-checkpoint body for the log as it is now, signed by the center, from ``old``."""
    with engine.connect() as db:
        tree = log.read_tree(db)
    size = tree.size
    signed = sign_checkpoint(Checkpoint(ring.origin, size, tree.tree.root(size)), ring.signer())
    proof = tuple(tree.tree.consistency_proof(old, size)) if old else ()
    return AddCheckpointRequest(old, proof, signed.encode()).encode()


def post(node: Node, body: bytes) -> httpx.Response:
    return httpx.post(node.url + "/add-checkpoint", content=body)


def test_each_contingent_cosigns_on_its_own_node(
    engine: sa.Engine, ring: KeyRing, nodes: dict[str, Node], demo_mission: Mission
) -> None:
    assert ring.cosigners == {} and ring.log_signer is not None  # only public contingent keys
    assert sorted(p.name for p in ring.directory.glob("*.skey")) == ["center.skey"]
    grow(engine, 5)
    first = make_checkpoint(engine, ring, remote=WitnessClient)
    assert first.size == 8  # 5 entries and the three keys
    verified = verify_checkpoint(first.note, ring)
    assert sorted(verified.cosigned_at) == sorted(demo_mission.contingent_ids())
    for node in nodes.values():
        assert node.latest(ring.origin) == TreeHead(8, first.root_hash)
        assert node.recorder.statuses == [200]
    grow(engine, 3, 5)
    second = make_checkpoint(engine, ring, remote=WitnessClient)
    assert second.size == 11
    verify_checkpoint(second.note, ring)
    assert (
        make_checkpoint(engine, ring, remote=WitnessClient) == second
    )  # nothing new: nobody is asked
    for node in nodes.values():
        assert node.latest(ring.origin) == TreeHead(11, second.root_hash)
        assert node.recorder.statuses == [200, 200]


def test_the_centers_checkpointer_asks_the_witnesses_on_their_nodes(
    engine: sa.Engine, ring: KeyRing, nodes: dict[str, Node], demo_mission: Mission
) -> None:
    center = Center(
        Settings(keys=ring.directory), mission=demo_mission, engine=engine, capabilities=()
    )
    grow(engine, 5)
    job = Checkpointer(center, every=3600)
    job.once()
    [stored] = stored_checkpoints_of(engine)
    assert stored.size == 8 and job.made == 1
    verified = verify_checkpoint(stored.note, ring)
    assert sorted(verified.cosigned_at) == sorted(demo_mission.contingent_ids())
    for node in nodes.values():
        assert node.latest(ring.origin) == TreeHead(8, stored.root_hash)


def stored_checkpoints_of(engine: sa.Engine) -> list[Any]:
    with engine.connect() as db:
        return stored_checkpoints(db)


def test_a_witness_refuses_a_rollback_naming_its_contingent(
    engine: sa.Engine, ring: KeyRing, demo_mission: Mission
) -> None:
    grow(engine, 6)
    assert make_checkpoint(engine, ring, remote=WitnessClient).size == 9
    grow(engine, 3, 6)
    assert make_checkpoint(engine, ring, remote=WitnessClient).size == 12
    truncate(engine, 10)
    with pytest.raises(CheckpointRefusedError, match="rollback") as refused:
        make_checkpoint(engine, ring, remote=WitnessClient)
    assert refused.value.contingent == demo_mission.contingent_ids()[0]
    assert refused.value.error.latest_size == 12
    assert f"contingent {refused.value.contingent} refused" in str(refused.value)
    assert count(engine) == 2


def test_a_fork_and_a_rewritten_past_are_refused(
    engine: sa.Engine, ring: KeyRing, demo_mission: Mission
) -> None:
    grow(engine, 6)
    assert make_checkpoint(engine, ring, remote=WitnessClient).size == 9
    with engine.begin() as db:
        forge_entry(db, 4)
    # Same size, another root: a fork (409, the witness's size is the one sent).
    with pytest.raises(CheckpointRefusedError, match="fork") as refused:
        make_checkpoint(engine, ring, remote=WitnessClient)
    assert refused.value.contingent == demo_mission.contingent_ids()[0]
    assert refused.value.error.status == 409
    # Grown on top of the rewritten past: the consistency proof fails (422).
    grow(engine, 2, 6)
    with pytest.raises(CheckpointRefusedError, match="inconsistent") as refused:
        make_checkpoint(engine, ring, remote=WitnessClient)
    assert refused.value.error.status == 422
    assert count(engine) == 1


def test_a_witness_that_moved_on_answers_409_and_the_center_retries(
    engine: sa.Engine, ring: KeyRing, nodes: dict[str, Node]
) -> None:
    grow(engine, 5)
    assert make_checkpoint(engine, ring, remote=WitnessClient).size == 8
    tr = nodes["TR"]
    grow(engine, 3, 5)
    assert post(tr, request_for(engine, ring, 8)).status_code == 200  # TR is at 11 now
    grow(engine, 2, 8)
    done = make_checkpoint(engine, ring, remote=WitnessClient)  # the center still thinks TR is at 8
    assert done.size == 13
    verify_checkpoint(done.note, ring)
    assert tr.recorder.statuses == [200, 200, 409, 200]  # told its size, asked again
    assert nodes["RU"].recorder.statuses == [200, 200]
    stale = post(tr, request_for(engine, ring, 0))
    assert stale.status_code == 409
    assert stale.headers["content-type"] == SIZE_TYPE
    assert stale.text == "13\n"


def test_two_requests_checked_against_the_same_head_one_gets_409_then_retries(
    engine: sa.Engine, ring: KeyRing, nodes: dict[str, Node]
) -> None:
    grow(engine, 5)
    assert make_checkpoint(engine, ring, remote=WitnessClient).size == 8
    ru = nodes["RU"]
    ru.stop()
    ru.start(rendezvous=True)
    ring.witnesses["RU"] = ru.url
    grow(engine, 3, 5)
    made: list[int] = []
    errors: list[BaseException] = []

    def checkpointer() -> None:
        try:
            made.append(make_checkpoint(engine, ring, reuse=False, remote=WitnessClient).size)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=checkpointer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and made == [11, 11]
    # Both checked against size 8; the swap let one win, the other was told 11 and asked again.
    assert sorted(ru.recorder.statuses) == [200, 200, 409]
    with engine.connect() as db:
        for cp in stored_checkpoints(db):
            verify_checkpoint(cp.note, ring)


def test_checkpoints_made_at_once_all_count(
    engine: sa.Engine, ring: KeyRing, nodes: dict[str, Node]
) -> None:
    latest = checkpoints_while_appending(engine, ring, WitnessClient)
    for node in nodes.values():
        head = node.latest(ring.origin)
        assert head is not None and head.size == latest.size
        assert set(node.recorder.statuses) <= {200, 409}


def test_malformed_requests_are_refused_and_the_witness_keeps_serving(
    engine: sa.Engine, ring: KeyRing, nodes: dict[str, Node], tmp_path: Path
) -> None:
    grow(engine, 3)
    make_checkpoint(engine, ring, remote=WitnessClient)  # size 6
    grow(engine, 2, 3)
    good = request_for(engine, ring, 6)
    note = good.split(b"\n\n", 1)[1]
    impostor = Ed25519Signer.generate(ring.origin)  # the log's name, another key
    other_log = Ed25519Signer.generate("example.org/other-log")
    checkpoint = Checkpoint.parse(note.decode().split("\n\n")[0] + "\n")
    bodies = {
        b"": 400,
        b"hello": 400,
        b"old 01\n\n" + note: 400,
        b"old 6\nnot base64!\n\n" + note: 400,
        b"old 6\n" + b"QUFB\n" + b"\n" + note: 400,  # a proof line that is not 32 bytes
        b"old 0\n\n\xff\xfe\n": 400,
        b"old 0\n\nceasefire/karabakh-2020\n8\n": 400,  # no signature
        b"old 9\n\n" + note: 400,  # old size above the checkpoint's
        b"old 0\n\n"
        + sign_checkpoint(
            Checkpoint("example.org/other-log", 1, bytes(32)), other_log
        ).encode(): 404,
        b"old 0\n\n" + sign_checkpoint(checkpoint, impostor).encode(): 403,
        good.replace(good.split(b"\n")[1], b"A" * 43 + b"="): 422,  # a wrong proof hash
        b"x" * (MAX_REQUEST_BYTES + 1): 413,
    }
    for node in nodes.values():
        for body, status in bodies.items():
            answer = post(node, body)
            assert answer.status_code == status, (body[:40], answer.text)
        assert httpx.get(node.url + "/add-checkpoint").status_code == 405
        assert node.latest(ring.origin) is not None
        assert node.latest(ring.origin).size == 6  # type: ignore[union-attr]
    done = make_checkpoint(engine, ring, remote=WitnessClient)  # still serving, still remembering
    assert done.size == 8
    verify_checkpoint(done.note, ring)


def test_a_restarted_witness_remembers_what_it_cosigned(
    engine: sa.Engine, ring: KeyRing, nodes: dict[str, Node]
) -> None:
    grow(engine, 6)
    make_checkpoint(engine, ring, remote=WitnessClient)
    grow(engine, 3, 6)
    twelve = make_checkpoint(engine, ring, remote=WitnessClient)
    ru = nodes["RU"]
    ru.stop()
    assert ru.latest(ring.origin) == TreeHead(12, twelve.root_hash)
    ru.start()  # the same key and state file, another port
    ring.witnesses["RU"] = ru.url
    assert post(ru, request_for(engine, ring, 0)).text == "12\n"  # 409: it remembers 12
    grow(engine, 2, 9)
    assert make_checkpoint(engine, ring, remote=WitnessClient).size == 14
    assert ru.recorder.statuses == [409, 200]  # the center's idea (12... now 14) was right
    truncate(engine, 13)
    with pytest.raises(CheckpointRefusedError, match="rollback") as refused:
        make_checkpoint(engine, ring, remote=WitnessClient)
    assert refused.value.contingent == "RU"


def test_an_unreachable_a_wrong_and_a_missing_witness_are_named(
    engine: sa.Engine, ring: KeyRing, nodes: dict[str, Node]
) -> None:
    grow(engine, 2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    good = ring.witnesses["TR"]
    ring.witnesses["TR"] = closed  # nothing listens there any more
    with pytest.raises(CheckpointRefusedError, match="unreachable") as refused:
        make_checkpoint(engine, ring, remote=WitnessClient)
    assert refused.value.contingent == "TR"
    assert "no cosignature from the witness of contingent TR" in str(refused.value)

    # A witness cosigning with a key the center does not know for TR: not a cosignature of TR.
    ring.witnesses["TR"] = good
    real = ring.cosigner_verifiers["TR"]
    ring.cosigner_verifiers["TR"] = CosignatureSigner.generate(real.name).verifier()
    with pytest.raises(CheckpointRefusedError, match="bad-answer"):
        make_checkpoint(engine, ring, remote=WitnessClient)
    ring.cosigner_verifiers["TR"] = real

    del ring.witnesses["TR"]
    with pytest.raises(KeyFileError, match=WITNESSES_FILE):
        make_checkpoint(engine, ring, remote=WitnessClient)
    assert count(engine) == 0


def test_witnesses_toml_is_checked(tmp_path: Path, demo_mission: Mission) -> None:
    origin = origin_of(demo_mission.id)
    folder = tmp_path / "center"
    init_key(folder, origin, CENTER)
    for c in demo_mission.contingent_ids():
        init_key(tmp_path / c, origin, c)
        shutil.copy(tmp_path / c / f"{c}.vkey", folder)
    assert init_key(folder, origin, "RU") is False  # a handed-over vkey is kept, not replaced
    file = folder / WITNESSES_FILE
    cases = {
        'RU = "http://10.0.1.5:8180/"\n': None,
        'XX = "http://10.0.1.5:8180"\n': "not a contingent",
        'RU = "ftp://10.0.1.5"\n': "not a witness URL",
        "RU = 8180\n": "must be a URL",
        "RU = \n": "not valid TOML",
    }
    for text, problem in cases.items():
        file.write_text(text)
        if problem is None:
            ring = load_keys(folder, origin, demo_mission.contingent_ids())
            assert ring.witnesses == {"RU": "http://10.0.1.5:8180"}
            assert ring.cosigners == {}
        else:
            with pytest.raises(KeyFileError, match=problem):
                load_keys(folder, origin, demo_mission.contingent_ids())


def test_witness_state_is_a_compare_and_swap_in_its_own_file(tmp_path: Path) -> None:
    state = open_state(tmp_path / "node" / "witness.db", "ceasefire/x/RU")
    assert isinstance(state, DatabaseWitnessState)
    one, two = TreeHead(1, b"\x01" * 32), TreeHead(2, b"\x02" * 32)
    assert state.compare_and_swap("o", None, one)
    assert not state.compare_and_swap("o", None, two)
    assert state.compare_and_swap("o", one, two)
    state.engine.dispose()
    again = open_state(tmp_path / "node" / "witness.db", "ceasefire/x/RU")
    assert again.latest("o") == two
    again.engine.dispose()


# The command line: `witness init`, `witness serve`, `checkpoint --witness`.


def test_cli_witness_init_checkpoint_and_serve(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, nodes: dict[str, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    node_dir = tmp_path / "node-TR"
    made = cli("witness", "init", "TR", "--dir", str(node_dir))
    assert made.code == 0, made.err
    assert sorted(p.name for p in node_dir.iterdir()) == ["TR.skey", "TR.vkey"]
    assert made.out.strip() == (node_dir / "TR.vkey").read_text().strip()
    again = cli("witness", "init", "TR", "--dir", str(node_dir))
    assert again.code == 0 and again.out == made.out  # the key is kept
    assert cli("witness", "init", "XX", "--dir", str(node_dir)).code == 1

    # A center's directory with the contingents' vkeys: `keys init` adds only its own key.
    other = tmp_path / "other-center"
    other.mkdir()
    for c in nodes:
        shutil.copy(tmp_path / c / f"{c}.vkey", other)
    created = cli("keys", "init", "--dir", str(other))
    assert created.code == 0, created.err
    assert sorted(p.name for p in other.glob("*.skey")) == ["center.skey"]

    center = tmp_path / "center"  # the one the running nodes know
    db = str(tmp_path / "center.db")
    none = cli("checkpoint", "--db", db, "--keys", str(center))
    assert none.code == 1 and WITNESSES_FILE in none.err
    witnesses = [a for c, n in nodes.items() for a in ("--witness", f"{c}={n.url}")]
    done = cli("checkpoint", "--db", db, "--keys", str(center), *witnesses)
    assert done.code == 0, done.err
    assert done.out.count("\n— ") == 3
    missing = cli("checkpoint", "--db", db, "--keys", str(center), "--witness", "RU=x")
    assert missing.code == 1 and "not a witness URL" in missing.err
    unknown = cli("checkpoint", "--db", db, "--keys", str(center), "--witness", "XX=http://a")
    assert unknown.code == 1 and "CONTINGENT=URL" in unknown.err
    rotate = cli("keys", "rotate", "TR", "--dir", str(center), "--db", db)
    assert rotate.code == 1 and "not held here" in rotate.err  # its key is on its node

    # `witness serve`: the application it would run, asked in process.
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    shutil.copy(center / f"{CENTER}.vkey", node_dir)
    state = tmp_path / "node-TR" / "witness.db"
    ran = cli("witness", "serve", "--key", str(node_dir), "--state", str(state), "--port", "9")
    assert ran.code == 0, ran.err
    assert (served["host"], served["port"]) == ("127.0.0.1", 9)
    assert "add-checkpoint" in ran.out
    from starlette.testclient import TestClient

    ring = load_keys(center, "ceasefire/karabakh-2020", ["RU", "TR"])
    engine = sa.create_engine(f"sqlite:///{db}")
    with TestClient(served["app"]) as client:
        answer = client.post("/add-checkpoint", content=request_for(engine, ring, 0))
    engine.dispose()
    assert answer.status_code == 200 and answer.text.startswith("— ceasefire/karabakh-2020/TR ")

    shutil.copy(tmp_path / "RU" / "RU.skey", node_dir)  # two signer keys: which one?
    two = cli("witness", "serve", "--key", str(node_dir), "--state", str(state))
    assert two.code == 1 and "name the .skey file" in two.err
    bad_log = cli(
        "witness", "serve", "--key", str(node_dir / "TR.skey"), "--state", str(state),
        "--log-key", str(node_dir / "TR.vkey"),
    )  # fmt: skip
    assert bad_log.code == 1 and "no log verifier key" in bad_log.err

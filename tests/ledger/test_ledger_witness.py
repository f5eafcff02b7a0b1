"""The witness: cosigns consistent growth, refuses rollback, forks and rewrites, wins races."""

from __future__ import annotations

import hashlib
import threading

import pytest
from ledger_vectors import SPEC_CHECKPOINT_TEXT, SPEC_WITNESS_REQUEST

from ceasefire.ledger import (
    EMPTY_ROOT,
    AddCheckpointRequest,
    BadRequestError,
    Checkpoint,
    ConflictError,
    CosignatureSigner,
    Ed25519Signer,
    ForkError,
    InconsistentError,
    LogSignatureError,
    MemoryWitnessState,
    MerkleTree,
    RollbackError,
    TreeHead,
    UnknownLogError,
    Witness,
    WitnessError,
    cosignature_timestamp,
    leaf_hash,
    open_note,
    sign_checkpoint,
    verify_cosigned_checkpoint,
)

ORIGIN = "ceasefire.example/aghdam-jmc"
LOG = Ed25519Signer(ORIGIN, hashlib.sha256(b"log").digest())
IMPOSTOR = Ed25519Signer(ORIGIN, hashlib.sha256(b"impostor").digest())
HISTORY = MerkleTree(leaf_hash(b"record %d" % i) for i in range(64))
FORK = MerkleTree(
    [*(HISTORY.leaf(i) for i in range(10)), *(leaf_hash(b"x%d" % i) for i in range(54))]
)


def note(tree: MerkleTree, size: int, signer: Ed25519Signer = LOG) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, tree.root(size)), signer)


def make_witness(state: MemoryWitnessState | None = None) -> tuple[Witness, CosignatureSigner]:
    signer = CosignatureSigner("ru.jmc.example/witness", bytes(range(32)), lambda: 1700000000)
    return Witness(signer, {ORIGIN: [LOG.verifier()]}, state), signer


def grow(w: Witness, tree: MerkleTree, old: int, new: int) -> None:
    w.add_checkpoint(note(tree, new), old, tree.consistency_proof(old, new))


def test_first_checkpoint_and_consistent_growth_are_cosigned() -> None:
    w, signer = make_witness()
    assert w.latest(ORIGIN) is None
    cosig = w.add_checkpoint(note(HISTORY, 5), 0, [])
    assert (cosig.name, cosig.key_id) == (signer.name, signer.key_id)
    assert cosignature_timestamp(cosig) == 1700000000
    assert w.latest(ORIGIN) == TreeHead(5, HISTORY.root(5))
    for old, new in [(5, 8), (8, 13), (13, 13), (13, 64)]:
        sig = w.add_checkpoint(note(HISTORY, new), old, HISTORY.consistency_proof(old, new))
        full = note(HISTORY, new) + sig.line()
        done = verify_cosigned_checkpoint(full, LOG.verifier(), [signer.verifier()])
        assert done.checkpoint.size == new
    assert w.latest(ORIGIN) == TreeHead(64, HISTORY.root())


def test_rollback_is_refused() -> None:
    w, _ = make_witness()
    grow(w, HISTORY, 0, 20)
    with pytest.raises(RollbackError) as info:
        w.add_checkpoint(note(HISTORY, 10), 10, [])
    assert (info.value.status, info.value.reason, info.value.latest_size) == (409, "rollback", 20)
    with pytest.raises(RollbackError) as info:
        w.add_checkpoint(note(HISTORY, 10), 20, [])
    assert info.value.status == 400  # old size above the checkpoint's: the spec's 400
    with pytest.raises(BadRequestError):
        w.add_checkpoint(note(HISTORY, 30), 31, [])
    assert w.latest(ORIGIN) == TreeHead(20, HISTORY.root(20))


def test_same_size_fork_is_refused() -> None:
    w, _ = make_witness()
    grow(w, HISTORY, 0, 20)
    with pytest.raises(ForkError) as info:
        w.add_checkpoint(note(FORK, 20), 20, [])
    assert (info.value.status, info.value.reason, info.value.latest_size) == (409, "fork", 20)
    # The same checkpoint again is fine (a fresh cosignature, nothing changes).
    w.add_checkpoint(note(HISTORY, 20), 20, [])
    assert w.latest(ORIGIN) == TreeHead(20, HISTORY.root(20))


def test_inconsistent_growth_is_refused() -> None:
    w, _ = make_witness()
    grow(w, HISTORY, 0, 20)
    # The fork shares the first 10 leaves only: its own proof cannot bridge from size 20.
    for proof in [FORK.consistency_proof(20, 30), HISTORY.consistency_proof(20, 30), []]:
        with pytest.raises(InconsistentError) as info:
            w.add_checkpoint(note(FORK, 30), 20, proof)
        assert info.value.status == 422
    tampered = HISTORY.consistency_proof(20, 30)
    tampered[0] = bytes([tampered[0][0] ^ 1]) + tampered[0][1:]
    with pytest.raises(InconsistentError):
        w.add_checkpoint(note(HISTORY, 30), 20, tampered)
    with pytest.raises(InconsistentError):  # a proof must be empty from size 0
        make_witness()[0].add_checkpoint(note(HISTORY, 5), 0, HISTORY.consistency_proof(1, 5))
    assert w.latest(ORIGIN) == TreeHead(20, HISTORY.root(20))
    grow(w, HISTORY, 20, 30)  # the honest history still goes on


def test_stale_old_size_gets_the_latest_size() -> None:
    w, _ = make_witness()
    grow(w, HISTORY, 0, 20)
    with pytest.raises(ConflictError) as info:
        grow(w, HISTORY, 10, 30)
    assert (info.value.status, info.value.reason, info.value.latest_size) == (
        409,
        "old-size-mismatch",
        20,
    )


def test_unknown_log_and_bad_log_signature() -> None:
    w, _ = make_witness()
    stranger = Ed25519Signer("other.example/log", bytes(32))
    cp = Checkpoint("other.example/log", 1, HISTORY.root(1))
    with pytest.raises(UnknownLogError) as info:
        w.add_checkpoint(sign_checkpoint(cp, stranger), 0, [])
    assert info.value.status == 404
    with pytest.raises(LogSignatureError) as info2:
        w.add_checkpoint(note(HISTORY, 5, IMPOSTOR), 0, [])
    assert info2.value.status == 403
    forged = note(HISTORY, 5).replace("\n5\n", "\n6\n")
    with pytest.raises(LogSignatureError):
        w.add_checkpoint(forged, 0, [])
    for bad in ["not a note", note(HISTORY, 5).replace("\n5\n", "\n05\n")]:
        with pytest.raises(BadRequestError):
            w.add_checkpoint(bad, 0, [])
    with pytest.raises(BadRequestError):
        w.add_checkpoint(note(HISTORY, 5), 0, [b"\x00" * 31])
    with pytest.raises(BadRequestError):
        w.add_checkpoint(note(HISTORY, 5), -1, [])
    assert w.latest(ORIGIN) is None


def test_empty_log_checkpoint() -> None:
    w, _ = make_witness()
    w.add_checkpoint(sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT), LOG), 0, [])
    assert w.latest(ORIGIN) == TreeHead(0, EMPTY_ROOT)
    with pytest.raises(ForkError):
        w.add_checkpoint(sign_checkpoint(Checkpoint(ORIGIN, 0, bytes(32)), LOG), 0, [])
    grow(w, HISTORY, 0, 3)


class InterleavingState(MemoryWitnessState):
    """Runs another submission between a request's read of the state and its swap."""

    def __init__(self) -> None:
        super().__init__()
        self.before_swap: list[object] = []

    def compare_and_swap(self, origin: str, expected: TreeHead | None, new: TreeHead) -> bool:
        while self.before_swap:
            action = self.before_swap.pop()
            assert callable(action)
            action()
        return super().compare_and_swap(origin, expected, new)


def test_race_against_the_same_old_size_cannot_roll_back() -> None:
    """The tlog-witness race: A (to N) and B (to N+K) both checked against the old size.

    B's swap lands between A's check and A's swap; A's swap must then fail, or the witness
    would go back from N+K to N and later cosign a fork of the K leaves.
    """
    state = InterleavingState()
    w, _ = make_witness(state)
    grow(w, HISTORY, 0, 10)
    state.before_swap.append(lambda: grow(w, HISTORY, 10, 40))  # B
    with pytest.raises(ConflictError) as info:
        grow(w, HISTORY, 10, 20)  # A
    assert info.value.latest_size == 40
    assert w.latest(ORIGIN) == TreeHead(40, HISTORY.root(40))


def test_concurrent_submissions_from_one_old_size_have_one_winner() -> None:
    w, _ = make_witness()
    grow(w, HISTORY, 0, 10)
    barrier = threading.Barrier(12)
    results: list[int | WitnessError] = []
    lock = threading.Lock()

    def submit(new: int) -> None:
        barrier.wait()
        try:
            grow(w, HISTORY, 10, new)
            outcome: int | WitnessError = new
        except WitnessError as e:
            outcome = e
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=submit, args=(11 + i * 4,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1
    assert all(isinstance(r, ConflictError) for r in results if not isinstance(r, int))
    assert w.latest(ORIGIN) == TreeHead(winners[0], HISTORY.root(winners[0]))


# --- the add-checkpoint request body -----------------------------------------------------------


def test_spec_request_body_parses() -> None:
    req = AddCheckpointRequest.parse(SPEC_WITNESS_REQUEST.encode())
    assert req.old_size == 20852014
    assert len(req.proof) == 4 and all(len(h) == 32 for h in req.proof)
    assert req.checkpoint.decode().startswith(SPEC_CHECKPOINT_TEXT)
    assert req.encode() == SPEC_WITNESS_REQUEST.encode()


def test_handle_serves_a_request_whose_response_completes_the_checkpoint() -> None:
    w, signer = make_witness()
    grow(w, HISTORY, 0, 10)
    cp = note(HISTORY, 25)
    body = AddCheckpointRequest(10, tuple(HISTORY.consistency_proof(10, 25)), cp.encode())
    response = w.handle(body.encode())
    opened = open_note(cp + response, [signer.verifier()])
    assert [s.name for s in opened.verified] == [signer.name]


@pytest.mark.parametrize(
    "body",
    [
        b"old 10\n" + b"x" * 10,  # no empty line
        b"old 010\n\nnote",
        b"old -1\n\nnote",
        b"older 1\n\nnote",
        b"old 1\nnot base64!\n\nnote",
        b"old 1\n" + b"AAAA\n" + b"\nnote",  # not 32 bytes
        b"old 1\n" + b"A" * 43 + b"=\n" * 64 + b"\nnote",  # too many lines
        b"old 1\n\n\xff",
        b"old 1\n\n" + b"x" * (1 << 17),
    ],
)
def test_malformed_requests_are_bad_requests(body: bytes) -> None:
    with pytest.raises(BadRequestError) as info:
        AddCheckpointRequest.parse(body)
    assert info.value.status == 400

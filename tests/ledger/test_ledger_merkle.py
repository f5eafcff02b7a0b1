"""RFC 9162 Merkle trees: published vectors, a naive oracle, mutated proofs, speed."""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Callable, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_vectors import CONSISTENCY, EMPTY_ROOT, INCLUSION, LEAVES, ROOTS

from ceasefire.ledger import EMPTY_ROOT as LIB_EMPTY_ROOT
from ceasefire.ledger import (
    MAX_PROOF_HASHES,
    LedgerError,
    MalformedProofError,
    MerkleTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def h(hexes: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(x) for x in hexes]


LEAF_HASHES = [leaf_hash(d) for d in LEAVES]


# --- the naive oracle: RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1 written as recursion ---------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(d: Sequence[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return d[0]
    k = _k(n)
    return hashlib.sha256(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:])).digest()


def naive_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [naive_mth(d)]
    k = _k(n)
    if m <= k:
        return [*naive_subproof(m, d[:k], b), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], False), naive_mth(d[:k])]


def naive_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    return naive_subproof(m, d, True)


# --- published vectors ------------------------------------------------------------------------


def test_leaf_and_node_hash_prefixes() -> None:
    assert leaf_hash(b"").hex() == ROOTS[0]
    assert node_hash(LEAF_HASHES[0], LEAF_HASHES[1]).hex() == ROOTS[1]
    with pytest.raises(MalformedProofError):
        node_hash(b"\x00" * 31, LEAF_HASHES[0])


def test_roots_of_every_size_match_the_reference() -> None:
    assert root_hash([]).hex() == EMPTY_ROOT == LIB_EMPTY_ROOT.hex()
    tree = MerkleTree(LEAF_HASHES)
    assert tree.root(0).hex() == EMPTY_ROOT
    for n in range(1, 9):
        assert root_hash(LEAF_HASHES[:n]).hex() == ROOTS[n - 1]
        assert tree.root(n).hex() == ROOTS[n - 1]
        assert naive_mth(LEAF_HASHES[:n]).hex() == ROOTS[n - 1]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_reference_inclusion_proofs(index: int, size: int, proof: list[str]) -> None:
    tree = MerkleTree(LEAF_HASHES)
    assert tree.inclusion_proof(index, size) == h(proof)
    assert inclusion_proof(LEAF_HASHES[:size], index) == h(proof)
    root = bytes.fromhex(ROOTS[size - 1])
    verify_inclusion(LEAF_HASHES[index], index, size, h(proof), root)
    assert root_from_inclusion_proof(LEAF_HASHES[index], index, size, h(proof)) == root


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_reference_consistency_proofs(old: int, new: int, proof: list[str]) -> None:
    tree = MerkleTree(LEAF_HASHES)
    assert tree.consistency_proof(old, new) == h(proof)
    assert consistency_proof(LEAF_HASHES[:new], old) == h(proof)
    verify_consistency(
        old, new, bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1]), h(proof)
    )


def _inclusion_probes(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[str, Callable[[], None]]]:
    """The corruptions of transparency-dev/merkle's verifier tests, and a few more."""
    some = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
    probes: list[tuple[str, Callable[[], None]]] = [
        ("index - 1", lambda: verify_inclusion(leaf, index - 1, size, proof, root)),
        ("index + 1", lambda: verify_inclusion(leaf, index + 1, size, proof, root)),
        ("index ^ 2", lambda: verify_inclusion(leaf, index ^ 2, size, proof, root)),
        ("size * 2", lambda: verify_inclusion(leaf, index, size * 2, proof, root)),
        ("size // 2", lambda: verify_inclusion(leaf, index, size // 2, proof, root)),
        ("wrong leaf", lambda: verify_inclusion(some, index, size, proof, root)),
        ("empty root", lambda: verify_inclusion(leaf, index, size, proof, LIB_EMPTY_ROOT)),
        ("random root", lambda: verify_inclusion(leaf, index, size, proof, some)),
        ("trailing root", lambda: verify_inclusion(leaf, index, size, [*proof, root], root)),
        ("preceding root", lambda: verify_inclusion(leaf, index, size, [root, *proof], root)),
        ("short leaf", lambda: verify_inclusion(leaf[:31], index, size, proof, root)),
        ("long root", lambda: verify_inclusion(leaf, index, size, proof, root + b"\x00")),
    ]

    def flipped(i: int) -> Callable[[], None]:
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        return lambda: verify_inclusion(leaf, index, size, bad, root)

    probes += [(f"proof[{i}] bit 3", flipped(i)) for i in range(len(proof))]
    if proof:
        probes.append(("removed", lambda: verify_inclusion(leaf, index, size, proof[:-1], root)))
    if len(proof) > 1:
        ins = [proof[0], some, *proof[1:]]
        probes.append(("inserted", lambda: verify_inclusion(leaf, index, size, ins, root)))
    return probes


@pytest.mark.parametrize(("index", "size", "proof"), [v for v in INCLUSION if v[1] > 1])
def test_corrupted_reference_inclusion_proofs_fail(index: int, size: int, proof: list[str]) -> None:
    root = bytes.fromhex(ROOTS[size - 1])
    for desc, probe in _inclusion_probes(index, size, h(proof), root, LEAF_HASHES[index]):
        with pytest.raises(ProofError):
            probe()
            pytest.fail(f"verified against {desc}")


@pytest.mark.parametrize(("old", "new", "proof"), [v for v in CONSISTENCY if v[2]])
def test_corrupted_reference_consistency_proofs_fail(old: int, new: int, proof: list[str]) -> None:
    p = h(proof)
    r1, r2 = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
    probes: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
        (old - 1, new, r1, r2, p),
        (old + 1, new, r1, r2, p),
        (old ^ 2, new, r1, r2, p),
        (old, new * 2, r1, r2, p),
        (old, new // 2, r1, r2, p),
        (old, new, r2, r1, p),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*p, r1]),
        (old, new, r1, r2, [*p, r2]),
        (old, new, r1, r2, [r1, *p]),
        (old, new, r1, r2, [r2, *p]),
        (old, new, r1, r2, [p[0], *p]),
        (old, new, r1, r2, p[:-1]),
    ]
    for i in range(len(p)):
        bad = list(p)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append((old, new, r1, r2, bad))
    for probe in probes:
        with pytest.raises(ProofError):
            verify_consistency(*probe)
            pytest.fail(f"verified against {probe[:2]}")


def test_consistency_edge_cases() -> None:
    r1, r2 = bytes.fromhex(ROOTS[0]), bytes.fromhex(ROOTS[1])
    verify_consistency(0, 0, LIB_EMPTY_ROOT, LIB_EMPTY_ROOT, [])
    verify_consistency(0, 5, LIB_EMPTY_ROOT, r2, [])
    verify_consistency(1, 1, r1, r1, [])
    for args in [
        (1, 1, r1, r2, []),  # same size, two roots
        (0, 1, LIB_EMPTY_ROOT, r1, [r1]),  # proof from empty must be empty
        (0, 1, r2, r1, []),  # the empty tree has one root
        (1, 1, r1, r1, [r1]),  # equal sizes need an empty proof
        (1, 2, r1, r2, []),  # growth needs a proof
    ]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    with pytest.raises(MalformedProofError):
        verify_consistency(2, 1, r1, r2, [])  # time travel


def test_malformed_inputs_are_refused_with_reasons() -> None:
    leaf, root = LEAF_HASHES[0], bytes.fromhex(ROOTS[0])
    with pytest.raises(MalformedProofError, match="not below"):
        verify_inclusion(leaf, 1, 1, [], root)
    with pytest.raises(MalformedProofError, match="not below"):
        verify_inclusion(leaf, 0, 0, [], root)
    with pytest.raises(MalformedProofError, match="32 bytes"):
        verify_inclusion(leaf, 0, 2, [b"\x00" * 33], root)
    with pytest.raises(MalformedProofError, match="limit"):
        verify_inclusion(leaf, 0, 2, [leaf] * (MAX_PROOF_HASHES + 1), root)
    with pytest.raises(MalformedProofError, match="limit"):
        verify_consistency(1, 2, root, root, [leaf] * (MAX_PROOF_HASHES + 1))
    with pytest.raises(MalformedProofError):
        verify_inclusion(leaf, -1, 2, [leaf], root)
    with pytest.raises(MalformedProofError):
        verify_inclusion(leaf, 0, 1 << 64, [], root)


def test_a_proof_binds_the_path_and_the_root_binds_the_size() -> None:
    """Documented behaviour of RFC 9162 verification, not a bug in this code.

    A proof for leaf 0 of a tree of 4 leaves takes the same path as one for leaf 0 of a tree of
    3, so it also "verifies" for size 3 *with the size-4 root*. The size is bound to the root by
    the signed checkpoint, which is why callers must take size and root from the same one.
    """
    tree = MerkleTree(LEAF_HASHES)
    proof = tree.inclusion_proof(0, 4)
    verify_inclusion(LEAF_HASHES[0], 0, 3, proof, tree.root(4))
    with pytest.raises(ProofError):
        verify_inclusion(LEAF_HASHES[0], 0, 3, proof, tree.root(3))


# --- the tree structure ------------------------------------------------------------------------


def test_tree_growth_and_reads() -> None:
    tree = MerkleTree()
    assert tree.size == len(tree) == 0
    assert tree.root() == LIB_EMPTY_ROOT
    assert tree.append(LEAF_HASHES[0]) == 0
    assert tree.extend(LEAF_HASHES[1:5]) == 5
    assert tree.extend_packed(b"".join(LEAF_HASHES[5:])) == 8
    assert tree.root().hex() == ROOTS[7]
    assert tree.leaf(3) == LEAF_HASHES[3]
    assert tree.packed_leaves(2, 4) == LEAF_HASHES[2] + LEAF_HASHES[3]
    assert MerkleTree.from_packed(tree.packed_leaves()).root() == tree.root()
    assert tree.consistency_proof(0) == [] and tree.consistency_proof(8) == []


def test_tree_refuses_bad_arguments_and_bad_batches_whole() -> None:
    tree = MerkleTree(LEAF_HASHES[:3])
    with pytest.raises(LedgerError, match="leaf hash 4"):
        tree.extend([LEAF_HASHES[3], b"\x00" * 31])
    assert tree.size == 3  # nothing of the bad batch went in
    with pytest.raises(LedgerError):
        tree.append(b"\x00" * 33)
    with pytest.raises(LedgerError):
        tree.extend_packed(b"\x00" * 40)
    calls: list[Callable[[], object]] = [
        lambda: tree.root(4),
        lambda: tree.root(-1),
        lambda: tree.inclusion_proof(3),
        lambda: tree.inclusion_proof(0, 4),
        lambda: tree.inclusion_proof(-1),
        lambda: tree.consistency_proof(4),
        lambda: tree.consistency_proof(2, 1),
        lambda: tree.leaf(3),
        lambda: tree.packed_leaves(2, 1),
    ]
    for call in calls:
        with pytest.raises(LedgerError):
            call()


def _leaves(n: int, seed: int = 0) -> list[bytes]:
    return [leaf_hash(seed.to_bytes(4, "big") + i.to_bytes(8, "big")) for i in range(n)]


BIG = _leaves(3000)
BIG_TREE = MerkleTree(BIG)


@SETTINGS
@given(st.integers(0, 300), st.data())
def test_tree_equals_naive_oracle(n: int, data: st.DataObject) -> None:
    d = BIG[:n]
    assert BIG_TREE.root(n) == naive_mth(d) == root_hash(d)
    if n:
        m = data.draw(st.integers(0, n - 1), label="index")
        assert BIG_TREE.inclusion_proof(m, n) == naive_path(m, d)
        old = data.draw(st.integers(1, n), label="old size")
        want = naive_proof(old, d) if old < n else []
        assert BIG_TREE.consistency_proof(old, n) == want


@SETTINGS
@given(st.lists(st.integers(0, 40), max_size=12))
def test_batches_in_any_split_give_the_same_tree(batches: list[int]) -> None:
    tree = MerkleTree()
    done = 0
    for size in batches:
        tree.extend(BIG[done : done + size])
        done += size
        assert tree.root() == BIG_TREE.root(done)
    assert tree.packed_leaves() == BIG_TREE.packed_leaves(0, done)
    if done:
        assert tree.inclusion_proof(done - 1) == BIG_TREE.inclusion_proof(done - 1, done)


sizes = st.integers(1, len(BIG))


@SETTINGS
@given(sizes, st.data())
def test_inclusion_proofs_verify_and_every_mutation_fails(n: int, data: st.DataObject) -> None:
    m = data.draw(st.integers(0, n - 1), label="index")
    root = BIG_TREE.root(n)
    proof = BIG_TREE.inclusion_proof(m, n)
    verify_inclusion(BIG[m], m, n, proof, root)

    def refused(index: int, size: int, p: Sequence[bytes], r: bytes = root) -> None:
        with pytest.raises(ProofError):
            verify_inclusion(BIG[m], index, size, p, r)

    other = data.draw(st.integers(0, n - 1).filter(lambda i: i != m) if n > 1 else st.none())
    if other is not None:
        refused(other, n, proof)  # wrong index
    other_size = data.draw(st.integers(m + 1, len(BIG)).filter(lambda s: s != n), label="size")
    refused(m, other_size, proof, BIG_TREE.root(other_size))  # wrong size (with its root)
    refused(m, m, proof)  # index not below size
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1), label="hash")
        bit = data.draw(st.integers(0, 255), label="bit")
        flipped = list(proof)
        flipped[i] = bytes(
            b ^ (1 << (bit % 8)) if j == bit // 8 else b for j, b in enumerate(proof[i])
        )
        refused(m, n, flipped)  # a flipped bit
        refused(m, n, proof[:-1])  # truncated
        refused(m, n, [*proof[:i], proof[i][:31], *proof[i + 1 :]])  # a 31-byte hash
        refused(m, n, [*proof[:i], proof[i] + b"\x00", *proof[i + 1 :]])  # a 33-byte hash
    extra = data.draw(st.binary(min_size=32, max_size=32), label="extra")
    refused(m, n, [*proof, extra])  # an extra hash at the end
    refused(m, n, [extra, *proof])  # an extra hash at the front


@SETTINGS
@given(sizes, st.data())
def test_consistency_proofs_verify_and_every_mutation_fails(n: int, data: st.DataObject) -> None:
    old = data.draw(st.integers(0, n), label="old size")
    r1, r2 = BIG_TREE.root(old), BIG_TREE.root(n)
    proof = BIG_TREE.consistency_proof(old, n)
    verify_consistency(old, n, r1, r2, proof)

    def refused(a: int, b: int, p: Sequence[bytes], ra: bytes, rb: bytes) -> None:
        with pytest.raises(ProofError):
            verify_consistency(a, b, ra, rb, p)

    if 0 < old < n:
        other_old = data.draw(
            st.integers(1, n - 1).filter(lambda s: s != old) if n > 2 else st.none()
        )
        if other_old is not None:
            refused(other_old, n, proof, BIG_TREE.root(other_old), r2)  # wrong old size
        other_new = data.draw(st.integers(old + 1, len(BIG)).filter(lambda s: s != n))
        refused(old, other_new, proof, r1, BIG_TREE.root(other_new))  # wrong new size
        refused(old, n, proof, r2, r1)  # swapped roots
        refused(old, n, [], r1, r2)  # empty
        i = data.draw(st.integers(0, len(proof) - 1), label="hash")
        bit = data.draw(st.integers(0, 255), label="bit")
        flipped = list(proof)
        flipped[i] = bytes(
            b ^ (1 << (bit % 8)) if j == bit // 8 else b for j, b in enumerate(proof[i])
        )
        refused(old, n, flipped, r1, r2)  # a flipped bit
        refused(old, n, proof[:-1], r1, r2)  # truncated
        refused(old, n, [*proof[:i], proof[i][:31], *proof[i + 1 :]], r1, r2)  # 31 bytes
        refused(old, n, [*proof[:i], proof[i] + b"\x00", *proof[i + 1 :]], r1, r2)  # 33 bytes
    extra = data.draw(st.binary(min_size=32, max_size=32), label="extra")
    refused(old, n, [*proof, extra], r1, r2)  # an extra hash
    if old > 0:
        forked = BIG_TREE.root(old - 1) if old > 1 else extra
        refused(old, n, proof, forked, r2)  # an old root from another history


# --- a large tree ------------------------------------------------------------------------------
# Speed is measured by `ceasefire bench ledger`, never by timed assertions here.


def test_proofs_in_a_million_leaf_tree_verify_at_sizes_that_are_not_powers_of_two() -> None:
    n = 1_000_000
    tree = MerkleTree.from_packed(os.urandom(32 * n))
    rng = random.Random(7)
    for _ in range(200):
        i = rng.randrange(n)
        s = rng.randrange(i + 1, n + 1)
        verify_inclusion(tree.leaf(i), i, s, tree.inclusion_proof(i, s), tree.root(s))
        verify_consistency(
            i + 1, s, tree.root(i + 1), tree.root(s), tree.consistency_proof(i + 1, s)
        )

"""RFC 9162 section 2.1 Merkle trees: hashing, proofs, and an incremental in-memory tree.

Why: every record the center accepts becomes a leaf of one append-only tree. A root hash
commits to all leaves; an inclusion proof shows a record is in the tree, a consistency proof
shows a later tree extends an earlier one. Both are a few 32-byte hashes that a party checks
offline, so neither contingent can rewrite the record without the other noticing.

The verification functions follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step
(including the ``sn == 0`` checks), refuse hashes that are not exactly 32 bytes and proofs
longer than :data:`MAX_PROOF_HASHES`, and raise :class:`ProofError` saying why a proof failed.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence

from ceasefire.ledger.errors import LedgerError

HASH_SIZE = 32
"""Bytes in every hash: SHA-256."""

MAX_PROOF_HASHES = 64
"""No proof for a tree of fewer than 2**64 leaves needs more hashes than this."""

MAX_TREE_SIZE = (1 << 64) - 1
"""Sizes and indexes are unsigned 64-bit numbers, as in RFC 9162."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}): the root of the empty tree is the hash of the empty string."""

_sha256 = hashlib.sha256
_LEAF = b"\x00"
_NODE = b"\x01"


class ProofError(LedgerError):
    """A proof does not prove what it was offered for; the message says why."""


class MalformedProofError(ProofError):
    """A proof or its claim is malformed: wrong hash length, too long, impossible sizes."""


def leaf_hash(data: bytes) -> bytes:
    """Hash of one leaf: SHA-256(0x00 || data), so a leaf can never pass for a node."""
    return _sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: SHA-256(0x01 || left || right)."""
    _check_hash(left, "left hash")
    _check_hash(right, "right hash")
    return _sha256(_NODE + left + right).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return _sha256(_NODE + left + right).digest()


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray):
        raise MalformedProofError(f"{what} must be bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise MalformedProofError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def _check_proof(proof: Sequence[bytes]) -> None:
    if len(proof) > MAX_PROOF_HASHES:
        raise MalformedProofError(
            f"proof has {len(proof)} hashes, more than the limit of {MAX_PROOF_HASHES}"
        )
    for i, h in enumerate(proof):
        _check_hash(h, f"proof hash {i}")


def _check_size(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedProofError(f"{what} must be an integer")
    if not 0 <= value <= MAX_TREE_SIZE:
        raise MalformedProofError(f"{what} {value} is outside 0..2**64-1")


# --- verification (RFC 9162 2.1.3.2 and 2.1.4.2) -------------------------------------------------


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` implies for ``leaf`` at ``index`` in a tree of ``size``.

    RFC 9162 section 2.1.3.2, steps 1 to 4; raises :class:`ProofError` when the proof has the
    wrong number of hashes for the claimed position.
    """
    _check_hash(leaf, "leaf hash")
    _check_proof(proof)
    _check_size(index, "leaf index")
    _check_size(size, "tree size")
    if index >= size:
        raise MalformedProofError(f"leaf index {index} is not below tree size {size}")
    return root_from_path(leaf, index, size, proof)


def root_from_path(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """:func:`root_from_inclusion_proof` for callers that made sure the hashes are 32 bytes
    each, no more than :data:`MAX_PROOF_HASHES`, and ``0 <= index < size``: the same steps
    without checking each hash's type and length again (a node's records are checked by
    the thousand, each with its path)."""
    lefts = _lefts(index, size - 1)
    if len(proof) > len(lefts):
        raise ProofError("inclusion proof has more hashes than the path to the root")
    if len(proof) < len(lefts):
        raise ProofError("inclusion proof has fewer hashes than the path to the root")
    r = bytes(leaf)
    for p, left in zip(proof, lefts, strict=True):
        r = _node(p, r) if left else _node(r, p)
    return r


@functools.lru_cache(maxsize=4096)
def _lefts(fn: int, sn: int) -> tuple[bool, ...]:
    """The walk from node ``fn`` up to the root of a tree whose last node is ``sn`` (RFC 9162
    section 2.1.3.2 step 4, section 2.1.4.2 step 6), the steps both proofs take: for each
    hash of the path, whether it is the left sibling (hashed before the value so far). The
    path has exactly as many hashes as this has entries. Remembered: a node's records come
    in groups of one size, each record's path walked the same way as its index's."""
    lefts: list[bool] = []
    while sn != 0:
        left = bool(fn & 1) or fn == sn
        lefts.append(left)
        if left and not fn & 1:
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        fn >>= 1
        sn >>= 1
    return tuple(lefts)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` is leaf number ``index`` of the tree of ``size`` with ``root``.

    RFC 9162 section 2.1.3.2. Returns nothing; raises :class:`ProofError` if it is not proven.
    """
    _check_hash(root, "root hash")
    if root_from_inclusion_proof(leaf, index, size, proof) != root:
        raise ProofError(
            f"inclusion proof for leaf {index} does not lead to the root of tree size {size}"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``new_size`` with ``new_root`` extends the one of ``old_size``.

    RFC 9162 section 2.1.4.2 for ``0 < old_size < new_size``. Equal sizes need equal roots and
    an empty proof; from size 0 (whose root is :data:`EMPTY_ROOT`) the proof must be empty.
    Returns nothing; raises :class:`ProofError` if consistency is not proven.
    """
    _check_hash(old_root, "old root hash")
    _check_hash(new_root, "new root hash")
    _check_proof(proof)
    _check_size(old_size, "old tree size")
    _check_size(new_size, "new tree size")
    if old_size > new_size:
        raise MalformedProofError(
            f"old tree size {old_size} is larger than new tree size {new_size}"
        )
    if old_size == new_size:
        if proof:
            raise ProofError("a consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError(f"two different roots for the same tree size {old_size}")
        return
    if old_size == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        if old_root != EMPTY_ROOT:
            raise ProofError("the root of the empty tree must be SHA-256 of the empty string")
        return
    # Step 1.
    if not proof:
        raise ProofError("consistency proof is empty")
    # Step 2.
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # Steps 3 and 4.
    fn = old_size - 1
    sn = new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6 (the steps it takes), then 7 (a path of the right length).
    lefts = _lefts(fn, sn)
    if len(path) - 1 > len(lefts):
        raise ProofError("consistency proof has more hashes than needed")
    if len(path) - 1 < len(lefts):
        raise ProofError("consistency proof has fewer hashes than needed")
    for c, left in zip(path[1:], lefts, strict=True):
        if left:
            fr = _node(c, fr)
            sr = _node(c, sr)
        else:
            sr = _node(sr, c)
    # Step 7.
    if fr != old_root:
        raise ProofError(f"consistency proof does not lead to the old root (size {old_size})")
    if sr != new_root:
        raise ProofError(f"consistency proof does not lead to the new root (size {new_size})")


# --- generation ---------------------------------------------------------------------------------


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (RFC 9162 2.1.1); :data:`EMPTY_ROOT` for no leaves."""
    return MerkleTree(leaf_hashes).root()


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) of RFC 9162 2.1.3.1 for the tree of all ``leaf_hashes``."""
    return MerkleTree(leaf_hashes).inclusion_proof(index)


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(old_size, D[n]) of RFC 9162 2.1.4.1 for the tree of all ``leaf_hashes``."""
    return MerkleTree(leaf_hashes).consistency_proof(old_size)


def root_from_frontier(frontier: Sequence[bytes]) -> bytes:
    """MTH of a tree given its frontier: the roots of its complete subtrees, largest first.

    Why: a party that holds a tree head can check a frontier against it (this must give the
    root) and then extend it with new leaves (:func:`extend_frontier`) to recompute the root of
    a larger tree, without any other leaf of the log.
    """
    if not frontier:
        return EMPTY_ROOT
    r = frontier[-1]
    for part in reversed(frontier[:-1]):
        r = _node(part, r)
    return r


def extend_frontier(size: int, frontier: Sequence[bytes], leaves: Iterable[bytes]) -> list[bytes]:
    """The frontier of the tree of ``size`` leaves after appending ``leaves`` to it."""
    if len(frontier) != bin(size).count("1"):
        raise MalformedProofError(f"a frontier of size {size} has {bin(size).count('1')} hashes")
    widths = [1 << level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]
    stack = list(zip(widths, frontier, strict=True))
    for leaf in leaves:
        _check_hash(leaf, "leaf hash")
        width, h = 1, leaf
        while stack and stack[-1][0] == width:
            left = stack.pop()[1]
            width, h = width * 2, _node(left, h)
        stack.append((width, h))
    return [h for _w, h in stack]


def _largest_power_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2): RFC 9162's split k."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only Merkle tree in memory that answers for every size it has had.

    Why: the center serves roots, inclusion proofs and consistency proofs all day; recomputing
    them from the leaves costs O(n) hashes each. This tree keeps, for every level, the hashes of
    all *complete* subtrees (a complete subtree never changes once its last leaf is in), packed
    32 bytes each into one ``bytearray`` per level: about 64 bytes per leaf in all. Any root or
    proof, at the current size or an earlier one, is then O(log n) list lookups and at most
    O(log n) hashes (only the one subtree at the right edge that is not complete is folded).

    Build it from leaf hashes already stored (``MerkleTree(hashes)`` or
    :meth:`from_packed`), then :meth:`extend` it in batches. Not thread-safe: guard writers and
    readers with one lock if they run in different threads.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self.extend(leaf_hashes)

    @classmethod
    def from_packed(cls, packed: bytes) -> MerkleTree:
        """A tree from leaf hashes concatenated 32 bytes each (as one database blob)."""
        tree = cls()
        tree.extend_packed(packed)
        return tree

    # --- size and growth ---

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0]) // HASH_SIZE

    def __len__(self) -> int:
        return self.size

    def append(self, leaf: bytes) -> int:
        """Add one leaf hash; returns its index."""
        _check_leaf(leaf, self.size)
        self._levels[0] += leaf
        self._complete_levels()
        return self.size - 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> int:
        """Add leaf hashes in order (one batch); returns the new size.

        All hashes are checked before any is added, so a bad batch leaves the tree unchanged.
        """
        batch = bytearray()
        first = self.size
        for i, leaf in enumerate(leaf_hashes):
            _check_leaf(leaf, first + i)
            batch += leaf
        if batch:
            self._levels[0] += batch
            self._complete_levels()
        return self.size

    def extend_packed(self, packed: bytes) -> int:
        """Add leaf hashes concatenated 32 bytes each; returns the new size."""
        if len(packed) % HASH_SIZE:
            raise LedgerError(
                f"packed leaf hashes are {len(packed)} bytes, not a multiple of {HASH_SIZE}"
            )
        if packed:
            self._levels[0] += packed
            self._complete_levels()
        return self.size

    def _complete_levels(self) -> None:
        """Hash every pair of complete subtrees that has no parent yet, level by level."""
        levels = self._levels
        prefix = _sha256(_NODE)
        level = 0
        while True:
            child = levels[level]
            parents = len(child) // (2 * HASH_SIZE)
            if level + 1 == len(levels):
                if parents == 0:
                    return
                levels.append(bytearray())
            parent = levels[level + 1]
            have = len(parent) // HASH_SIZE
            if have == parents:
                return
            view = memoryview(child)
            out = bytearray()
            try:
                for offset in range(have * 2 * HASH_SIZE, parents * 2 * HASH_SIZE, 2 * HASH_SIZE):
                    h = prefix.copy()
                    h.update(view[offset : offset + 2 * HASH_SIZE])
                    out += h.digest()
            finally:
                view.release()
            parent += out
            level += 1

    # --- reading ---

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index``."""
        if not 0 <= index < self.size:
            raise LedgerError(f"leaf index {index} is not below tree size {self.size}")
        return bytes(self._levels[0][index * HASH_SIZE : (index + 1) * HASH_SIZE])

    def packed_leaves(self, start: int = 0, end: int | None = None) -> bytes:
        """Leaf hashes ``start`` up to ``end`` (exclusive), concatenated."""
        end = self.size if end is None else end
        if not 0 <= start <= end <= self.size:
            raise LedgerError(f"leaf range {start}..{end} is outside 0..{self.size}")
        return bytes(self._levels[0][start * HASH_SIZE : end * HASH_SIZE])

    def _subtree(self, level: int, index: int) -> bytes:
        """Hash of the complete subtree of 2**level leaves starting at leaf index << level."""
        offset = index * HASH_SIZE
        return bytes(self._levels[level][offset : offset + HASH_SIZE])

    def _range(self, lo: int, hi: int) -> bytes:
        """MTH of leaves lo..hi-1, where lo is aligned to the largest power of two in hi-lo.

        Every range met while walking RFC 9162's recursion has this shape: it is a run of
        stored complete subtrees of decreasing size, folded from the right.
        """
        width = hi - lo
        if width & (width - 1) == 0:
            level = width.bit_length() - 1
            return self._subtree(level, lo >> level)
        parts: list[bytes] = []
        pos = lo
        for level in range(width.bit_length() - 1, -1, -1):
            if width >> level & 1:
                parts.append(self._subtree(level, pos >> level))
                pos += 1 << level
        r = parts[-1]
        for part in reversed(parts[:-1]):
            r = _node(part, r)
        return r

    def _size_arg(self, size: int | None) -> int:
        if size is None:
            return self.size
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= self.size:
            raise LedgerError(f"tree size {size} is outside 0..{self.size}")
        return size

    def frontier(self, size: int | None = None) -> list[bytes]:
        """The roots of the complete subtrees of the first ``size`` leaves, largest first."""
        n = self._size_arg(size)
        parts, pos = [], 0
        for level in range(n.bit_length() - 1, -1, -1):
            if n >> level & 1:
                parts.append(self._subtree(level, pos >> level))
                pos += 1 << level
        return parts

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all)."""
        n = self._size_arg(size)
        if n == 0:
            return EMPTY_ROOT
        return self._range(0, n)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 2.1.3.1, leaf to root order."""
        n = self._size_arg(size)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
            raise LedgerError(f"leaf index {index} is not below tree size {n}")
        proof: list[bytes] = []
        lo, hi = 0, n
        while hi - lo > 1:
            width = hi - lo
            if width & (width - 1) == 0:
                # Inside a complete subtree: each sibling is one lookup.
                levels = self._levels
                for level in range(width.bit_length() - 2, -1, -1):
                    offset = ((index >> level) ^ 1) * HASH_SIZE
                    proof.append(bytes(levels[level][offset : offset + HASH_SIZE]))
                break
            k = _largest_power_below(width)
            if index < lo + k:
                proof.append(self._range(lo + k, hi))
                hi = lo + k
            else:
                level = k.bit_length() - 1
                proof.append(self._subtree(level, lo >> level))
                lo += k
        proof.reverse()
        return proof

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[new_size]) of RFC 9162 2.1.4.1 (empty if old is 0 or equal)."""
        n = self._size_arg(new_size)
        if isinstance(old_size, bool) or not isinstance(old_size, int) or not 0 <= old_size <= n:
            raise LedgerError(f"old tree size {old_size} is outside 0..{n}")
        m = old_size
        if m in (0, n):
            return []
        proof: list[bytes] = []
        lo, hi = 0, n
        whole = True  # SUBPROOF's b: is D[lo:m] a subtree the verifier already holds as a root?
        while m != hi:
            k = _largest_power_below(hi - lo)
            if m - lo <= k:
                proof.append(self._range(lo + k, hi))
                hi = lo + k
            else:
                level = k.bit_length() - 1
                proof.append(self._subtree(level, lo >> level))
                lo += k
                whole = False
        if not whole:
            proof.append(self._range(lo, hi))
        proof.reverse()
        return proof


def _check_leaf(leaf: bytes, index: int) -> None:
    if not isinstance(leaf, bytes | bytearray) or len(leaf) != HASH_SIZE:
        length = len(leaf) if isinstance(leaf, bytes | bytearray) else type(leaf).__name__
        raise LedgerError(f"leaf hash {index} must be {HASH_SIZE} bytes, got {length}")

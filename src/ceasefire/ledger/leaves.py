"""A witness's own copy of the leaf hashes it cosigned: what pinpoints a rewritten entry.

Why: an attacker with the center's database can rewrite an entry, its ``leaf_hash`` and its row
so that they agree with each other. The cosigned checkpoints then show that the tree changed,
not where. A contingent's witness already checks each checkpoint; with a :class:`LeafKeeper`
it also reads the leaf hashes of the entries the checkpoint adds (from the center's API, as
the origin check does), checks that they make exactly the checkpoint's tree, and keeps them
beside its state. Hashes only, never the entries' content. ``ceasefire verify`` compares the
center's entries with that copy (asked of the witness over HTTP, or exported from it) and
names each entry whose hash differs, with its index and kind (:func:`compare_leaves`).

The copy is kept contiguous from index 0: a witness that starts keeping late, or missed a
checkpoint, catches up from where its copy ends, and checks the whole of what it fetched
against the root it is about to cosign (so nothing rewritten meanwhile slips in).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ceasefire.ledger.entry import entry_leaf_hash
from ceasefire.ledger.errors import LedgerError
from ceasefire.ledger.merkle import HASH_SIZE, MerkleTree, extend_frontier, root_from_frontier
from ceasefire.ledger.note import b64decode, b64encode

PAGE = 100_000
"""Most leaf hashes a witness hands out in one answer (3.2 MB of hashes)."""

LeafSource = Callable[[str, int, int], tuple[list[bytes], list[str | bytes]]]
"""(origin, start, end) -> (ignored frontier, the entries start..end-1: each its text, or its
leaf hash when withheld): :class:`ceasefire.witness.server.CenterEntries` reads them."""


class LeafCopyError(LedgerError):
    """The leaf hashes read do not make the tree the checkpoint says."""


class LeafSourceError(LeafCopyError):
    """The entries whose leaf hashes are to be kept could not be read."""


class LeafStore(Protocol):
    """Where a witness keeps its copy: packed leaf hashes, contiguous from index 0."""

    def packed(self, origin: str) -> bytes: ...

    def add(self, origin: str, start: int, packed: bytes) -> None: ...


class MemoryLeafStore:
    """A :class:`LeafStore` in memory (tests)."""

    def __init__(self) -> None:
        self._packed: dict[str, bytes] = {}

    def packed(self, origin: str) -> bytes:
        return self._packed.get(origin, b"")

    def add(self, origin: str, start: int, packed: bytes) -> None:
        held = self._packed.get(origin, b"")
        if len(held) == start * HASH_SIZE:
            self._packed[origin] = held + packed


class LeafKeeper:
    """Keeps the leaf hashes of every tree its witness cosigns, checked against its root."""

    def __init__(self, store: LeafStore, source: LeafSource) -> None:
        self.store = store
        self.source = source
        self._trees: dict[str, MerkleTree] = {}
        self._lock = threading.Lock()

    def tree(self, origin: str) -> MerkleTree:
        """The tree of the leaf hashes kept for ``origin`` (read once, then grown here)."""
        with self._lock:
            if origin not in self._trees:
                self._trees[origin] = MerkleTree.from_packed(self.store.packed(origin))
            return self._trees[origin]

    def fetch(self, origin: str, size: int, root: bytes) -> tuple[int, list[str | bytes]]:
        """The entries from the end of the copy up to ``size``, checked to make ``root`` with
        the leaves kept: (the first one's index, the entries). Raises :class:`LeafCopyError`."""
        tree = self.tree(origin)
        with self._lock:
            start = tree.size
            if start >= size:
                if tree.root(size) != root:
                    raise LeafCopyError(
                        f"the leaf hashes kept for {origin} do not make the root of size {size}"
                    )
                return size, []
            frontier = tree.frontier()
        try:
            _frontier, entries = self.source(origin, start, size)
        except Exception as e:  # whatever went wrong reading the center: nothing is kept
            raise LeafSourceError(f"cannot read entries {start}..{size - 1}: {e}") from e
        if len(entries) != size - start:
            raise LeafCopyError(f"{len(entries)} entries served for {start}..{size - 1}")
        try:
            leaves = [_leaf(e) for e in entries]
            made = root_from_frontier(extend_frontier(start, frontier, leaves))
        except LedgerError as e:
            raise LeafCopyError(f"the entries served are malformed: {e}") from e
        if made != root:
            raise LeafCopyError(
                f"the entries served for {start}..{size - 1} with the leaf hashes kept do not "
                f"make the checkpoint of size {size}"
            )
        return start, entries

    def keep(self, origin: str, start: int, entries: Sequence[str | bytes]) -> None:
        """Keep the leaf hashes of ``entries`` (checked by :meth:`fetch`) from ``start``."""
        if not entries:
            return
        tree = self.tree(origin)
        leaves = [_leaf(e) for e in entries]
        with self._lock:
            if tree.size != start:
                return  # another request kept them first
            packed = b"".join(leaves)
            self.store.add(origin, start, packed)
            tree.extend_packed(packed)

    def copy(self, origin: str, start: int = 0, end: int | None = None) -> bytes:
        """Leaf hashes ``start``..``end`` kept for ``origin``, packed."""
        tree = self.tree(origin)
        with self._lock:
            end = tree.size if end is None else min(end, tree.size)
            return tree.packed_leaves(min(start, end), end)


def _leaf(entry: str | bytes) -> bytes:
    return entry if isinstance(entry, bytes) else entry_leaf_hash(entry)


@dataclass(frozen=True)
class LeafCopy:
    """A witness's copy of the leaf hashes, as handed to ``verify``: whose, of which log."""

    witness: str
    origin: str
    packed: bytes

    @property
    def size(self) -> int:
        return len(self.packed) // HASH_SIZE

    def leaf(self, index: int) -> bytes:
        return self.packed[index * HASH_SIZE : (index + 1) * HASH_SIZE]

    def as_json(self) -> dict[str, Any]:
        """The export format (also each page the witness serves, with ``start``)."""
        return {
            "witness": self.witness,
            "origin": self.origin,
            "start": 0,
            "size": self.size,
            "leaf_hashes": [b64encode(self.leaf(i)) for i in range(self.size)],
        }

    @classmethod
    def from_json(cls, data: Any) -> LeafCopy:
        """Read the export format; raises :class:`LeafCopyError` naming what is wrong."""
        try:
            hashes = [b64decode(h, "leaf hash") for h in data["leaf_hashes"]]
            if data.get("start", 0) != 0:
                raise ValueError("the copy does not start at index 0")
            witness, origin = str(data["witness"]), str(data["origin"])
        except (KeyError, TypeError, ValueError) as e:
            raise LeafCopyError(f"not a witness's copy of leaf hashes: {e}") from e
        if any(len(h) != HASH_SIZE for h in hashes):
            raise LeafCopyError("not a witness's copy of leaf hashes: a hash is not 32 bytes")
        return cls(witness, origin, b"".join(hashes))


def compare_leaves(tree: MerkleTree, copy: LeafCopy, most: int = 20) -> tuple[list[int], int]:
    """The indexes (at most ``most``) below both sizes where the center's leaf hashes differ
    from the copy's, and how many differ in all."""
    common = min(tree.size, copy.size)
    ours = tree.packed_leaves(0, common)
    theirs = copy.packed[: common * HASH_SIZE]
    if ours == theirs:
        return [], 0
    named: list[int] = []
    total = 0
    for i in range(common):
        a = ours[i * HASH_SIZE : (i + 1) * HASH_SIZE]
        if a != theirs[i * HASH_SIZE : (i + 1) * HASH_SIZE]:
            total += 1
            if len(named) < most:
                named.append(i)
    return named, total

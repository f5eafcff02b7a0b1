"""Reading the ledger while it grows: the latest cosigned checkpoint, entries, and the log's
Merkle tree kept in memory and caught up on each read, for proofs against any size.

One reader serves the requests of one process (the API's ledger routes); it is thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine

from ceasefire.ledger import log
from ceasefire.ledger.cosign import StoredCheckpoint, latest_checkpoint
from ceasefire.ledger.errors import LedgerError
from ceasefire.ledger.merkle import MerkleTree

T = TypeVar("T")


class LedgerReader:
    """The log's tree in memory, shared by the requests of one app (thread-safe)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._tree = log.LogTree()

    def checkpoint(self) -> StoredCheckpoint | None:
        with self.engine.connect() as db:
            return latest_checkpoint(db)

    def entry(self, index: int) -> tuple[log.StoredEntry | None, int]:
        """The entry at ``index`` (None past the end) and the log's size."""
        with self.engine.connect() as db:
            size = log.size(db)
            found = log.entries_at(db, [index]) if index < size else []
        return (found[0] if found else None), size

    def with_tree(self, use: Callable[[MerkleTree], T]) -> T:
        """``use`` the tree of every committed entry, caught up now."""
        with self._lock:
            try:
                with self.engine.connect() as db:
                    self._tree.refresh(db)
            except LedgerError:
                # The head went back (a database restored from a backup): read it all again.
                self._tree = log.LogTree()
                with self.engine.connect() as db:
                    self._tree.refresh(db)
            return use(self._tree.tree)


__all__ = ["LedgerReader"]

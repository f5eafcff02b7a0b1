"""The log in the database: append entries in the caller's transaction, read the tree back.

Why: a record and its log entry must commit together or not at all, so :func:`append` works on
the caller's connection and never commits. Indexes must be consecutive however many writers
append at once: every appender first locks the one row of ``ledger_head`` (an ``UPDATE ...
RETURNING``), which holds it to the end of its transaction on PostgreSQL and takes SQLite's
single write lock; the next appender waits, then reads the new size. Committed entries are
therefore always a prefix 0..n-1 of the log, which :class:`LogTree` relies on.

Appends are batched: one multi-row INSERT per call, and the durability (one fsync) is paid
once per transaction.
"""

from __future__ import annotations

import hashlib
import sqlite3
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, bindparam, select, tuple_, update
from sqlalchemy.dialects import sqlite

from ceasefire.i18n import _
from ceasefire.ledger.entry import (
    KIND_OBSERVATION,
    LogEntry,
    envelope,
    json_string,
    signature_member,
    timestamp,
)
from ceasefire.ledger.errors import LedgerError
from ceasefire.ledger.merkle import MerkleTree
from ceasefire.ledger.tables import ledger, ledger_head
from ceasefire.store import bulk
from ceasefire.store.schema import observations

HEAD_ID = 1
READ_CHUNK = 200_000
"""Leaf hashes read per query when catching up (bounded memory per round trip)."""

_position = ledger.c["index"]
_LEAF = b"\x00"
_sha256 = hashlib.sha256


_COLUMNS = ("index", "kind", "ref", "entry", "leaf_hash", "appended_at")


_TIME_BINDS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
"""Each dialect's :func:`_time_bind`, found once (looking it up again cost a tenth of an
append of a decision's entries)."""


def _time_bind(connection: Connection) -> Any:
    """The function that turns an aware datetime into what this engine's driver stores."""
    dialect = connection.dialect
    found = _TIME_BINDS.get(dialect)
    if found is None:
        process = ledger.c.appended_at.type.dialect_impl(dialect).bind_processor(dialect)
        found = _TIME_BINDS[dialect] = process if process is not None else (lambda value: value)
    return found


_GROW = (
    update(ledger_head)
    .where(ledger_head.c.id == bindparam("head", HEAD_ID))
    .values(size=ledger_head.c.size + bindparam("by", type_=BigInteger))
    .returning(ledger_head.c.size)
)
"""The head row grown by ``by`` entries (0: only locked), built once: building it again at
each lock and append cost 8-14 % of a decision's CPU (the statement's cache key included)."""
_GROW_SQLITE = str(_GROW.compile(dialect=sqlite.dialect(paramstyle="named")))
""":data:`_GROW` as SQLAlchemy writes it for SQLite (compiled once, its values by name:
``by``, ``head``), for SQLite's driver to run at once."""


def _grow(connection: Connection, by: int) -> int | None:
    """The log's size once its head row grew by ``by`` (None: no head row). On SQLite, in a
    transaction, by the driver itself (:func:`ceasefire.store.bulk.sqlite_driver`): a decision
    locks and appends four times, and SQLAlchemy's running of the statement took 23 µs, the
    driver's 4."""
    driver = bulk.sqlite_driver(connection)
    if driver is None:
        size = connection.execute(_GROW, {"by": by}).scalar_one_or_none()
        return None if size is None else int(size)
    params = {"by": by, "head": HEAD_ID}
    try:
        row = driver.execute(_GROW_SQLITE, params).fetchone()
    except sqlite3.Error as error:
        raise bulk.driver_error(connection, _GROW_SQLITE, params, error) from error
    return None if row is None else int(row[0])


_PSYCOPG_INTRANS = 2
"""psycopg's ``pq.TransactionStatus.INTRANS``: idle in a transaction that has not failed."""
_HELD = "ceasefire.ledger.log.held"
"""Where a connection remembers that its transaction holds the log's lock, and the log's size
then (in ``connection.info``: a weak reference to the transaction, and the size)."""


def _transaction(connection: Connection) -> Any:
    """The innermost transaction of ``connection`` (a savepoint's, if one is open), or None."""
    return connection.get_nested_transaction() or connection.get_transaction()


def _in_transaction(connection: Connection) -> bool:
    """Whether the database connection itself is inside a transaction now (not ended behind
    SQLAlchemy's back: SQLite rolls back by itself on some errors, and autocommit ends each
    statement's)."""
    raw = connection.connection.driver_connection
    if isinstance(raw, sqlite3.Connection):
        return raw.in_transaction
    info = getattr(raw, "info", None)  # psycopg's; any other driver: not known, lock again
    return int(getattr(info, "transaction_status", 0)) == _PSYCOPG_INTRANS


def _held(connection: Connection) -> int | None:
    """The log's size, if this transaction took the log's lock already; else None.

    Only the transaction that took it counts, the same object, still active: the innermost
    one, or the outermost with a savepoint opened since (rolling that back keeps what was
    locked before it; the size is the same, an append in it would have been remembered
    as the savepoint's). A new transaction on the same connection, or a savepoint that took
    it and has ended since (rolled back, it released what it locked on PostgreSQL, and
    undid the head's growth), lock again."""
    held = connection.info.get(_HELD)
    if held is None:
        return None
    taken, size = held
    transaction = taken()
    if (
        transaction is None
        or not transaction.is_active
        or (
            transaction is not connection.get_transaction()
            and transaction is not connection.get_nested_transaction()
        )
        or not _in_transaction(connection)
    ):
        return None
    return int(size)


def _remember(connection: Connection, size: int) -> None:
    """This transaction holds the log's lock and the log has ``size`` entries (in it)."""
    transaction = _transaction(connection)
    if transaction is not None:
        connection.info[_HELD] = (weakref.ref(transaction), size)


def lock(connection: Connection) -> int:
    """Take the log's writer lock for the rest of the caller's transaction; the current size.

    Call it before reading anything an append depends on (the intake calls it before looking
    up which records are new), so that nothing changes between the reading and the append.
    A transaction that holds it already (an earlier lock or append in it) does not ask again:
    nothing else can move the head while it is held, and this transaction's own appends are
    counted (a decision proposed and approved in one transaction locks once).
    """
    held = _held(connection)
    if held is not None:
        return held
    size = _grow(connection, 0)
    if size is None:
        raise LedgerError(_("the ledger has no head row: run `ceasefire db upgrade`"))
    _remember(connection, size)
    return size


def append(
    connection: Connection, entries: Sequence[LogEntry], at: datetime | None = None
) -> range:
    """Append ``entries`` in order within the caller's transaction; their indexes.

    Nothing is committed here: the entries become part of the log when the caller's
    transaction commits, together with whatever else it wrote.
    """
    if not entries:
        return range(0)
    moment = at or datetime.now(UTC)
    stamp = timestamp(moment)
    stamp_json = json_string(stamp)
    new_size = _grow(connection, len(entries))
    if new_size is None:
        raise LedgerError(_("the ledger has no head row: run `ceasefire db upgrade`"))
    _remember(connection, new_size)
    first = new_size - len(entries)
    # The driver's own executemany with values prepared once per batch: SQLAlchemy's per-row
    # parameter processing would cost more than hashing and writing the rows.
    stored_at = _time_bind(connection)(moment)
    rows: list[tuple[Any, ...]] = []
    kinds: dict[str, str] = {}
    for offset, e in enumerate(entries):
        kind_json = kinds.get(e.kind)
        if kind_json is None:
            kind_json = kinds[e.kind] = json_string(e.kind)
        # The envelope of entry.envelope(), inlined: this loop is the append hot path.
        text = (
            '{"appended_at":'
            + stamp_json
            + ',"kind":'
            + kind_json
            + ',"record":'
            + e.record
            + ',"ref":'
            + json_string(e.ref)
            + ("" if e.signature is None else signature_member(e.signature))
            + "}"
        )
        leaf = _sha256(_LEAF + text.encode("utf-8")).digest()
        rows.append((first + offset, e.kind, e.ref, text, leaf, stored_at))
    if connection.dialect.name == "postgresql":
        bulk.copy_rows(connection, ledger.name, _COLUMNS, rows)
    else:
        bulk.execute_many(
            connection, bulk.insert_sql(connection.dialect, ledger.name, _COLUMNS), rows
        )
    return range(first, first + len(entries))


def size(connection: Connection) -> int:
    """The number of committed entries (the head)."""
    value = connection.execute(
        select(ledger_head.c.size).where(ledger_head.c.id == HEAD_ID)
    ).scalar_one_or_none()
    return int(value or 0)


@dataclass(frozen=True)
class StoredEntry:
    """One row of the log."""

    index: int
    kind: str
    ref: str
    entry: str
    leaf_hash: bytes
    appended_at: datetime


def _stored(row: Any) -> StoredEntry:
    return StoredEntry(
        int(row._mapping["index"]),
        row.kind,
        row.ref,
        row.entry,
        bytes(row.leaf_hash),
        row.appended_at,
    )


def entries_at(connection: Connection, indexes: Iterable[int]) -> list[StoredEntry]:
    """The entries at these indexes, in index order (missing ones left out)."""
    wanted = sorted(set(indexes))
    found: list[StoredEntry] = []
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        found.extend(
            _stored(r)
            for r in connection.execute(
                select(ledger).where(_position.in_(chunk)).order_by(_position)
            )
        )
    return found


def entries_of(
    connection: Connection, kind: str, refs: Sequence[str] | None = None
) -> list[StoredEntry]:
    """Every entry of ``kind`` (with one of ``refs``, if given), in index order."""
    if kind == KIND_OBSERVATION and refs is not None:
        return _observation_entries(connection, refs)
    query = select(ledger).where(ledger.c.kind == kind)
    if kind != KIND_OBSERVATION:
        # Spelled out so that SQLite uses the partial index on (kind, ref).
        query = query.where(ledger.c.kind != KIND_OBSERVATION)
    if refs is None:
        return [_stored(r) for r in connection.execute(query.order_by(_position))]
    found: list[StoredEntry] = []
    unique = sorted(set(refs))
    for start in range(0, len(unique), 1000):
        chunk = unique[start : start + 1000]
        found.extend(_stored(r) for r in connection.execute(query.where(ledger.c.ref.in_(chunk))))
    return sorted(found, key=lambda e: e.index)


def _observation_entries(connection: Connection, refs: Sequence[str]) -> list[StoredEntry]:
    """Observation entries found through ``observations.ledger_index`` (not indexed by ref)."""
    keys = sorted({tuple(r.split("/", 1)) for r in refs if "/" in r})
    found: list[StoredEntry] = []
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        linked = (
            select(observations.c.ledger_index)
            .where(tuple_(observations.c.contingent, observations.c.source_id).in_(chunk))
            .scalar_subquery()
        )
        found.extend(
            _stored(r)
            for r in connection.execute(
                select(ledger).where(_position.in_(linked), ledger.c.kind == KIND_OBSERVATION)
            )
        )
    wanted = set(refs)
    return sorted((e for e in found if e.ref in wanted), key=lambda e: e.index)


class LogTree:
    """The log's Merkle tree in memory, caught up from the database on demand.

    Why: a root or a proof from the tree in memory costs microseconds; reading every leaf
    hash again for each checkpoint would cost seconds on a large log. :meth:`refresh` reads
    only the leaves appended since the last call. Not thread-safe (one per thread).
    """

    def __init__(self) -> None:
        self.tree = MerkleTree()

    @property
    def size(self) -> int:
        return self.tree.size

    def refresh(self, connection: Connection) -> int:
        """Read the leaves committed since the last refresh; the new size.

        The head is read first: every entry below it is committed (appenders hold the head
        until they commit), so the leaves read are exactly the prefix the head announces.
        """
        head = size(connection)
        have = self.tree.size
        if head < have:
            raise LedgerError(
                _(
                    "the ledger's head says {head} entries, fewer than the {have} already read"
                ).format(head=head, have=have)
            )
        while have < head:
            upto = min(head, have + READ_CHUNK)
            packed = bytearray()
            expected = have
            for index, leaf in connection.execute(
                select(_position, ledger.c.leaf_hash)
                .where(_position >= have, _position < upto)
                .order_by(_position)
            ):
                if index != expected:
                    raise LedgerError(_("ledger entry {index} is missing").format(index=expected))
                packed += leaf
                expected += 1
            if expected != upto:
                raise LedgerError(_("ledger entry {index} is missing").format(index=expected))
            self.tree.extend_packed(bytes(packed))
            have = upto
        return head


def read_tree(connection: Connection) -> LogTree:
    """The whole log's tree, read now."""
    tree = LogTree()
    tree.refresh(connection)
    return tree


__all__ = [
    "LogEntry",
    "LogTree",
    "StoredEntry",
    "append",
    "entries_at",
    "entries_of",
    "envelope",
    "lock",
    "read_tree",
    "size",
]

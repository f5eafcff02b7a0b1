"""Checkpoints that count: signed by the center, cosigned by every contingent's witness.

Why (DESIGN.md principle 4): the center signs a C2SP checkpoint of the log's size and root;
each contingent's witness cosigns it only if a consistency proof shows it extends the last
checkpoint that witness cosigned (C2SP tlog-witness, :class:`~ceasefire.ledger.witness.Witness`).
A checkpoint is stored only with every contingent's cosignature, so a log that was rewritten,
rolled back or forked cannot get a checkpoint that counts.

The witnesses are asked through the tlog-witness ``add-checkpoint`` request body, as a
contingent's node would be over HTTP; in the embedded center they run in this process with
their state in the ``witness_state`` table (:class:`DatabaseWitnessState`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from ceasefire.i18n import _
from ceasefire.ledger import log
from ceasefire.ledger.checkpoint import (
    Checkpoint,
    CosignatureVerifier,
    IncompleteCheckpointError,
    cosignature_timestamp,
    sign_checkpoint,
)
from ceasefire.ledger.entry import KIND_KEY, LogEntry, parse_envelope
from ceasefire.ledger.errors import LedgerError
from ceasefire.ledger.keys import CENTER, KeyRing, key_name
from ceasefire.ledger.note import (
    Ed25519Verifier,
    NoteError,
    Signature,
    Verifier,
    format_note,
    open_note,
    parse_note,
    parse_signature_lines,
)
from ceasefire.ledger.witness import (
    AddCheckpointRequest,
    ConflictError,
    RollbackError,
    TreeHead,
    Witness,
    WitnessError,
)
from ceasefire.store.schema import checkpoints, witness_state

ATTEMPTS = 5
"""Tries when another process checkpoints at the same time (the tlog-witness race)."""


class CheckpointRefusedError(LedgerError):
    """A contingent's witness refused to cosign; the message names it and says why."""

    def __init__(self, contingent: str, error: WitnessError) -> None:
        self.contingent = contingent
        self.error = error
        super().__init__(
            _("contingent {c} refused to cosign the checkpoint ({reason}): {error}").format(
                c=contingent, reason=error.reason, error=error
            )
        )


class DatabaseWitnessState:
    """A witness's :class:`~ceasefire.ledger.witness.WitnessState` in the database.

    Each call commits on its own: the witness's memory is its own, not part of any caller's
    transaction. The compare-and-swap is one conditional UPDATE (or an INSERT that fails if a
    row appeared), so two checkpoints checked against the same old head cannot both win.
    """

    def __init__(self, engine: Engine, witness: str) -> None:
        self.engine = engine
        self.witness = witness

    def latest(self, origin: str) -> TreeHead | None:
        with self.engine.connect() as db:
            row = db.execute(
                select(witness_state.c.size, witness_state.c.root_hash).where(
                    witness_state.c.witness == self.witness, witness_state.c.origin == origin
                )
            ).first()
        return None if row is None else TreeHead(int(row.size), bytes(row.root_hash))

    def compare_and_swap(self, origin: str, expected: TreeHead | None, new: TreeHead) -> bool:
        now = datetime.now(UTC)
        values = {"size": new.size, "root_hash": new.root_hash, "updated_at": now}
        try:
            with self.engine.begin() as db:
                if expected is None:
                    db.execute(
                        insert(witness_state).values(witness=self.witness, origin=origin, **values)
                    )
                    return True
                done = db.execute(
                    update(witness_state)
                    .where(
                        witness_state.c.witness == self.witness,
                        witness_state.c.origin == origin,
                        witness_state.c.size == expected.size,
                        witness_state.c.root_hash == expected.root_hash,
                    )
                    .values(**values)
                )
                return done.rowcount == 1
        except IntegrityError:
            return False


@dataclass(frozen=True)
class StoredCheckpoint:
    """A cosigned checkpoint as stored: the note carries every signature."""

    id: int
    origin: str
    size: int
    root_hash: bytes
    note: str
    created_at: datetime


def _stored(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(
        int(row.id), row.origin, int(row.size), bytes(row.root_hash), row.note, row.created_at
    )


def latest_checkpoint(connection: Connection) -> StoredCheckpoint | None:
    """The stored checkpoint of the largest log, the newest of those; None if there is none.

    By size first: two checkpoints made at once may be stored in either order.
    """
    row = connection.execute(
        select(checkpoints).order_by(checkpoints.c.size.desc(), checkpoints.c.id.desc()).limit(1)
    ).first()
    return None if row is None else _stored(row)


def stored_checkpoints(connection: Connection) -> list[StoredCheckpoint]:
    """Every stored checkpoint, oldest first."""
    return [_stored(r) for r in connection.execute(select(checkpoints).order_by(checkpoints.c.id))]


def witness(engine: Engine, ring: KeyRing, contingent: str) -> Witness:
    """A contingent's witness: its cosigner key, the log it follows, its stored state."""
    return Witness(
        ring.cosigner(contingent),
        {ring.origin: [ring.log_verifier]},
        DatabaseWitnessState(engine, contingent),
    )


def register_keys(connection: Connection, ring: KeyRing) -> int:
    """Log a ``key`` entry for every current key not logged yet; how many were logged.

    Why: key changes are records like any other, so the log itself says which keys signed
    when. Call it in a transaction; it takes the log's writer lock first.
    """
    log.lock(connection)
    logged = set()
    for stored in log.entries_of(connection, KIND_KEY):
        record = parse_envelope(stored.entry).record
        if isinstance(record, dict):
            logged.add(record.get("vkey"))
    new = [
        LogEntry.of(
            KIND_KEY,
            holder,
            {
                "action": "register",
                "holder": holder,
                "name": key_name(ring.origin, holder),
                "vkey": vkey,
            },
        )
        for holder, vkey in ring.vkeys()
        if vkey not in logged
    ]
    log.append(connection, new)
    return len(new)


def make_checkpoint(
    engine: Engine, ring: KeyRing, tree: log.LogTree | None = None, reuse: bool = True
) -> StoredCheckpoint:
    """Sign the log's current size and root, have every contingent cosign it, store it.

    With ``reuse``, the newest stored checkpoint is returned when the log has not grown and
    that checkpoint carries the current keys' signatures. Raises
    :class:`CheckpointRefusedError` when a witness refuses (the log is not consistent with
    what that contingent cosigned before): nothing is stored then.
    """
    tree = tree if tree is not None else log.LogTree()
    with engine.begin() as db:
        register_keys(db, ring)
    signer = ring.signer()
    for _attempt in range(ATTEMPTS):
        with engine.connect() as db:
            size = tree.refresh(db)
            latest = latest_checkpoint(db)
        checkpoint = Checkpoint(ring.origin, size, tree.tree.root(size))
        if (
            reuse
            and latest is not None
            and (latest.size, latest.root_hash) == (size, checkpoint.root_hash)
            and _current(latest, ring)
        ):
            return latest
        signed = sign_checkpoint(checkpoint, signer)
        cosignatures = []
        try:
            for contingent in ring.contingents:
                cosignatures.extend(_cosign(engine, ring, contingent, tree, size, signed))
        except ConflictError:
            continue  # another checkpoint moved a witness on meanwhile: start again
        except CheckpointRefusedError as e:
            # A witness ahead of our tree may only mean another process checkpointed a
            # larger log meanwhile; it is a rollback only if the log is still behind it.
            ahead = isinstance(e.error, RollbackError) and e.error.latest_size is not None
            if ahead and _head(engine) >= (e.error.latest_size or 0):
                continue
            raise
        text, signatures = parse_note(signed)
        note = format_note(text, [*signatures, *cosignatures])
        verify_checkpoint(note, ring)
        now = datetime.now(UTC)
        with engine.begin() as db:
            key = db.execute(
                insert(checkpoints).values(
                    origin=ring.origin,
                    size=size,
                    root_hash=checkpoint.root_hash,
                    note=note,
                    created_at=now,
                )
            ).inserted_primary_key
        assert key is not None
        return StoredCheckpoint(int(key[0]), ring.origin, size, checkpoint.root_hash, note, now)
    raise LedgerError(
        _("the witnesses kept moving on (other checkpoints at the same time); try again")
    )


def _cosign(
    engine: Engine, ring: KeyRing, contingent: str, tree: log.LogTree, size: int, signed: str
) -> list[Signature]:
    """One contingent's cosignature, asked as a tlog-witness add-checkpoint request."""
    w = witness(engine, ring, contingent)
    head = w.latest(ring.origin)
    old = head.size if head is not None else 0
    # Behind the witness there is no proof to give: the witness answers with a rollback.
    proof = tree.tree.consistency_proof(old, size) if old <= size else []
    request = AddCheckpointRequest(old, tuple(proof), signed.encode("utf-8"))
    try:
        return list(parse_signature_lines(w.handle(request.encode())))
    except WitnessError as e:
        if type(e) is ConflictError:
            raise  # only a race (old size moved on): the caller starts again
        raise CheckpointRefusedError(contingent, e) from e


def _head(engine: Engine) -> int:
    with engine.connect() as db:
        return log.size(db)


def _current(stored: StoredCheckpoint, ring: KeyRing) -> bool:
    try:
        verify_checkpoint(stored.note, ring, retired=False)
    except LedgerError:
        return False
    return True


@dataclass(frozen=True)
class VerifiedCheckpoint:
    """A checkpoint whose log signature and every contingent's cosignature verified."""

    checkpoint: Checkpoint
    cosigned_at: dict[str, int]
    """Contingent id to the time of its cosignature (Unix seconds)."""


def verify_checkpoint(note: str, ring: KeyRing, retired: bool = True) -> VerifiedCheckpoint:
    """Check a checkpoint note: the center's signature and one cosignature per contingent.

    With ``retired``, keys retired by a rotation count too (for checkpoints made before it).
    """
    logs: list[Ed25519Verifier] = [ring.log_verifier, *(ring.retired_log if retired else [])]
    per: dict[str, list[CosignatureVerifier]] = {
        c: [ring.cosigner_verifiers[c], *(ring.retired.get(c, []) if retired else [])]
        for c in ring.contingents
    }
    verifiers: list[Verifier] = [*logs, *(v for vs in per.values() for v in vs)]
    try:
        opened = open_note(note, verifiers)
        checkpoint = Checkpoint.parse(opened.text)
    except NoteError as e:
        raise LedgerError(_("checkpoint signatures do not verify: {e}").format(e=e)) from e
    if checkpoint.origin != ring.origin:
        raise LedgerError(
            _("checkpoint origin {found!r} is not {expected!r}").format(
                found=checkpoint.origin, expected=ring.origin
            )
        )
    missing: list[str] = []
    if not any(opened.signature_of(v) is not None for v in logs):
        missing.append(f"{CENTER} ({ring.log_verifier.name})")
    cosigned_at: dict[str, int] = {}
    for contingent, keys in per.items():
        for v in keys:
            sig = opened.signature_of(v)
            if sig is not None:
                cosigned_at[contingent] = cosignature_timestamp(sig)
                break
        else:
            missing.append(contingent)
    if missing:
        raise IncompleteCheckpointError(missing)
    return VerifiedCheckpoint(checkpoint, cosigned_at)

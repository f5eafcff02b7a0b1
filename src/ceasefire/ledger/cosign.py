"""Checkpoints that count: signed by the center, cosigned by every contingent's witness.

Why (DESIGN.md principle 4): the center signs a C2SP checkpoint of the log's size and root;
each contingent's witness cosigns it only if a consistency proof shows it extends the last
checkpoint that witness cosigned (C2SP tlog-witness, :class:`~ceasefire.ledger.witness.Witness`).
A checkpoint is stored only with every contingent's cosignature, so a log that was rewritten,
rolled back or forked cannot get a checkpoint that counts.

The witnesses are asked through the tlog-witness ``add-checkpoint`` request body. A contingent
with a witness URL (``witnesses.toml`` in the key directory, see :class:`KeyRing`) is asked over
HTTP on its own node (:mod:`ceasefire.witness.server`), and the center needs only its
verifier key; otherwise, in the embedded center, its witness runs in this process with the
contingent's signer key and its state in the ``witness_state`` table
(:class:`DatabaseWitnessState`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from ceasefire.errors import InputError, Problem
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
from ceasefire.ledger.keys import (
    CENTER,
    WITNESSES_FILE,
    KeyFileError,
    KeyRing,
    Rotation,
    install_key,
    key_name,
    new_key,
)
from ceasefire.ledger.merkle import HASH_SIZE
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
from ceasefire.ledger.tables import checkpoints, witness_leaves, witness_state
from ceasefire.ledger.witness import (
    AddCheckpointRequest,
    ConflictError,
    RollbackError,
    TreeHead,
    Witness,
    WitnessError,
)

logger = logging.getLogger(__name__)


class RemoteWitness(Protocol):
    """A client asking witnesses on their own nodes (:class:`ceasefire.witness.client.
    WitnessClient`, over HTTP): the cosignatures by ``verifier``'s key, or the
    :class:`WitnessError` the witness's answer means."""

    def add_checkpoint(
        self, url: str, request: AddCheckpointRequest, verifier: CosignatureVerifier
    ) -> list[Signature]: ...

    def close(self) -> None: ...


RemoteWitnesses = Callable[[], RemoteWitness]
"""Makes the client for one checkpoint's remote witnesses (closed when it is done)."""

ATTEMPTS = 5
"""Tries when another process checkpoints at the same time (the tlog-witness race)."""


class CheckpointRefusedError(LedgerError):
    """A contingent's (or a party's) witness refused to cosign; the message names it and says
    why. ``contingent`` is the id of whoever refused, a party's with ``party``."""

    def __init__(self, contingent: str, error: WitnessError, party: bool = False) -> None:
        self.contingent = contingent
        self.error = error
        self.party = party
        if error.status >= 500:  # not a refusal: the remote witness could not be asked
            template = (
                _("no cosignature from the witness of party {c} ({reason}): {error}")
                if party
                else _("no cosignature from the witness of contingent {c} ({reason}): {error}")
            )
        elif party:
            template = _("party {c} refused to cosign the checkpoint ({reason}): {error}")
        else:
            template = _("contingent {c} refused to cosign the checkpoint ({reason}): {error}")
        super().__init__(template.format(c=contingent, reason=error.reason, error=error))


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


class DatabaseLeafStore:
    """A witness's :class:`~ceasefire.ledger.leaves.LeafStore` in its node's state file (the
    table made if need be): never in the center's database, whose attacker it guards against."""

    def __init__(self, engine: Engine, witness: str) -> None:
        self.engine = engine
        self.witness = witness
        witness_leaves.create(engine, checkfirst=True)

    def packed(self, origin: str) -> bytes:
        t = witness_leaves
        with self.engine.connect() as db:
            rows = db.execute(
                select(t.c.start, t.c.leaves)
                .where(t.c.witness == self.witness, t.c.origin == origin)
                .order_by(t.c.start)
            ).all()
        held = bytearray()
        for start, leaves in rows:
            if int(start) * HASH_SIZE != len(held):
                break  # a gap: only the contiguous part counts
            held += bytes(leaves)
        return bytes(held)

    def add(self, origin: str, start: int, packed: bytes) -> None:
        try:
            with self.engine.begin() as db:
                db.execute(
                    insert(witness_leaves).values(
                        witness=self.witness, origin=origin, start=start, leaves=packed
                    )
                )
        except IntegrityError:
            pass  # kept already (another request, the same leaves: they made the same root)


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


def rotate_key(engine: Engine, ring: KeyRing, holder: str) -> tuple[int, Rotation]:
    """Replace the key of ``holder`` (a contingent or ``center``) held in the ring's directory:
    logged first, as an entry of kind ``key``, so a key never signs before the log says it is
    a key of this center; then installed. The log's index of the change, and the change."""
    if holder != CENTER and holder not in ring.contingents:
        raise InputError(
            Problem(
                file="keys rotate",
                field="CONTINGENT",
                reason=_("{h} is not a contingent of the mission ({known}) nor center").format(
                    h=holder, known=", ".join(ring.contingents)
                ),
            )
        )
    held = ring.log_signer is not None if holder == CENTER else holder in ring.cosigners
    if not held or holder in ring.witnesses:
        # a key made here would not be the one the remote witness signs with
        raise InputError(
            Problem(
                file="keys rotate",
                field="CONTINGENT",
                reason=_(
                    "the key of {h} is not held here (its witness runs on its own node): make "
                    "the new key there (docs/ledger.md, witnesses on each contingent's node)"
                ).format(h=holder),
            )
        )
    rotation = new_key(ring.directory, ring.origin, holder)
    record = {
        "action": "rotate",
        "holder": holder,
        "name": key_name(ring.origin, holder),
        "vkey": rotation.vkey,
        "previous": rotation.previous,
    }
    with engine.begin() as connection:
        index = log.append(connection, [LogEntry.of(KIND_KEY, holder, record)])[0]
    install_key(ring.directory, rotation)
    return index, rotation


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
    engine: Engine,
    ring: KeyRing,
    tree: log.LogTree | None = None,
    reuse: bool = True,
    remote: RemoteWitnesses | None = None,
) -> StoredCheckpoint:
    """Sign the log's current size and root, have every contingent cosign it, store it.

    Witnesses the ring has a URL for are asked through a client ``remote`` makes (the center
    hands it :class:`ceasefire.witness.client.WitnessClient`); the others in this process.

    With ``reuse``, the newest stored checkpoint is returned when the log has not grown and
    that checkpoint carries the current keys' signatures. Raises
    :class:`CheckpointRefusedError` when a witness refuses (the log is not consistent with
    what that contingent cosigned before): nothing is stored then.
    """
    tree = tree if tree is not None else log.LogTree()
    with engine.begin() as db:
        register_keys(db, ring)
    signer = ring.signer()
    with _Witnesses(engine, ring, remote) as witnesses:
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
            stored_size = latest.size if latest is not None else 0
            try:
                for contingent in ring.contingents:
                    cosignatures.extend(
                        witnesses.cosign(contingent, tree, size, signed, stored_size)
                    )
                for party in ring.parties:
                    cosignatures.extend(
                        witnesses.cosign_party(party, tree, size, signed, stored_size)
                    )
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
            verify_checkpoint(note, ring, parties=ring.parties_required)
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


@dataclass
class _Witnesses:
    """Asks each contingent's witness: over HTTP where the ring has its URL, else in process."""

    engine: Engine
    ring: KeyRing
    remote: RemoteWitnesses | None = None
    sizes: dict[str, int] = field(default_factory=dict)
    """What each remote witness last cosigned, as far as its answers told (for ``old N``)."""
    client: RemoteWitness | None = None

    def __enter__(self) -> _Witnesses:
        if self.ring.witnesses or self.ring.parties:
            if self.remote is None:
                # the caller's mistake, not the user's: whoever knows the URLs hands a client
                raise ValueError("witnesses with a URL need a client: pass remote=")
            self.client = self.remote()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()

    def cosign(
        self, contingent: str, tree: log.LogTree, size: int, signed: str, stored_size: int
    ) -> list[Signature]:
        """One contingent's cosignature, asked as a tlog-witness add-checkpoint request.

        ``stored_size`` is the size of the newest stored checkpoint, which every witness
        cosigned: a remote witness's first guess of ``old N`` when it has told nothing yet.
        """
        url = self.ring.witnesses.get(contingent)
        try:
            if url is None:
                return self._in_process(contingent, tree, size, signed)
            verifier = self.ring.cosigner_verifiers[contingent]
            return self._ask(contingent, url, verifier, tree, size, signed, stored_size)
        except WitnessError as e:
            if type(e) is ConflictError:
                raise  # only a race (old size moved on): the caller starts again
            raise CheckpointRefusedError(contingent, e) from e

    def cosign_party(
        self, party: str, tree: log.LogTree, size: int, signed: str, stored_size: int
    ) -> list[Signature]:
        """A party's cosignature, asked of its inbox as of a contingent's node. Unless the
        mission requires the parties' cosignatures, a refusal (or a witness away) is logged
        and the checkpoint goes on without it."""
        witness = self.ring.parties[party]
        try:
            return self._ask(party, witness.url, witness.verifier, tree, size, signed, stored_size)
        except WitnessError as e:
            if type(e) is ConflictError and self.ring.parties_required:
                raise  # only a race: the caller starts again
            refused = CheckpointRefusedError(party, e, party=True)
            if self.ring.parties_required:
                raise refused from e
            logger.warning("%s", refused)
            return []

    def _ask(
        self,
        holder: str,
        url: str,
        verifier: CosignatureVerifier,
        tree: log.LogTree,
        size: int,
        signed: str,
        stored_size: int,
    ) -> list[Signature]:
        # Never above the checkpoint: a witness ahead of it answers 409 with its size.
        old = min(self.sizes.get(holder, stored_size), size)
        try:
            return self._remote(holder, url, verifier, tree, old, size, signed)
        except ConflictError as e:
            if type(e) is not ConflictError or e.latest_size is None:
                raise
            # A remote witness tells its size only when asked: once more from there (the
            # spec's way) before the caller starts the whole checkpoint again.
            return self._remote(holder, url, verifier, tree, e.latest_size, size, signed)

    def _in_process(
        self, contingent: str, tree: log.LogTree, size: int, signed: str
    ) -> list[Signature]:
        w = self._local(contingent)
        head = w.latest(self.ring.origin)
        request = _request(tree, head.size if head is not None else 0, size, signed)
        return list(parse_signature_lines(w.handle(request.encode())))

    def _remote(
        self,
        holder: str,
        url: str,
        verifier: CosignatureVerifier,
        tree: log.LogTree,
        old: int,
        size: int,
        signed: str,
    ) -> list[Signature]:
        assert self.client is not None
        request = _request(tree, old, size, signed)
        try:
            cosignatures = self.client.add_checkpoint(url, request, verifier)
        except WitnessError as e:
            if e.latest_size is not None:
                self.sizes[holder] = e.latest_size
            raise
        self.sizes[holder] = size
        return cosignatures

    def _local(self, contingent: str) -> Witness:
        if contingent not in self.ring.cosigners:
            raise KeyFileError(
                _(
                    "contingent {c} has no witness: its signer key {path} is not here and no "
                    "witness URL is given for it ({file} or --witness)"
                ).format(
                    c=contingent,
                    path=self.ring.directory / f"{contingent}.skey",
                    file=self.ring.directory / WITNESSES_FILE,
                )
            )
        return witness(self.engine, self.ring, contingent)


def _request(tree: log.LogTree, old: int, size: int, signed: str) -> AddCheckpointRequest:
    # Behind the witness there is no proof to give: the witness answers with a rollback.
    proof = tree.tree.consistency_proof(old, size) if old <= size else []
    return AddCheckpointRequest(old, tuple(proof), signed.encode("utf-8"))


def _head(engine: Engine) -> int:
    with engine.connect() as db:
        return log.size(db)


def _current(stored: StoredCheckpoint, ring: KeyRing) -> bool:
    try:
        verify_checkpoint(stored.note, ring, retired=False, parties=ring.parties_required)
    except LedgerError:
        return False
    return True


@dataclass(frozen=True)
class VerifiedCheckpoint:
    """A checkpoint whose log signature and every contingent's cosignature verified."""

    checkpoint: Checkpoint
    cosigned_at: dict[str, int]
    """Contingent id to the time of its cosignature (Unix seconds)."""


def verify_checkpoint(
    note: str, ring: KeyRing, retired: bool = True, parties: bool = False
) -> VerifiedCheckpoint:
    """Check a checkpoint note: the center's signature and one cosignature per contingent.

    With ``retired``, keys retired by a rotation count too (for checkpoints made before it).
    The parties' cosignatures are checked where present, and required with ``parties`` (a
    checkpoint made before the mission required them still verifies without).
    """
    logs: list[Ed25519Verifier] = [ring.log_verifier, *(ring.retired_log if retired else [])]
    per: dict[str, list[CosignatureVerifier]] = {
        c: [ring.cosigner_verifiers[c], *(ring.retired.get(c, []) if retired else [])]
        for c in ring.contingents
    }
    by_party = {p: [w.verifier] for p, w in ring.parties.items()}
    verifiers: list[Verifier] = [
        *logs,
        *(v for vs in per.values() for v in vs),
        *(v for vs in by_party.values() for v in vs),
    ]
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
    for party, keys in by_party.items():
        sig = next((s for v in keys if (s := opened.signature_of(v)) is not None), None)
        if sig is not None:
            cosigned_at[party] = cosignature_timestamp(sig)
        elif parties:
            missing.append(party)
    if missing:
        raise IncompleteCheckpointError(missing)
    return VerifiedCheckpoint(checkpoint, cosigned_at)

"""A C2SP tlog-witness cosigner: cosign a checkpoint only if it extends the last one cosigned.

Why: each contingent runs one. Before adding its cosignature it checks that the log signed the
checkpoint and, with a consistency proof, that the new tree contains the last tree it cosigned
for that log, unchanged. A log that rolls back, forks (same size, other root) or rewrites its
past therefore cannot collect the cosignatures a checkpoint needs to count.

The rules and status codes follow https://c2sp.org/tlog-witness (``add-checkpoint``). The last
cosigned size and root per origin live in a :class:`WitnessState`; the update is a
compare-and-swap, so two requests checked against the same old size cannot both win (the race
the spec describes, which would otherwise roll the witness back).

A contingent's witness may also check the entries themselves (:class:`OriginCheck`): it reads
the new entries and the old tree's frontier from the center, checks that they make exactly the
checkpoint's tree, and refuses to cosign if any new observation entry in its contingent's name
lacks that contingent's valid signature (:mod:`ceasefire.ledger.origin`): the center then
cannot have a record it wrote in a contingent's name cosigned by that contingent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ceasefire.ledger.checkpoint import Checkpoint, CheckpointError, CosignatureSigner
from ceasefire.ledger.entry import entry_leaf_hash
from ceasefire.ledger.errors import LedgerError
from ceasefire.ledger.leaves import LeafCopyError, LeafKeeper, LeafSourceError
from ceasefire.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    ProofError,
    extend_frontier,
    root_from_frontier,
    verify_consistency,
)
from ceasefire.ledger.note import (
    Ed25519Verifier,
    InvalidSignatureError,
    NoteError,
    Signature,
    UnverifiedNoteError,
    Verifier,
    b64decode,
    b64encode,
    open_note,
    parse_note,
)

MAX_WITNESS_PROOF_HASHES = 63
"""tlog-witness: a client MUST NOT send more than 63 consistency proof lines."""

MAX_REQUEST_BYTES = 1 << 16
"""Limit on an add-checkpoint request body; a checkpoint with signatures is far smaller."""

SIZE_TYPE = "text/x.tlog.size"
"""The media type of a 409 answer to add-checkpoint, whose body is the latest size."""


@dataclass(frozen=True)
class TreeHead:
    """Size and root hash of a tree: what a witness remembers per log."""

    size: int
    root_hash: bytes


class WitnessState(Protocol):
    """Where a witness keeps the last checkpoint it cosigned for each origin."""

    def latest(self, origin: str) -> TreeHead | None:
        """The last cosigned tree head for ``origin``, or None if there is none."""
        ...

    def compare_and_swap(self, origin: str, expected: TreeHead | None, new: TreeHead) -> bool:
        """Atomically set ``new`` if the stored head is still ``expected``; report success."""
        ...


class MemoryWitnessState:
    """A :class:`WitnessState` in memory, safe across threads (for tests and one process)."""

    def __init__(self, initial: Mapping[str, TreeHead] | None = None) -> None:
        self._heads: dict[str, TreeHead] = dict(initial or {})
        self._lock = threading.Lock()

    def latest(self, origin: str) -> TreeHead | None:
        with self._lock:
            return self._heads.get(origin)

    def compare_and_swap(self, origin: str, expected: TreeHead | None, new: TreeHead) -> bool:
        with self._lock:
            if self._heads.get(origin) != expected:
                return False
            self._heads[origin] = new
            return True


class WitnessError(LedgerError):
    """The witness refused to cosign; ``reason`` is a short code, ``status`` the HTTP status.

    ``latest_size`` is set when the spec asks the witness to tell the client its latest size.
    """

    status: int = 400
    reason: str = "bad-request"

    def __init__(
        self, message: str, *, latest_size: int | None = None, status: int | None = None
    ) -> None:
        self.latest_size = latest_size
        if status is not None:
            self.status = status
        super().__init__(message)


class BadRequestError(WitnessError):
    """The request is malformed, or its old size is larger than the checkpoint's size."""


class UnknownLogError(WitnessError):
    """The checkpoint's origin is not a log this witness follows."""

    status = 404
    reason = "unknown-log"


class LogSignatureError(WitnessError):
    """No signature from the log's key verifies on the checkpoint."""

    status = 403
    reason = "log-signature"


class ConflictError(WitnessError):
    """The client's old size is not the size this witness last cosigned (it has moved on)."""

    status = 409
    reason = "old-size-mismatch"


class RollbackError(ConflictError):
    """The checkpoint is smaller than the last one cosigned: the log would go back in time.

    Status 409 with the latest size, or 400 when the request's old size is also above the
    checkpoint's size (the spec's rule for that case).
    """

    reason = "rollback"


class ForkError(ConflictError):
    """Same size as the last cosigned checkpoint, different root: the log has forked."""

    reason = "fork"


class InconsistentError(WitnessError):
    """The consistency proof does not show the checkpoint extends the last one cosigned."""

    status = 422
    reason = "inconsistent"


class UnsignedEntryError(WitnessError):
    """A new entry claims this witness's contingent without that contingent's signature."""

    status = 422
    reason = "unsigned-entry"


class EntriesUnavailableError(WitnessError):
    """The witness could not read the new entries it must check before cosigning."""

    status = 503
    reason = "entries-unavailable"


EntryFetcher = Callable[[str, int, int], tuple[list[bytes], list[str | bytes]]]
"""(origin, old size, new size) -> (frontier of the old tree, the entries old..new-1: each its
text, or its leaf hash when withheld from this witness: a blind assessment)."""


@dataclass(frozen=True)
class OriginCheck:
    """What a contingent's witness needs to check the new entries made in its name."""

    contingent: str
    keys: tuple[Ed25519Verifier, ...]
    """The contingent's own intake verifier keys (the current one, and earlier ones)."""
    fetch: EntryFetcher


def _is_decimal(text: str) -> bool:
    return text.isascii() and text.isdigit() and (text == "0" or not text.startswith("0"))


@dataclass(frozen=True)
class AddCheckpointRequest:
    """The body of a tlog-witness ``add-checkpoint`` request."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes
    """The signed checkpoint note."""

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpointRequest:
        """Parse ``old <size>``, proof lines in base64, an empty line, then the note."""
        if len(body) > MAX_REQUEST_BYTES:
            raise BadRequestError(f"request is larger than {MAX_REQUEST_BYTES} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadRequestError("request is not valid UTF-8") from e
        head, sep, note = text.partition("\n\n")
        if not sep:
            raise BadRequestError("request has no empty line before the checkpoint")
        lines = head.split("\n")
        first = lines[0]
        if not first.startswith("old ") or not _is_decimal(first[4:]):
            raise BadRequestError("request must start with 'old <size>' in decimal")
        if len(lines) - 1 > MAX_WITNESS_PROOF_HASHES:
            raise BadRequestError(f"more than {MAX_WITNESS_PROOF_HASHES} consistency proof lines")
        proof: list[bytes] = []
        for i, line in enumerate(lines[1:]):
            try:
                h = b64decode(line, f"consistency proof line {i + 1}")
            except ValueError as e:
                raise BadRequestError(str(e)) from e
            if len(h) != HASH_SIZE:
                raise BadRequestError(f"consistency proof line {i + 1} is not a 32-byte hash")
            proof.append(h)
        return cls(int(first[4:]), tuple(proof), note.encode("utf-8"))

    def encode(self) -> bytes:
        """The request body."""
        lines = [f"old {self.old_size}", *(b64encode(h) for h in self.proof)]
        return ("\n".join(lines) + "\n\n").encode("utf-8") + self.checkpoint


class Witness:
    """Cosigns checkpoints of known logs that are consistent with what it cosigned before."""

    def __init__(
        self,
        signer: CosignatureSigner,
        logs: Mapping[str, Sequence[Verifier]],
        state: WitnessState | None = None,
        origin_check: OriginCheck | None = None,
        leaves: LeafKeeper | None = None,
    ) -> None:
        """``logs`` maps each origin this witness follows to the log's verifier key(s);
        ``leaves`` keeps the leaf hashes of what it cosigns (:mod:`ceasefire.ledger.leaves`)."""
        self._origin_check = origin_check
        self._leaves = leaves
        self._signer = signer
        self._logs = {origin: tuple(keys) for origin, keys in logs.items()}
        self._state: WitnessState = state if state is not None else MemoryWitnessState()

    @property
    def name(self) -> str:
        return self._signer.name

    @property
    def origins(self) -> list[str]:
        """The logs this witness follows."""
        return sorted(self._logs)

    @property
    def leaves(self) -> LeafKeeper | None:
        """Its copy of the leaf hashes it cosigned, if it keeps one."""
        return self._leaves

    def latest(self, origin: str) -> TreeHead | None:
        """The last tree head cosigned for ``origin``."""
        return self._state.latest(origin)

    def add_checkpoint(
        self, checkpoint: bytes | str, old_size: int, proof: Sequence[bytes]
    ) -> Signature:
        """Cosign ``checkpoint`` if it is consistent with the last one cosigned for its log.

        ``old_size`` is the size of the last checkpoint the client believes was cosigned,
        ``proof`` the consistency proof from it. Returns the cosignature; raises a
        :class:`WitnessError` subclass naming the reason otherwise.
        """
        try:
            text, _ = parse_note(checkpoint)
            parsed = Checkpoint.parse(text)
        except (NoteError, CheckpointError) as e:
            raise BadRequestError(f"malformed checkpoint: {e}") from e
        keys = self._logs.get(parsed.origin)
        if keys is None:
            raise UnknownLogError(f"unknown log origin {parsed.origin!r}")
        try:
            open_note(checkpoint, keys)
        except (UnverifiedNoteError, InvalidSignatureError) as e:
            raise LogSignatureError(
                f"checkpoint for {parsed.origin} is not signed by the log: {e}"
            ) from e
        if isinstance(old_size, bool) or not isinstance(old_size, int) or old_size < 0:
            raise BadRequestError(f"old size {old_size!r} is not a size")
        if len(proof) > MAX_WITNESS_PROOF_HASHES:
            raise BadRequestError(f"more than {MAX_WITNESS_PROOF_HASHES} consistency proof hashes")
        if any(len(h) != HASH_SIZE for h in proof):
            raise BadRequestError("every consistency proof hash must be 32 bytes")

        current = self._state.latest(parsed.origin)
        current_size = current.size if current is not None else 0
        current_root = current.root_hash if current is not None else EMPTY_ROOT
        if parsed.size < current_size:
            raise RollbackError(
                f"checkpoint size {parsed.size} is smaller than the last cosigned size "
                f"{current_size} for {parsed.origin}",
                latest_size=current_size,
                status=400 if old_size > parsed.size else 409,
            )
        if old_size > parsed.size:
            raise BadRequestError(
                f"old size {old_size} is larger than the checkpoint size {parsed.size}"
            )
        if old_size != current_size:
            raise ConflictError(
                f"old size {old_size} is not the last cosigned size {current_size} "
                f"for {parsed.origin}",
                latest_size=current_size,
            )
        if parsed.size == current_size and parsed.root_hash != current_root:
            raise ForkError(
                f"checkpoint has size {parsed.size} like the last cosigned one for "
                f"{parsed.origin} but a different root hash",
                latest_size=current_size,
            )
        try:
            verify_consistency(old_size, parsed.size, current_root, parsed.root_hash, proof)
        except ProofError as e:
            raise InconsistentError(
                f"checkpoint of size {parsed.size} for {parsed.origin} is not proven "
                f"consistent with size {old_size}: {e}"
            ) from e

        fetched = self._fetch_leaves(parsed) if self._leaves is not None else None
        if self._origin_check is not None and parsed.size > old_size:
            if fetched is not None and fetched[0] <= old_size:
                # read once for both: the new entries are the tail of those fetched
                start, entries = fetched
                self._check_claims(self._origin_check, entries[old_size - start :], old_size)
            else:
                self._check_entries(self._origin_check, parsed, old_size, current_root)

        new = TreeHead(parsed.size, parsed.root_hash)
        if not self._state.compare_and_swap(parsed.origin, current, new):
            now = self._state.latest(parsed.origin)
            latest_size = now.size if now is not None else 0
            raise ConflictError(
                f"another checkpoint for {parsed.origin} was cosigned meanwhile "
                f"(size {latest_size}); retry from that size",
                latest_size=latest_size,
            )
        if self._leaves is not None and fetched is not None:
            self._leaves.keep(parsed.origin, *fetched)
        return self._signer.cosign(parsed)

    def _fetch_leaves(self, parsed: Checkpoint) -> tuple[int, list[str | bytes]]:
        assert self._leaves is not None
        try:
            return self._leaves.fetch(parsed.origin, parsed.size, parsed.root_hash)
        except LeafSourceError as e:
            raise EntriesUnavailableError(str(e)) from e
        except LeafCopyError as e:
            raise InconsistentError(str(e)) from e

    @staticmethod
    def _check_entries(
        check: OriginCheck, parsed: Checkpoint, old_size: int, old_root: bytes
    ) -> None:
        try:
            frontier, entries = check.fetch(parsed.origin, old_size, parsed.size)
        except Exception as e:  # the center's answer, whatever went wrong: no cosignature
            raise EntriesUnavailableError(
                f"cannot read entries {old_size}..{parsed.size - 1} to check them: {e}"
            ) from e
        if len(entries) != parsed.size - old_size or root_from_frontier(frontier) != old_root:
            raise InconsistentError(
                f"the entries served for {old_size}..{parsed.size - 1} do not extend the tree "
                "last cosigned"
            )
        try:
            leaves = [e if isinstance(e, bytes) else entry_leaf_hash(e) for e in entries]
            grown = extend_frontier(old_size, frontier, leaves)
        except ProofError as e:
            raise InconsistentError(f"the frontier served is malformed: {e}") from e
        if root_from_frontier(grown) != parsed.root_hash:
            raise InconsistentError(
                f"the entries served for {old_size}..{parsed.size - 1} are not those of the "
                f"checkpoint of size {parsed.size}"
            )
        Witness._check_claims(check, entries, old_size)

    @staticmethod
    def _check_claims(check: OriginCheck, entries: Sequence[str | bytes], start: int) -> None:
        from ceasefire.ledger.origin import unsigned_claims

        problems = unsigned_claims(check.contingent, check.keys, list(entries), start)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise UnsignedEntryError(problems[0] + more)

    def handle(self, body: bytes) -> str:
        """Serve one ``add-checkpoint`` request body; the response body on success."""
        request = AddCheckpointRequest.parse(body)
        return self.add_checkpoint(request.checkpoint, request.old_size, request.proof).line()

"""A contingent's witness on its own node: the C2SP tlog-witness HTTP service.

Why: a witness whose key and memory sit in the center's process protects nobody from the
center. Here each contingent runs its :class:`~ceasefire.ledger.witness.Witness` on its own node,
with its own signer key and its own state file, and the center asks it over HTTP
(:mod:`ceasefire.witness.client`). The center then holds only the contingents' verifier
keys, and a history rewritten at the center cannot get that contingent's cosignature.

Its endpoint, as https://c2sp.org/tlog-witness says: ``POST <prefix>/add-checkpoint`` with
``old N``, the consistency proof lines in base64, an empty line and the signed checkpoint;
``200`` with the cosignature line, ``409`` (``text/x.tlog.size``, the latest size) when the old
size is not the last cosigned one or the checkpoint forks or rolls back, ``404`` unknown origin,
``403`` no valid log signature, ``422`` inconsistent proof, ``400`` malformed, ``413`` too large.

A witness given the center's entries to read (``--center``) also keeps the leaf hashes of what
it cosigns (:mod:`ceasefire.ledger.leaves`) and hands them out: ``GET <prefix>/leaves?origin=&
start=&end=`` (JSON, at most 100,000 per answer; ``404`` when it keeps none), for
``ceasefire verify`` to name a rewritten entry.

The state (last cosigned size and root per origin) is a SQLite file of the node's own, written
with a compare-and-swap before the answer leaves (:class:`DatabaseWitnessState`): durable across
restarts, and of two requests checked against the same old size only one wins.

:class:`WitnessNode` serves one such witness from a key directory and a state file in a thread
of the calling process, on a port of its own (the demo runs each contingent's node this way,
and the tests); ``ceasefire witness serve`` runs it as a process of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ceasefire.i18n import _
from ceasefire.ledger.checkpoint import Checkpoint, CosignatureSigner
from ceasefire.ledger.cosign import DatabaseLeafStore, DatabaseWitnessState
from ceasefire.ledger.keys import (
    CENTER,
    KeyFileError,
    cosigner_key_file,
    load_cosigner,
    log_verifiers,
)
from ceasefire.ledger.leaves import PAGE, LeafKeeper, LeafSource
from ceasefire.ledger.merkle import HASH_SIZE
from ceasefire.ledger.note import Ed25519Verifier, b64decode, b64encode, parse_note
from ceasefire.ledger.tables import witness_state
from ceasefire.ledger.witness import (
    MAX_REQUEST_BYTES,
    SIZE_TYPE,
    AddCheckpointRequest,
    ForkError,
    InconsistentError,
    OriginCheck,
    Witness,
    WitnessError,
)
from ceasefire.served import ServedApp, body_within
from ceasefire.store.db import create

if TYPE_CHECKING:
    pass

log = logging.getLogger("ceasefire.witness")


def open_state(path: Path | str, witness: str) -> DatabaseWitnessState:
    """The witness's state in its own SQLite file (WAL, ``synchronous=FULL``), made if need be.

    ``witness`` names whose rows these are (the witness's key name): the key may be rotated,
    the name and therefore the memory stay.
    """
    engine = create(str(path))
    witness_state.create(engine, checkfirst=True)
    return DatabaseWitnessState(engine, witness)


def followed_logs(key: Path, log_keys: Sequence[str] = ()) -> dict[str, list[Ed25519Verifier]]:
    """The logs a witness follows: origin to the log's verifier keys.

    ``log_keys`` are vkey strings or files; none given, ``center.vkey`` beside the witness's
    ``.skey`` (``key``, the file or the node's key directory), handed over at setup.
    """
    if log_keys:
        verifiers = [v for value in log_keys for v in log_verifiers(value)]
    else:
        beside = cosigner_key_file(key).parent / f"{CENTER}.vkey"
        if not beside.exists():
            raise KeyFileError(
                _("no --log-key given and no {path}: give the center's verifier key").format(
                    path=beside
                )
            )
        verifiers = log_verifiers(str(beside))
    logs: dict[str, list[Ed25519Verifier]] = {}
    for verifier in verifiers:
        logs.setdefault(verifier.name, []).append(verifier)
    return logs


class CenterEntries:
    """Reads the entries a checkpoint adds from the center's API, for :class:`OriginCheck`.

    ``GET <center>/api/v1/ledger/entries?start=&end=`` in pages of 1,000, with a token of a
    user who may read the ledger. An entry withheld from that user (a blind assessment of the
    other contingent) comes as its leaf hash only: enough to rebuild the tree, not to read it.
    """

    PAGE = 1000

    def __init__(self, center: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.center = center.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = timeout

    def __call__(self, origin: str, old: int, new: int) -> tuple[list[bytes], list[str | bytes]]:
        import httpx

        frontier: list[bytes] | None = None
        entries: list[str | bytes] = []
        with httpx.Client(timeout=self.timeout, headers=self.headers) as client:
            for start in range(old, new, self.PAGE):
                response = client.get(
                    f"{self.center}/api/v1/ledger/entries",
                    params={"start": start, "end": min(new, start + self.PAGE)},
                )
                if response.status_code != 200:
                    raise WitnessError(
                        f"the center answered {response.status_code}: {response.text[:300]}"
                    )
                data = response.json()
                if frontier is None:
                    frontier = [b64decode(h, "frontier hash") for h in data["frontier"]]
                for item in data["entries"]:
                    text = item.get("entry")
                    entries.append(
                        text if isinstance(text, str) else b64decode(item["leaf_hash"], "leaf hash")
                    )
        return frontier or [], entries


@dataclass
class OwnWitness:
    """A witness with its own files: its cosigner key and its state file (made if missing), the
    logs it follows (the center's verifier keys). What a contingent's node serves, and a
    party's inbox (``ceasefire inbox serve``: the party checks the center's history too)."""

    signer: CosignatureSigner
    logs: dict[str, list[Ed25519Verifier]]
    state: DatabaseWitnessState
    witness: Witness

    @classmethod
    def open(
        cls,
        key: Path,
        state: Path | str,
        log_keys: Sequence[str] = (),
        origin_check: OriginCheck | None = None,
        leaves_from: LeafSource | None = None,
    ) -> OwnWitness:
        """``key``: the ``.skey`` or its directory; ``log_keys``: see :func:`followed_logs`;
        ``leaves_from``: where to read the entries whose leaf hashes it keeps (the center)."""
        signer = load_cosigner(key)
        logs = followed_logs(key, log_keys)
        kept = open_state(state, signer.name)
        keeper = None
        if leaves_from is not None:
            keeper = LeafKeeper(DatabaseLeafStore(kept.engine, signer.name), leaves_from)
        return cls(signer, logs, kept, Witness(signer, logs, kept, origin_check, keeper))

    def app(self) -> Starlette:
        return create_app(self.witness)

    def close(self) -> None:
        self.state.engine.dispose()


class WitnessNode(ServedApp):
    """A contingent's witness served over HTTP from a thread of this process; a context manager.

    Why: the demo and the tests run each contingent's node beside the center, yet as a real
    server on a real socket with its own key directory and state file, as ``ceasefire witness
    serve`` would. The socket is bound (an IPv4 ``host``, ``127.0.0.1``; ``port`` 0: a free
    one) and listening before the thread starts, so :attr:`url` answers at once: nobody waits
    on time.

    Built from ``key`` (the node's ``.skey`` or its key directory, ``center.vkey`` beside it
    unless ``log_keys`` names the center's keys) and ``state`` (its SQLite file, made if
    missing), the node has :attr:`signer`, :attr:`logs`, :attr:`state`, :attr:`witness` and
    :attr:`app`; :meth:`start` serves :attr:`app` (which a caller may wrap before). Stopped by
    :meth:`stop` (or the ``with``), it is done: the same key and state serve again as a new
    node, on another port.
    """

    def __init__(
        self,
        key: Path,
        state: Path | str,
        *,
        log_keys: Sequence[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        origin_check: OriginCheck | None = None,
        leaves_from: LeafSource | None = None,
    ) -> None:
        self.state_file = Path(state)
        self.own = OwnWitness.open(key, self.state_file, log_keys, origin_check, leaves_from)
        self.signer, self.logs = self.own.signer, self.own.logs
        self.state, self.witness = self.own.state, self.own.witness
        super().__init__(self.own.app(), name=f"witness {self.signer.name}", host=host, port=port)

    def stop(self) -> None:
        """Stop serving (requests in progress are answered first) and close the state file."""
        super().stop()
        self.own.close()


def create_app(witness: Witness) -> Starlette:
    """The witness's HTTP application: ``POST /add-checkpoint``."""

    async def add_checkpoint(request: Request) -> Response:
        body = await body_within(request, MAX_REQUEST_BYTES)
        if body is None:
            return PlainTextResponse(
                f"request is larger than {MAX_REQUEST_BYTES} bytes\n", status_code=413
            )
        # the witness reads and writes its state file: not on the event loop
        return await run_in_threadpool(_answer, witness, body)

    async def leaves(request: Request) -> Response:
        return await run_in_threadpool(_leaves, witness, request.query_params)

    return Starlette(
        routes=[
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/leaves", leaves, methods=["GET"]),
        ]
    )


def _leaves(witness: Witness, params: Mapping[str, str]) -> Response:
    """A page of the leaf hashes this witness kept (hashes only: nothing of the entries)."""
    keeper = witness.leaves
    if keeper is None:
        return PlainTextResponse(_("this witness keeps no leaf hashes") + "\n", status_code=404)
    origin = params.get("origin") or (witness.origins[0] if len(witness.origins) == 1 else "")
    if origin not in witness.origins:
        return PlainTextResponse(
            _("unknown log origin {origin!r}").format(origin=origin) + "\n", status_code=404
        )
    try:
        start = int(params.get("start", "0"))
        end = int(params["end"]) if "end" in params else start + PAGE
    except ValueError:
        return PlainTextResponse(_("start and end are entry indexes") + "\n", status_code=400)
    if start < 0 or end < start:
        return PlainTextResponse(_("start and end are entry indexes") + "\n", status_code=400)
    packed = keeper.copy(origin, start, min(end, start + PAGE))
    return JSONResponse(
        {
            "witness": witness.name,
            "origin": origin,
            "start": min(start, keeper.tree(origin).size),
            "size": keeper.tree(origin).size,
            "leaf_hashes": [
                b64encode(packed[i : i + HASH_SIZE]) for i in range(0, len(packed), HASH_SIZE)
            ],
        }
    )


def _answer(witness: Witness, body: bytes) -> Response:
    try:
        request = AddCheckpointRequest.parse(body)
        signature = witness.add_checkpoint(request.checkpoint, request.old_size, request.proof)
    except WitnessError as e:
        return _refusal(e, body)
    checkpoint = Checkpoint.parse(parse_note(request.checkpoint)[0])
    log.info(
        _("cosigned {origin} at size {size}").format(origin=checkpoint.origin, size=checkpoint.size)
    )
    return PlainTextResponse(signature.line())


def _refusal(error: WitnessError, body: bytes) -> Response:
    log.warning(
        _("refused a checkpoint ({reason}, {status}): {error}").format(
            reason=error.reason, status=error.status, error=error
        )
    )
    if isinstance(error, ForkError | InconsistentError):
        # a checkpoint the log signed that contradicts what we cosigned: keep it as evidence
        log.warning(
            _("evidence: the signed request was\n{body}").format(
                body=body.decode("utf-8", "replace")
            )
        )
    if error.status == 409 and error.latest_size is not None:
        # exactly this media type, without a charset parameter, as the spec writes it
        return Response(
            f"{error.latest_size}\n", status_code=409, headers={"content-type": SIZE_TYPE}
        )
    return PlainTextResponse(f"{error}\n", status_code=error.status)

"""A contingent's witness on its own node: the C2SP tlog-witness HTTP service.

Why: a witness whose key and memory sit in the center's process protects nobody from the
center. Here each contingent runs its :class:`~ceasefire.ledger.witness.Witness` on its own node,
with its own signer key and its own state file, and the center asks it over HTTP
(:mod:`ceasefire.ledger.witness_client`). The center then holds only the contingents' verifier
keys, and a history rewritten at the center cannot get that contingent's cosignature.

One endpoint, as https://c2sp.org/tlog-witness says: ``POST <prefix>/add-checkpoint`` with
``old N``, the consistency proof lines in base64, an empty line and the signed checkpoint;
``200`` with the cosignature line, ``409`` (``text/x.tlog.size``, the latest size) when the old
size is not the last cosigned one or the checkpoint forks or rolls back, ``404`` unknown origin,
``403`` no valid log signature, ``422`` inconsistent proof, ``400`` malformed, ``413`` too large.

The state (last cosigned size and root per origin) is a SQLite file of the node's own, written
with a compare-and-swap before the answer leaves (:class:`DatabaseWitnessState`): durable across
restarts, and of two requests checked against the same old size only one wins.
"""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ceasefire.i18n import _
from ceasefire.ledger.checkpoint import Checkpoint
from ceasefire.ledger.cosign import DatabaseWitnessState
from ceasefire.ledger.note import parse_note
from ceasefire.ledger.witness import (
    MAX_REQUEST_BYTES,
    SIZE_TYPE,
    AddCheckpointRequest,
    ForkError,
    InconsistentError,
    Witness,
    WitnessError,
)
from ceasefire.store.db import create
from ceasefire.store.schema import witness_state

log = logging.getLogger("ceasefire.witness")


def open_state(path: Path | str, witness: str) -> DatabaseWitnessState:
    """The witness's state in its own SQLite file (WAL, ``synchronous=FULL``), made if need be.

    ``witness`` names whose rows these are (the witness's key name): the key may be rotated,
    the name and therefore the memory stay.
    """
    engine = create(str(path))
    witness_state.create(engine, checkfirst=True)
    return DatabaseWitnessState(engine, witness)


def create_app(witness: Witness) -> Starlette:
    """The witness's HTTP application: ``POST /add-checkpoint``."""

    async def add_checkpoint(request: Request) -> Response:
        body = await _body(request)
        if body is None:
            return PlainTextResponse(
                f"request is larger than {MAX_REQUEST_BYTES} bytes\n", status_code=413
            )
        # the witness reads and writes its state file: not on the event loop
        return await run_in_threadpool(_answer, witness, body)

    return Starlette(routes=[Route("/add-checkpoint", add_checkpoint, methods=["POST"])])


async def _body(request: Request) -> bytes | None:
    """The request body, or None once it is larger than any checkpoint request can be."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_REQUEST_BYTES:
            return None
    return bytes(body)


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

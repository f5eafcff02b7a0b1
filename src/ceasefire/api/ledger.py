"""The ledger over HTTP, read-only: the latest cosigned checkpoint, entries, and RFC 9162
inclusion and consistency proofs that a client checks against that checkpoint's root.

No key is needed: checkpoints are stored already signed and cosigned
(:func:`ceasefire.ledger.cosign.make_checkpoint`), and proofs come from the log's Merkle tree
kept in memory by :class:`ceasefire.ledger.reader.LedgerReader` and caught up on each request.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import Engine

from ceasefire.api import problems
from ceasefire.api.access import current_user
from ceasefire.api.models import (
    ConsistencyProof,
    InclusionProof,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerRange,
)
from ceasefire.api.params import Checks, invalid, negotiate_media_type
from ceasefire.api.problems import Problem
from ceasefire.i18n import _
from ceasefire.ledger import log
from ceasefire.ledger.entry import timestamp
from ceasefire.ledger.merkle import MerkleTree
from ceasefire.ledger.note import b64encode
from ceasefire.ledger.reader import LedgerReader
from ceasefire.mission import Mission
from ceasefire.timeutil import iso
from ceasefire.workflow.blindness import WITHHELD_KIND, withheld_entry

MAX_INDEX = 2**63 - 1
"""Indexes and sizes are stored as signed 64-bit numbers."""
MAX_RANGE = 1000
"""The most entries one request for a range reads."""


def _no_checkpoint() -> Problem:
    return Problem(404, _("The ledger has no cosigned checkpoint yet."), type=problems.NOT_FOUND)


def _at_most(field: str, limit: int, value: int) -> str:
    return _("The parameter {field} must be at most {limit}; got {value}.").format(
        field=field, limit=limit, value=value
    )


def router(prefix: str, engine: Engine, mission: Mission) -> APIRouter:
    """The routes ``/ledger/...`` under ``prefix``."""
    api = APIRouter(prefix=f"{prefix}/ledger")
    reader = LedgerReader(engine)

    def requested_size(given: int | None, field: str) -> int:
        """``given``, or the latest cosigned checkpoint's size (422 without one)."""
        if given is not None:
            return given
        stored = reader.checkpoint()
        if stored is None:
            required = _("The parameter {field} is required.").format(field=field)
            invalid([problems.field_error(field, required)])
        return stored.size

    @api.get(
        "/checkpoint",
        summary="The latest checkpoint cosigned by every contingent: a C2SP signed note, or "
        "JSON with Accept: application/json",
        response_model=LedgerCheckpoint,
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
            **problems.responses(404),
        },
        tags=["ledger"],
    )
    def checkpoint(request: Request) -> Response:
        stored = reader.checkpoint()
        if stored is None:
            raise _no_checkpoint()
        vary = {"Vary": "Accept"}
        wanted = negotiate_media_type(
            request.headers.get("accept"), ["text/plain", "application/json"]
        )
        if wanted == "text/plain":
            return PlainTextResponse(stored.note, headers=vary)
        body = {
            "origin": stored.origin,
            "size": stored.size,
            "root": b64encode(stored.root_hash),
            "note": stored.note,
            "created_at": iso(stored.created_at),
        }
        return JSONResponse(body, headers=vary)

    @api.get(
        "/entries/{index}",
        summary="One log entry: the exact canonical text that was hashed, and its leaf hash",
        response_model=LedgerEntry,
        responses=problems.responses(404, 422),
        tags=["ledger"],
    )
    def entry(
        request: Request, index: int = Path(ge=0, le=MAX_INDEX, description="from 0")
    ) -> JSONResponse:
        found, size = reader.entry(index)
        if found is not None:
            with engine.connect() as db:
                hidden = withheld_entry(db, mission, current_user(request), found.kind, found.entry)
            if hidden:
                raise Problem(
                    403,
                    _(
                        "This entry carries one contingent's view of an incident that is still "
                        "blind: it stays with that contingent until both have assessed."
                    ),
                    type=problems.FORBIDDEN,
                )
        if found is None:
            raise Problem(
                404,
                _("The ledger has no entry {index}; it holds {size}.").format(
                    index=index, size=size
                ),
                type=problems.NOT_FOUND,
            )
        return JSONResponse(
            {
                "index": found.index,
                "kind": found.kind,
                "ref": found.ref,
                "appended_at": timestamp(found.appended_at),
                "entry": found.entry,
                "leaf_hash": b64encode(found.leaf_hash),
            }
        )

    @api.get(
        "/entries",
        summary="Entries start..end-1 and the frontier of the tree of size start, for a "
        "contingent's witness to check what it cosigns",
        response_model=LedgerRange,
        responses=problems.responses(403, 422),
        tags=["ledger"],
    )
    def entries(
        request: Request,
        start: int = Query(ge=0, le=MAX_INDEX, description="the first entry's index"),
        end: int = Query(ge=0, le=MAX_INDEX, description="one past the last entry's index"),
    ) -> JSONResponse:
        checks = Checks()
        if end < start:
            checks.fail("end", _("The parameter end must not be below start."))
        elif end - start > MAX_RANGE:
            checks.fail("end", _at_most("end - start", MAX_RANGE, end - start))
        checks.done()
        user = current_user(request)

        def read(tree: MerkleTree) -> dict[str, Any]:
            if end > tree.size:
                checks.fail("end", _at_most("end", tree.size, end))
            checks.done()
            return {
                "start": start,
                "end": end,
                "frontier": [b64encode(h) for h in tree.frontier(start)],
            }

        answer = reader.with_tree(read)
        with engine.connect() as db:
            found = log.entries_at(db, range(start, end))
            hidden = [withheld_entry(db, mission, user, e.kind, e.entry) for e in found]
        listed: list[dict[str, Any]] = []
        for e, withheld in zip(found, hidden, strict=True):
            if withheld:
                # blind: the witness gets the hash to build the tree, not the view (nor its kind)
                listed.append(
                    {"index": e.index, "kind": WITHHELD_KIND, "leaf_hash": b64encode(e.leaf_hash)}
                )
            else:
                listed.append({"index": e.index, "kind": e.kind, "entry": e.entry})
        answer["entries"] = listed
        return JSONResponse(answer)

    @api.get(
        "/proof/inclusion",
        summary="RFC 9162 inclusion proof of the entry at index in the tree of size",
        response_model=InclusionProof,
        responses=problems.responses(422),
        tags=["ledger"],
    )
    def inclusion(
        index: int = Query(ge=0, le=MAX_INDEX, description="the entry's index, from 0"),
        size: int | None = Query(
            None,
            ge=1,
            le=MAX_INDEX,
            description="the tree size; default the latest cosigned checkpoint's",
        ),
    ) -> JSONResponse:
        tree_size = requested_size(size, "size")

        def prove(tree: MerkleTree) -> dict[str, Any]:
            checks = Checks()
            if tree_size > tree.size:
                checks.fail("size", _at_most("size", tree.size, tree_size))
            elif index >= tree_size and size is None and index < tree.size:
                # The entry exists but the newest cosigned checkpoint does not cover it yet.
                checks.fail(
                    "index",
                    _(
                        "Entry {index} is not in a cosigned checkpoint yet: the newest covers "
                        "entries 0 to {last}. Ask again after the next checkpoint."
                    ).format(index=index, last=tree_size - 1),
                )
            elif index >= tree_size:
                checks.fail("index", _at_most("index", tree_size - 1, index))
            checks.done()
            return {
                "index": index,
                "size": tree_size,
                "leaf_hash": b64encode(tree.leaf(index)),
                "proof": [b64encode(h) for h in tree.inclusion_proof(index, tree_size)],
            }

        return JSONResponse(reader.with_tree(prove))

    @api.get(
        "/proof/consistency",
        summary="RFC 9162 consistency proof that the tree of size new extends that of size old",
        response_model=ConsistencyProof,
        responses=problems.responses(422),
        tags=["ledger"],
    )
    def consistency(
        old: int = Query(ge=0, le=MAX_INDEX, description="the earlier tree size"),
        new: int | None = Query(
            None,
            ge=0,
            le=MAX_INDEX,
            description="the later tree size; default the latest cosigned checkpoint's",
        ),
    ) -> JSONResponse:
        new_size = requested_size(new, "new")

        def prove(tree: MerkleTree) -> dict[str, Any]:
            checks = Checks()
            if new_size > tree.size:
                checks.fail("new", _at_most("new", tree.size, new_size))
            if old > new_size:
                checks.fail("old", _at_most("old", new_size, old))
            checks.done()
            return {
                "old_size": old,
                "new_size": new_size,
                "proof": [b64encode(h) for h in tree.consistency_proof(old, new_size)],
            }

        return JSONResponse(reader.with_tree(prove))

    return api


__all__ = ["MAX_INDEX", "router"]

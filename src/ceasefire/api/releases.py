"""`/releases`: the bundles released to parties and the force, each liaison seeing its own.

A bundle is the same file `ceasefire release` wrote: records, inclusion proofs, a cosigned
checkpoint and the keys, verifiable offline with `ceasefire verify --bundle` or any RFC 9162
implementation.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, select

from ceasefire.api import problems
from ceasefire.api.access import current_user
from ceasefire.api.problems import Problem
from ceasefire.i18n import _
from ceasefire.store.schema import releases
from ceasefire.timeutil import iso
from ceasefire.workflow.roles import User

LIAISONS = ("liaison", "party_liaison")


def _visible(user: User) -> Any:
    """Contingent users and auditors read every release; a liaison only its own."""
    if user.role in LIAISONS:
        return releases.c.released_to == user.affiliation
    return None


def router(prefix: str, engine: Engine) -> APIRouter:
    api = APIRouter(prefix=prefix)

    @api.get(
        "/releases",
        summary="The releases you may read: all of them, or a liaison's own party's or force's",
        tags=["releases"],
    )
    def listing(request: Request) -> JSONResponse:
        query = select(
            releases.c.id,
            releases.c.released_to,
            releases.c.released_at,
            releases.c.log_size,
            releases.c.entries,
            releases.c.bundle_sha256,
            releases.c.ledger_index,
        ).order_by(releases.c.id)
        condition = _visible(current_user(request))
        if condition is not None:
            query = query.where(condition)
        with engine.connect() as db:
            rows = db.execute(query).all()
        return JSONResponse(
            {
                "releases": [
                    {
                        "id": r.id,
                        "released_to": r.released_to,
                        "released_at": iso(r.released_at),
                        "log_size": r.log_size,
                        "entries": r.entries,
                        "bundle_sha256": r.bundle_sha256,
                        "ledger_index": r.ledger_index,
                        "href": f"{prefix}/releases/{r.id}",
                    }
                    for r in rows
                ]
            }
        )

    @api.get(
        "/releases/{release_id}",
        summary="One release bundle, as written: verify it offline",
        responses=problems.responses(404),
        tags=["releases"],
    )
    def bundle(request: Request, release_id: int = Path(ge=1)) -> JSONResponse:
        query = select(releases.c.bundle).where(releases.c.id == release_id)
        condition = _visible(current_user(request))
        if condition is not None:
            query = query.where(condition)
        with engine.connect() as db:
            text = db.execute(query).scalar_one_or_none()
        if text is None:
            # Another party's release is "not found" too: its existence is not for you.
            raise Problem(404, _("No such release for you."), type=problems.NOT_FOUND)
        return JSONResponse(json.loads(text))

    return api

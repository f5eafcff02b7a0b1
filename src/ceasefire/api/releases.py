"""`/releases`: the bundles released to parties and the force, each liaison seeing its own.

A bundle is the same file `ceasefire release` wrote: records, inclusion proofs, a cosigned
checkpoint and the keys, verifiable offline with `ceasefire verify --bundle` or any RFC 9162
implementation.

A release's id is its recipient and its number among that recipient's releases (``AZ-1``,
``AZ-2``): a global sequence would tell AZ how many went to AM.
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
from ceasefire.ledger.tables import releases
from ceasefire.timeutil import iso
from ceasefire.workflow.roles import User

LIAISONS = ("liaison", "party_liaison")


def visible_to(user: User) -> Any:
    """Contingent users and auditors read every release; a liaison only its own."""
    if user.role in LIAISONS:
        return releases.c.released_to == user.affiliation
    return None


def numbered(rows: list[Any]) -> list[tuple[str, Any]]:
    """Each row (in id order) with its public id: recipient and number among its releases."""
    count: dict[str, int] = {}
    numbered = []
    for r in rows:
        count[r.released_to] = count.get(r.released_to, 0) + 1
        numbered.append((f"{r.released_to}-{count[r.released_to]}", r))
    return numbered


def router(prefix: str, engine: Engine) -> APIRouter:
    api = APIRouter(prefix=prefix)

    def visible_rows(user: User, to: str | None = None) -> list[Any]:
        query = select(
            releases.c.id,
            releases.c.released_to,
            releases.c.released_at,
            releases.c.log_size,
            releases.c.entries,
            releases.c.bundle_sha256,
        ).order_by(releases.c.id)
        condition = visible_to(user)
        if condition is not None:
            query = query.where(condition)
        if to is not None:
            query = query.where(releases.c.released_to == to)
        with engine.connect() as db:
            return list(db.execute(query).all())

    @api.get(
        "/releases",
        summary="The releases you may read: all of them, or a liaison's own party's or force's",
        tags=["releases"],
    )
    def listing(request: Request) -> JSONResponse:
        rows = visible_rows(current_user(request))
        return JSONResponse(
            {
                "releases": [
                    {
                        "id": public_id,
                        "released_to": r.released_to,
                        "released_at": iso(r.released_at),
                        "log_size": r.log_size,
                        "entries": r.entries,
                        "bundle_sha256": r.bundle_sha256,
                        "href": f"{prefix}/releases/{public_id}",
                    }
                    for public_id, r in numbered(rows)
                ]
            }
        )

    @api.get(
        "/releases/{release_id}",
        summary="One release bundle, as written: verify it offline",
        responses=problems.responses(404),
        tags=["releases"],
    )
    def bundle(
        request: Request,
        release_id: str = Path(
            max_length=40,
            pattern=r"^[A-Z0-9]{1,3}-[1-9][0-9]{0,17}$",
            description="the recipient and the release's number among its own, e.g. AZ-1",
        ),
    ) -> JSONResponse:
        to = release_id.rsplit("-", 1)[0]
        found = dict(numbered(visible_rows(current_user(request), to))).get(release_id)
        text = None
        if found is not None:
            with engine.connect() as db:
                query = select(releases.c.bundle).where(releases.c.id == found.id)
                text = db.execute(query).scalar_one_or_none()
        if text is None:
            # Another party's release is "not found" too: its existence is not for you.
            raise Problem(404, _("No such release for you."), type=problems.NOT_FOUND)
        return JSONResponse(json.loads(text))

    return api

"""`/releases`: the bundles released to parties and the force, each liaison seeing its own.

A bundle is the same file `ceasefire release` wrote: records, inclusion proofs, a cosigned
checkpoint and the keys, verifiable offline with `ceasefire verify --bundle` or any RFC 9162
implementation. Who reads which is the workflow's rule (:mod:`ceasefire.workflow.releases`).
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from ceasefire.api import problems
from ceasefire.api.access import current_user
from ceasefire.api.problems import Problem
from ceasefire.i18n import _
from ceasefire.timeutil import iso
from ceasefire.workflow import releases


def router(prefix: str, engine: Engine) -> APIRouter:
    api = APIRouter(prefix=prefix)

    @api.get(
        "/releases",
        summary="The releases you may read: all of them, or a liaison's own party's or force's",
        tags=["releases"],
    )
    def listing(request: Request) -> JSONResponse:
        with engine.connect() as db:
            rows = releases.readable(db, current_user(request))
            # what each released incident has become since (the same for every reader)
            incidents = releases.released_incidents(db, [r.ledger_index for _id, r in rows])
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
                        "incidents": incidents.get(r.ledger_index, []),
                        "href": f"{prefix}/releases/{public_id}",
                    }
                    for public_id, r in rows
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
        with engine.connect() as db:
            text = releases.bundle(db, current_user(request), release_id)
        if text is None:
            # Another party's release is "not found" too: its existence is not for you.
            raise Problem(404, _("No such release for you."), type=problems.NOT_FOUND)
        return JSONResponse(json.loads(text))

    return api

"""The notices over HTTP, and the dispatcher plugged into the center.

``GET /notices`` (``?status=dead`` for the dead letters), ``GET /notices/{id}`` and
``POST /notices/{id}/retry``: both contingents' officers read every notice alike, with each
channel's delivery and the delay between the parties' deliveries of its batch; either
contingent's duty officer retries a dead letter (logged with who asked). The capability also
registers the dispatcher job that `ceasefire serve` runs (:mod:`ceasefire.center.dispatch`).
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from ceasefire.api import problems
from ceasefire.api.access import PREFIX, current_user
from ceasefire.api.params import Checks, one_of, parse_choice
from ceasefire.center import Center
from ceasefire.center import dispatch as dispatch_
from ceasefire.dissemination.notices import STATUSES

NOTICE_ID = Path(max_length=80, description="the notice's id, e.g. NTC-1a2b3c4d5e6f7a8b")


def plug(center: Center) -> None:
    """The dispatcher beside the API (one at a time across every center on the store: its
    process runs where the lease ``dispatcher-process`` is held, and sends under the lease
    ``dispatcher``), and the notices' routes."""
    if center.settings.dispatch:  # a leased job stands by even when it has nothing to run
        center.add_job(dispatch_.dispatch_job, lease=dispatch_.PROCESS_LEASE)
    center.add_router(router)


def router(center: Center) -> APIRouter:
    api = APIRouter(prefix=PREFIX, tags=["notices"])

    @api.get(
        "/notices",
        summary="Notices with each channel's delivery, the dead letters and the parties' skew",
        responses=problems.responses(401, 403, 422),
    )
    def list_notices(
        request: Request,
        status: str | None = Query(
            None, description=", ".join(STATUSES), json_schema_extra=one_of(STATUSES)
        ),
        incident: str | None = Query(None, max_length=80, description="only this incident's"),
        recipient: str | None = Query(None, max_length=8, description="only this recipient's"),
        limit: int | None = Query(None, ge=1, le=10_000),
    ) -> JSONResponse:
        checks = Checks()
        checks.check("status", status, lambda t: parse_choice(t, STATUSES, "status"))
        values = checks.done()
        found = dispatch_.list_notices(
            center,
            current_user(request),
            status=values.get("status"),
            incident_id=incident,
            recipient=recipient,
            limit=limit,
        )
        state = dispatch_.dispatcher_state(center, current_user(request))
        return JSONResponse({"notices": [n.record() for n in found], **state.record()})

    @api.get(
        "/notices/{notice_id}",
        summary="One notice with its deliveries",
        responses=problems.responses(401, 403, 404),
    )
    def get_notice(request: Request, notice_id: str = NOTICE_ID) -> JSONResponse:
        return JSONResponse(dispatch_.get_notice(center, current_user(request), notice_id).record())

    @api.post(
        "/notices/{notice_id}/retry",
        summary="Send a dead letter again: its dead deliveries go back to their queues",
        responses=problems.responses(401, 403, 404, 409),
    )
    def retry(request: Request, notice_id: str = NOTICE_ID) -> JSONResponse:
        count = dispatch_.retry_notice(center, current_user(request), notice_id)
        return JSONResponse({"notice": notice_id, "deliveries": count})

    return api

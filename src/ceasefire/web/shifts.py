"""The shift board: who is on duty for each contingent, the handover report, and the handover
that both outgoing officers confirm (:mod:`ceasefire.workflow.handover`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from ceasefire.i18n import _
from ceasefire.web.pages import Web, may
from ceasefire.workflow import handover, shifts
from ceasefire.workflow.errors import WorkflowError


def add_routes(app: FastAPI, web: Web) -> None:
    mission = web.mission

    def board(request: Request, status_code: int = 200, error: str = "") -> Response:
        user = web.user(request)
        web.require(user, "read_roster")
        now = datetime.now(UTC)

        def step(db: Connection) -> dict[str, object]:
            planned = shifts.roster(
                db, mission, since=now - timedelta(hours=24), until=now + timedelta(hours=48)
            )
            report = shifts.handover_report(db, mission, user, at=now)
            current = report["shift"]
            done = handover.confirmations(db, current["id"]) if current else {}
            return {"planned": planned, "report": report, "done": done}

        data = web.read(step)
        return web.render(
            request,
            "shifts.html",
            user,
            status_code,
            error=error or request.query_params.get("refused", ""),
            may_roster=may(user, "manage_roster"),
            now=now,
            **data,
        )

    @app.get("/shifts")
    def shift_board(request: Request) -> Response:
        return board(request)

    async def act(request: Request, step: object) -> Response:
        try:
            await run_in_threadpool(web.write, step)  # type: ignore[arg-type]
        except WorkflowError as refused:
            return await run_in_threadpool(board, request, 409, str(refused))
        return RedirectResponse("/shifts?done=shift", status_code=303)

    @app.post("/shifts")
    async def plan(request: Request) -> Response:
        user = await run_in_threadpool(web.user, request)
        data = await web.form(request)
        zone = ZoneInfo(mission.config.timezone)
        try:
            starts = datetime.fromisoformat(data.get("starts", "")).replace(tzinfo=zone)
            ends = datetime.fromisoformat(data.get("ends", "")).replace(tzinfo=zone)
        except ValueError:
            message = _("Give the start and the end of the shift.")
            return await run_in_threadpool(board, request, 422, message)
        return await act(
            request,
            lambda db: shifts.add_shift(db, mission, user, starts, ends, data.get("label", "")),
        )

    @app.post("/shifts/{shift_id}/assign")
    async def put_me_on(request: Request, shift_id: str) -> Response:
        user = await run_in_threadpool(web.user, request)
        await web.form(request)
        return await act(request, lambda db: shifts.assign(db, mission, user, shift_id, user.name))

    @app.post("/shifts/{shift_id}/handover")
    async def confirm(request: Request, shift_id: str) -> Response:
        user = await run_in_threadpool(web.user, request)
        await web.form(request)
        return await act(request, lambda db: handover.confirm_handover(db, mission, user, shift_id))

"""The duty roster over HTTP, like ``ceasefire shift roster|add|assign``.

A thin layer over :mod:`ceasefire.workflow.shifts`: either contingent plans a shift, each puts
only its own officers on it (the library checks), and every shift says which contingents have
no officer on it yet (``missing``), so that one that would run with one side only is seen.
The handover report is ``GET /shifts/handover`` (:mod:`ceasefire.api.workflow`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ceasefire.api import problems
from ceasefire.api.access import current_user
from ceasefire.api.params import TIME, Checks, parse_time
from ceasefire.api.problems import Problem, field_error
from ceasefire.center.core import Center
from ceasefire.i18n import _
from ceasefire.workflow import shifts

SHIFT_ID = Path(max_length=80, description="the shift's id, e.g. SHIFT-1a2b3c4d5e")


class ShiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_at: str = Field(
        max_length=40, description="ISO 8601 with an offset or Z", json_schema_extra=TIME
    )
    ends_at: str = Field(
        max_length=40, description="ISO 8601 with an offset or Z", json_schema_extra=TIME
    )
    label: str = Field(default="", max_length=200)


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    officer: str = Field(max_length=64, description="a duty officer or head of your contingent")


def _body_times(body: ShiftIn) -> tuple[datetime, datetime]:
    """The shift's times; 422 naming each bad member (a time without an offset is refused,
    as in the query parameters: the API does not guess the mission's zone)."""
    errors = []
    times = []
    for name, text in (("starts_at", body.starts_at), ("ends_at", body.ends_at)):
        try:
            times.append(parse_time(text, name))
        except ValueError as error:
            errors.append(field_error(name, str(error), "body"))
    if errors:
        detail = errors[0]["reason"] if len(errors) == 1 else _("The body has invalid members.")
        raise Problem(422, detail, type=problems.INVALID_BODY, errors=errors)
    return times[0], times[1]


def router(prefix: str, center: Center) -> APIRouter:
    """``/shifts`` and ``/shifts/{shift_id}/assign`` under ``prefix``."""
    api = APIRouter(prefix=prefix, tags=["shifts"])

    @api.get(
        "/shifts",
        summary="The roster: shifts with their officers; missing names contingents without one",
        responses=problems.responses(401, 403, 422),
    )
    def roster(
        since: str | None = Query(
            None, description="shifts ending after, ISO 8601 with offset", json_schema_extra=TIME
        ),
        until: str | None = Query(
            None, description="shifts starting before, ISO 8601 with offset", json_schema_extra=TIME
        ),
    ) -> JSONResponse:
        checks = Checks()
        checks.check("since", since, lambda t: parse_time(t, "since"))
        checks.check("until", until, lambda t: parse_time(t, "until"))
        values = checks.done()
        found = center.roster(values.get("since"), values.get("until"))
        return JSONResponse({"shifts": [_record(s) for s in found]})

    @api.post(
        "/shifts",
        summary="Plan a shift (a duty officer or head); flagged until every contingent is on it",
        status_code=201,
        responses=problems.responses(401, 403, 422),
    )
    def add_shift(request: Request, body: ShiftIn) -> JSONResponse:
        starts_at, ends_at = _body_times(body)
        made = center.add_shift(current_user(request), starts_at, ends_at, body.label)
        return JSONResponse(_record(made), status_code=201)

    @api.post(
        "/shifts/{shift_id}/assign",
        summary="Put an officer of your own contingent on a shift",
        responses=problems.responses(401, 403, 404, 409, 422),
    )
    def assign(request: Request, body: AssignIn, shift_id: str = SHIFT_ID) -> JSONResponse:
        done = center.assign(current_user(request), shift_id, body.officer)
        return JSONResponse(_record(done))

    return api


def _record(shift: shifts.Shift) -> dict[str, Any]:
    # ``flagged``: the shift would run without an officer of some contingent (``missing``)
    return {**shift.record(), "flagged": bool(shift.missing)}


__all__ = ["AssignIn", "ShiftIn", "router"]

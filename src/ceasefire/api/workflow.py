"""Log-in and the joint workflow over HTTP: assessments, findings, decisions, the handover.

A thin layer over :mod:`ceasefire.workflow`, like ``ceasefire assess|finding|decide|approve``:
the route's rule (:mod:`ceasefire.api.access`) lets a role in, the library checks the rest
(own contingent, blind assessments, tiers and keys) and its refusals become problem details
(Forbidden 403, NotFound 404, Conflict 409, Invalid 422). Each write is one transaction, so a
step and its ledger entry commit together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Engine

from ceasefire.api import problems
from ceasefire.api.access import bearer, current_user
from ceasefire.api.login_limits import limiter_for, retry_after
from ceasefire.center.core import Answer, Center
from ceasefire.i18n import _
from ceasefire.mission.model import REACTIONS, SEVERITIES
from ceasefire.workflow import assessments, decisions, findings, roles, shifts
from ceasefire.workflow._common import incident_status
from ceasefire.workflow.errors import Forbidden

T = TypeVar("T")
INCIDENT_ID = Path(max_length=80, description="the incident's id, e.g. INC-3dcd3a1ea278")
DECISION_ID = Path(max_length=80, description="the decision's id, e.g. DEC-1a2b3c4d5e6f")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LogIn(_Body):
    name: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class AssessmentIn(_Body):
    violation: str = Field(
        description="yes, no or undetermined",
        json_schema_extra={"enum": list(assessments.VIOLATIONS)},
    )
    clauses: list[str] = Field(default_factory=list, max_length=50)
    attribution: str = Field(
        default=assessments.NOT_ATTRIBUTED, description="a party id or not_attributed"
    )
    severity: str | None = Field(
        default=None,
        description="low, medium, high or critical",
        json_schema_extra={"enum": [*SEVERITIES, None]},
    )
    remarks: str = Field(default="", max_length=10_000)
    contingent: str | None = Field(
        default=None, description="default and only allowed value: the caller's own contingent"
    )


class DecisionIn(_Body):
    reaction: str = Field(
        description="a reaction of the mission's catalogue",
        json_schema_extra={"enum": list(REACTIONS)},
    )
    party: str | None = Field(default=None, description="request_explanation: which party")
    contingent: str | None = Field(default=None, description="request_reobservation: whose drones")
    urgent: bool = Field(default=False, description="take it now (a duty officer, urgent tier)")
    remarks: str = Field(default="", max_length=10_000)


class StepIn(_Body):
    remarks: str = Field(default="", max_length=10_000)


def writer(engine: Engine, lock: threading.Lock) -> Callable[[Callable[[Connection], T]], T]:
    """``write(step)``: ``step`` in one transaction under the writers' lock, which serialises
    this process's writers of the store (the API, the CoT listeners, the scheduler), so that a
    change and its log entry commit together."""

    def write(step: Callable[[Connection], T]) -> T:
        with lock, engine.begin() as db:
            return step(db)

    return write


def router(prefix: str, center: Center) -> APIRouter:
    """``/session``, ``/incidents/{id}/assessments|finding|decisions``, ``/decisions/...`` and
    ``/shifts/handover`` under ``prefix``: each step a verb of the :class:`Center`."""
    api = APIRouter(prefix=prefix)
    engine, mission = center.engine, center.mission

    write = writer(engine, center.lock)
    limiter = limiter_for(engine)

    def read(step: Callable[[Connection], T]) -> T:
        with engine.connect() as db:
            return step(db)

    # -- log-in -----------------------------------------------------------------------------

    @api.post(
        "/session",
        summary="Log in with name and password: a session token for Authorization: Bearer",
        responses=problems.responses(401, 422, 429, 503),
        tags=["session"],
    )
    def log_in(request: Request, body: LogIn) -> JSONResponse:
        address = request.client.host if request.client is not None else ""
        wait = limiter.wait_s(address, body.name)
        if wait:
            raise problems.Problem(
                429,
                _("Too many failed log-ins from this address; try again in {seconds} s.").format(
                    seconds=retry_after(wait)
                ),
                type=problems.TOO_MANY_ATTEMPTS,
                headers={"Retry-After": retry_after(wait)},
            )
        if not limiter.checks.acquire(timeout=10):
            raise problems.Problem(
                503,
                _("Too many log-ins at once; try again in a moment."),
                type=problems.UNAVAILABLE,
                headers={"Retry-After": "1"},
            )
        try:
            # outside the writers' lock: a password check takes a tenth of a second, which
            # the intake must not wait for
            user = read(lambda db: roles.authenticate(db, body.name, body.password))
        except Forbidden as refused:
            limiter.failed(address, body.name)
            raise problems.Problem(401, str(refused), type=problems.UNAUTHENTICATED) from None
        finally:
            limiter.checks.release()
        limiter.succeeded(address, body.name)
        token = write(lambda db: roles.issue_token(db, user.name, roles.SESSION_LABEL))
        return JSONResponse(
            {
                "token": token,
                "token_type": "Bearer",
                "expires_in": int(roles.SESSION_HOURS * 3600),
                "user": _user(user),
            },
            status_code=201,
            headers={"Cache-Control": "no-store"},
        )

    @api.delete(
        "/session",
        summary="Log out: revoke the session token sent in Authorization",
        status_code=204,
        responses=problems.responses(401, 409),
        tags=["session"],
    )
    def log_out(request: Request) -> Response:
        token = bearer(request)
        assert token is not None  # the guard let a signed-in user in
        write(lambda db: roles.end_session(db, token))
        return Response(status_code=204)

    # -- assessments and findings -----------------------------------------------------------

    @api.post(
        "/incidents/{incident_id}/assessments",
        summary="Submit your contingent's assessment (a new version if one exists)",
        status_code=201,
        responses=problems.responses(401, 403, 404, 422),
        tags=["workflow"],
    )
    def submit_assessment(
        request: Request, body: AssessmentIn, incident_id: str = INCIDENT_ID
    ) -> JSONResponse:
        made, outcome = center.assess(
            current_user(request),
            incident_id,
            violation=body.violation,
            clauses=body.clauses,
            attribution=body.attribution,
            severity=body.severity,
            remarks=body.remarks,
            contingent=body.contingent,
        )
        answer = {**made.record(), "ledger_index": made.ledger_index, "outcome": outcome}
        return JSONResponse(answer, status_code=201)

    @api.get(
        "/incidents/{incident_id}/assessments",
        summary="The assessments you may read, side by side (only your own side's while blind)",
        responses=problems.responses(401, 403, 404),
        tags=["workflow"],
    )
    def list_assessments(
        request: Request,
        incident_id: str = INCIDENT_ID,
        all_versions: bool = Query(False, description="every version, not only the latest"),
    ) -> JSONResponse:
        user = current_user(request)

        def step(db: Connection) -> dict[str, Any]:
            seen = assessments.visible(db, mission, user, incident_id)
            latest: dict[str, assessments.Assessment] = {}
            for a in seen:
                latest[a.contingent] = a
            shown = seen if all_versions else list(latest.values())
            return {
                "incident": incident_id,
                "blind": assessments.is_blind(db, mission, incident_id),
                "assessments": [a.record() for a in shown],
            }

        return JSONResponse(read(step))

    @api.get(
        "/incidents/{incident_id}/finding",
        summary="The joint finding or dispute of an incident (null before both assessed)",
        responses=problems.responses(401, 403, 404),
        tags=["workflow"],
    )
    def get_finding(request: Request, incident_id: str = INCIDENT_ID) -> JSONResponse:
        user = current_user(request)

        def step(db: Connection) -> dict[str, Any]:
            found = findings.current(db, user, incident_id)
            return {
                "incident": incident_id,
                "status": _status(db, incident_id),
                "finding": found.record if found is not None else None,
            }

        return JSONResponse(read(step))

    @api.post(
        "/incidents/{incident_id}/unblind",
        summary="A head's key to end the blind period before every contingent has assessed "
        "(it ends once a head of every contingent has given theirs)",
        responses=problems.responses(401, 403, 404, 409),
        tags=["workflow"],
    )
    def unblind(
        request: Request, incident_id: str = INCIDENT_ID, body: StepIn | None = Body(None)
    ) -> JSONResponse:
        remarks = body.remarks if body is not None else ""
        agreed, blind = center.unblind(current_user(request), incident_id, remarks=remarks)
        return JSONResponse({"incident": incident_id, "agreed": sorted(agreed), "blind": blind})

    # -- decisions --------------------------------------------------------------------------

    @api.post(
        "/incidents/{incident_id}/decisions",
        summary="Propose a reaction to an incident, or take an urgent one",
        status_code=201,
        responses=problems.responses(401, 403, 404, 409, 422),
        tags=["workflow"],
    )
    def propose(request: Request, body: DecisionIn, incident_id: str = INCIDENT_ID) -> JSONResponse:
        made = center.decide(
            current_user(request),
            incident_id,
            body.reaction,
            party=body.party,
            contingent=body.contingent,
            urgent=body.urgent,
            remarks=body.remarks,
        )
        return JSONResponse(made.shown(), status_code=201)

    @api.get(
        "/decisions",
        summary="Decisions with their tier, state and every key given, oldest first",
        responses=problems.responses(401, 403),
        tags=["workflow"],
    )
    def list_decisions(
        request: Request,
        incident: str | None = Query(None, max_length=80, description="only this incident's"),
        pending: bool = Query(False, description="only those still waiting for someone"),
    ) -> JSONResponse:
        user = current_user(request)
        found = read(
            lambda db: decisions.list_decisions(
                db, mission, user, incident_id=incident, pending=pending
            )
        )
        return JSONResponse({"decisions": [d.shown() for d in found]})

    @api.get(
        "/decisions/{decision_id}",
        summary="One decision with every key given",
        responses=problems.responses(401, 403, 404),
        tags=["workflow"],
    )
    def get_decision(request: Request, decision_id: str = DECISION_ID) -> JSONResponse:
        user = current_user(request)
        found = read(lambda db: decisions.get_decision(db, mission, user, decision_id))
        return JSONResponse(found.shown())

    def answer(name: Answer, summary: str) -> None:
        @api.post(
            f"/decisions/{{decision_id}}/{name}",
            summary=summary,
            responses=problems.responses(401, 403, 404, 409, 422),
            tags=["workflow"],
            name=f"{name}_decision",
        )
        def respond(
            request: Request,
            decision_id: str = DECISION_ID,
            body: StepIn | None = Body(None),
        ) -> JSONResponse:
            remarks = body.remarks if body is not None else ""
            done = center.answer(current_user(request), decision_id, name, remarks=remarks)
            return JSONResponse(done.shown())

    answer("approve", "Give your contingent's key to a proposed decision")
    answer("reject", "Refuse your contingent's key: the proposal ends")
    answer("confirm", "Confirm the other contingent's urgent decision")
    answer("contest", "Contest the other contingent's urgent decision")

    # -- shifts -----------------------------------------------------------------------------

    @api.get(
        "/shifts/handover",
        summary="The handover report: shifts and flags, open incidents, pending decisions",
        responses=problems.responses(401, 403),
        tags=["workflow"],
    )
    def handover(request: Request) -> JSONResponse:
        user = current_user(request)
        return JSONResponse(read(lambda db: shifts.handover_report(db, mission, user)))

    return api


def _user(user: roles.User) -> dict[str, Any]:
    return {"name": user.name, "role": user.role, "affiliation": user.affiliation}


def _status(db: Connection, incident_id: str) -> str:
    return incident_status(db, incident_id)


__all__ = ["AssessmentIn", "DecisionIn", "LogIn", "StepIn", "router"]

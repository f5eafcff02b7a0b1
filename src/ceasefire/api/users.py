"""Users and their API tokens over HTTP, like ``ceasefire users list|add|disable|token``.

A thin layer over :mod:`ceasefire.workflow.roles`: the route's rule lets a head in
(``manage_users``), and the library checks the target, so a head manages their own
contingent's users only and nobody manages the people outside the contingents but the
center's operator (on the command line). Every change and every token is logged in the
ledger in the same transaction, never with a password, hash or secret.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ceasefire.api import problems
from ceasefire.api.access import current_user
from ceasefire.center.core import Center
from ceasefire.workflow import roles

USER_NAME = Path(max_length=64, description="the user's name, e.g. ru-analyst-2")


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        max_length=64,
        description="lower-case letters, digits, '.', '_' or '-'",
        json_schema_extra={"pattern": roles.NAME_PATTERN},
    )
    role: str = Field(
        description="analyst, duty_officer or head (of the caller's contingent)",
        json_schema_extra={"enum": list(roles.ROLES)},
    )
    affiliation: str = Field(description="the caller's own contingent")
    password: str | None = Field(
        default=None, max_length=1024, description="for log-in; none for a program's user"
    )


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(default="", max_length=200, description="what the token is for")


def user_record(user: roles.User) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role,
        "affiliation": user.affiliation,
        "disabled": user.disabled,
    }


def router(prefix: str, center: Center) -> APIRouter:
    """``/users``, ``/users/{name}/disable`` and ``/users/{name}/tokens`` under ``prefix``."""
    api = APIRouter(prefix=prefix, tags=["users"])

    @api.get(
        "/users",
        summary="The users of both contingents and the others, with role and affiliation",
        responses=problems.responses(401, 403),
    )
    def list_users() -> JSONResponse:
        return JSONResponse({"users": [user_record(u) for u in center.users()]})

    @api.post(
        "/users",
        summary="Add a user of your own contingent (a head)",
        status_code=201,
        responses=problems.responses(401, 403, 409, 422),
    )
    def add_user(request: Request, body: UserIn) -> JSONResponse:
        made = center.add_user(
            body.name, body.role, body.affiliation, body.password, by=current_user(request)
        )
        return JSONResponse(user_record(made), status_code=201)

    @api.post(
        "/users/{name}/disable",
        summary="Disable a user of your own contingent and revoke their tokens (a head)",
        responses=problems.responses(401, 403, 404),
    )
    def disable_user(request: Request, name: str = USER_NAME) -> JSONResponse:
        done = center.disable_user(name, by=current_user(request))
        return JSONResponse(user_record(done))

    @api.post(
        "/users/{name}/tokens",
        summary="Issue an API token for a user of your own contingent; shown this once (a head)",
        status_code=201,
        responses=problems.responses(401, 403, 404, 409, 422),
    )
    def issue_token(
        request: Request, name: str = USER_NAME, body: TokenIn | None = Body(None)
    ) -> JSONResponse:
        label = body.label if body is not None else ""
        token = center.issue_token(name, label, by=current_user(request))
        return JSONResponse(
            {"token": token, "id": roles.token_id(token), "user": name, "label": label},
            status_code=201,
            # the secret is shown once: no cache may keep it
            headers={"Cache-Control": "no-store"},
        )

    return api


__all__ = ["TokenIn", "UserIn", "router", "user_record"]

"""RFC 9457 problem details: every error of the API, including FastAPI's own 404, 405 and 422.

A problem is a JSON object served as ``application/problem+json`` with ``type``, ``title``,
``status`` and ``detail``; a validation problem adds ``errors``, a list of ``{"field", "in",
"reason"}``. Titles and details are in the request's language (Accept-Language). Problem types
of this API are URNs ``urn:ceasefire:problem:<name>`` (see docs/api.md); plain HTTP errors use
``about:blank`` with the status's own title, as RFC 9457 section 4.2.1 recommends.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ceasefire.i18n import _
from ceasefire.workflow.errors import Conflict, Forbidden, Invalid, NotFound, WorkflowError

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
PREFIX = "urn:ceasefire:problem:"
INVALID_JSON = PREFIX + "invalid-json"
INVALID_BODY = PREFIX + "invalid-body"
INVALID_PARAMETER = PREFIX + "invalid-parameter"
TOO_LARGE = PREFIX + "too-large"
UNSUPPORTED_MEDIA_TYPE = PREFIX + "unsupported-media-type"
NOT_FOUND = PREFIX + "not-found"
UNAVAILABLE = PREFIX + "unavailable"
UNAUTHENTICATED = PREFIX + "unauthenticated"
FORBIDDEN = PREFIX + "forbidden"
CONFLICT = PREFIX + "conflict"
TOO_MANY_ATTEMPTS = PREFIX + "too-many-attempts"


class FieldError(BaseModel):
    """One bad field of a request."""

    field: str = Field(description="the parameter or body member, e.g. bbox or observations")
    in_: str = Field(alias="in", description="query, path, body or header")
    reason: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(default="about:blank", description="a URI naming the problem type")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


def _titles() -> dict[int, str]:
    # Marked for extraction here and translated when a problem is made.
    return {
        400: _("Bad Request"),
        401: _("Unauthorized"),
        403: _("Forbidden"),
        404: _("Not Found"),
        405: _("Method Not Allowed"),
        413: _("Content Too Large"),
        409: _("Conflict"),
        415: _("Unsupported Media Type"),
        422: _("Unprocessable Content"),
        500: _("Internal Server Error"),
        503: _("Service Unavailable"),
    }


def status_title(status: int) -> str:
    """The title of an HTTP status in the language in force."""
    title = _titles().get(status)
    if title is not None:
        return title
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return str(status)


class Problem(Exception):
    """Raise to answer with problem details."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type: str = "about:blank",
        title: str | None = None,
        errors: Sequence[Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type = type
        self.title = title or status_title(status)
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})


def field_error(field: str, reason: str, where: str = "query") -> dict[str, str]:
    return {"field": field, "in": where, "reason": reason}


def problem_response(
    problem: Problem, request: Request | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    if problem.errors is not None:
        body["errors"] = problem.errors
    return JSONResponse(
        body,
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers={**problem.headers, **(headers or {})},
    )


# -- FastAPI's own errors as problems ---------------------------------------------------------


def _location(loc: Sequence[int | str]) -> tuple[str, str]:
    where = str(loc[0]) if loc else ""
    rest = [str(p) for p in loc[1:]]
    return ".".join(rest) or where, where


def _reason(error: Mapping[str, Any], field: str) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    value = repr(error.get("input"))[:40]
    if kind == "missing":
        return _("The parameter {field} is required.").format(field=field)
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return _("The parameter {field} must be a whole number; got {value}.").format(
            field=field, value=value
        )
    if kind in {"float_parsing", "float_type"}:
        return _("The parameter {field} must be a number; got {value}.").format(
            field=field, value=value
        )
    if kind == "greater_than_equal":
        return _("The parameter {field} must be at least {limit}; got {value}.").format(
            field=field, limit=ctx.get("ge"), value=value
        )
    if kind == "less_than_equal":
        return _("The parameter {field} must be at most {limit}; got {value}.").format(
            field=field, limit=ctx.get("le"), value=value
        )
    if kind == "string_too_long":
        return _("The parameter {field} must be at most {limit} characters long.").format(
            field=field, limit=ctx.get("max_length")
        )
    return _("The parameter {field} is not valid: {reason}.").format(
        field=field, reason=error.get("msg", kind)
    )


async def _validation_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        field, where = _location(tuple(error.get("loc", ())))
        errors.append(field_error(field, _reason(error, field), where))
    detail = errors[0]["reason"] if len(errors) == 1 else _("The request has invalid parameters.")
    return problem_response(Problem(422, detail, type=INVALID_PARAMETER, errors=errors), request)


async def _http_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else None
    if status == 404:
        detail = _("Nothing is at {path}.").format(path=request.url.path)
    elif status == 405:
        detail = _("{path} does not accept {method}.").format(
            path=request.url.path, method=request.method
        )
        headers = {**(exc.headers or {}), "Allow": ", ".join(_allowed(request))}
        return problem_response(Problem(status, detail), request, headers)
    elif detail is None or detail == HTTPStatus(status).phrase:
        detail = status_title(status)
    return problem_response(Problem(status, detail), request, exc.headers)


def _allowed(request: Request) -> list[str]:
    """Every method the API takes at this path, from the table of every endpoint: the router
    names only those of the first route that matched, and each method is a route of its own."""
    from ceasefire.api.access import methods_at  # access answers with these problems

    return methods_at(request.url.path)


async def _own_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc, request)


def workflow_problem(error: WorkflowError) -> Problem:
    """The library's refusal as a problem: Forbidden 403, NotFound 404, Conflict 409,
    Invalid 422, with the library's (translated) reason as the detail."""
    kinds: list[tuple[type[WorkflowError], int, str]] = [
        (Forbidden, 403, FORBIDDEN),
        (NotFound, 404, NOT_FOUND),
        (Conflict, 409, CONFLICT),
        (Invalid, 422, INVALID_BODY),
    ]
    for kind, status, name in kinds:
        if isinstance(error, kind):
            return Problem(status, str(error), type=name)
    return Problem(409, str(error), type=CONFLICT)


async def _workflow_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WorkflowError)
    return problem_response(workflow_problem(exc), request)


async def _internal_problem(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        Problem(500, _("The server met an error; it is logged. Please report it.")), request
    )


def install(app: FastAPI) -> None:
    """Make every error of ``app`` a problem-details response."""
    app.add_exception_handler(Problem, _own_problem)
    app.add_exception_handler(WorkflowError, _workflow_problem)
    app.add_exception_handler(StarletteHTTPException, _http_problem)
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(Exception, _internal_problem)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses, all problem details."""
    schema = {"$ref": "#/components/schemas/ProblemDetails"}  # added by the app's openapi()
    return {
        status: {"description": status_title(status), "content": {MEDIA_TYPE: {"schema": schema}}}
        for status in statuses
    }


__all__ = [
    "CONFLICT",
    "FORBIDDEN",
    "INVALID_BODY",
    "INVALID_JSON",
    "INVALID_PARAMETER",
    "MEDIA_TYPE",
    "NOT_FOUND",
    "TOO_LARGE",
    "TOO_MANY_ATTEMPTS",
    "UNAUTHENTICATED",
    "UNAVAILABLE",
    "UNSUPPORTED_MEDIA_TYPE",
    "FieldError",
    "Problem",
    "ProblemDetails",
    "field_error",
    "install",
    "problem_response",
    "responses",
    "status_title",
    "workflow_problem",
]

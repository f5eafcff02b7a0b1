"""Who may call what: one declared rule for every endpoint under ``/api/v1``, and the guard that
enforces it before a route runs.

Why a table: the role-by-endpoint matrix must be checkable. :data:`ENDPOINTS` maps each
``(method, path)`` of the OpenAPI document to a :class:`Rule`: public, any signed-in user, or an
action of :data:`ceasefire.workflow.roles.PERMISSIONS`. The app refuses to start if a route has
no rule, and a test walks every rule for every role of every affiliation. Like ``PERMISSIONS``,
the table names no contingent, so parity holds by construction.

At the route, an action with scope ``any`` or ``own`` lets the role in (the library then checks
``own`` against each record's contingent); ``released`` lets a liaison in only where the rule
says what the endpoint's content is released to. Until releases exist (a later issue), only the
peacekeeping force receives anything: every observation (:attr:`Rule.force`).

Authentication: ``Authorization: Bearer <token>``, an API token or a log-in's session token
(:func:`ceasefire.workflow.roles.start_session`). No or a bad token: 401; a role the rule
refuses: 403 with the library's reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from ceasefire.api import problems
from ceasefire.api.problems import Problem
from ceasefire.i18n import _
from ceasefire.mission.model import Mission
from ceasefire.workflow.errors import Forbidden
from ceasefire.workflow.roles import PERMISSIONS, User, require, user_for_token

PREFIX = "/api/v1"


@dataclass(frozen=True)
class Rule:
    """Who may call one endpoint."""

    action: str | None
    """An action of ``PERMISSIONS``; None with ``signed_in`` False: public."""
    signed_in: bool = False
    """Any enabled user, whatever the role (log-out)."""
    force: bool = False
    """The content is released to the peacekeeping force (its liaison reads it)."""
    own_releases: bool = False
    """The content is what was released to the caller's own party or force: every liaison
    is let in, and the route shows each only its own."""

    @property
    def public(self) -> bool:
        return self.action is None and not self.signed_in


PUBLIC = Rule(None)
SIGNED_IN = Rule(None, signed_in=True)


def action(name: str, *, force: bool = False, own_releases: bool = False) -> Rule:
    if name not in PERMISSIONS:
        raise ValueError(f"unknown action: {name}")
    return Rule(name, force=force, own_releases=own_releases)


ENDPOINTS: dict[tuple[str, str], Rule] = {
    # the center, public: health, the record's schema, the endpoint list
    ("GET", "/health"): PUBLIC,
    ("GET", "/schemas/observation"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    # log-in for people
    ("POST", "/session"): PUBLIC,
    ("DELETE", "/session"): SIGNED_IN,
    # observations: every contingent reads both (parity); each ingests its own
    ("POST", "/observations"): action("ingest_observations"),
    ("GET", "/observations"): action("read_observations", force=True),
    ("GET", "/observations/{contingent}/{observation_id}"): action("read_observations", force=True),
    ("GET", "/coverage"): action("read_observations", force=True),
    # a contingent node's batch: no token, the node's signature over the batch is checked
    # against its contingent's registered intake key (ceasefire.node.receive)
    ("POST", "/nodes/{contingent}/batches"): PUBLIC,
    ("GET", "/quarantine"): action("read_observations"),
    # incidents and the workflow
    ("GET", "/incidents"): action("read_incident"),
    ("GET", "/incidents/{incident_id}"): action("read_incident"),
    ("POST", "/incidents/{incident_id}/assessments"): action("submit_assessment"),
    ("GET", "/incidents/{incident_id}/assessments"): action("read_assessments"),
    ("GET", "/incidents/{incident_id}/finding"): action("read_finding"),
    ("POST", "/incidents/{incident_id}/unblind"): action("lift_blindness"),
    ("POST", "/incidents/{incident_id}/decisions"): action("propose_decision"),
    ("GET", "/decisions"): action("read_decisions"),
    ("GET", "/decisions/{decision_id}"): action("read_decisions"),
    ("POST", "/decisions/{decision_id}/approve"): action("approve_decision"),
    ("POST", "/decisions/{decision_id}/reject"): action("approve_decision"),
    ("POST", "/decisions/{decision_id}/confirm"): action("respond_urgent"),
    ("POST", "/decisions/{decision_id}/contest"): action("respond_urgent"),
    ("GET", "/shifts/handover"): action("read_handover"),
    # the roster: each contingent puts its own officers on shifts (checked per officer)
    ("GET", "/shifts"): action("read_roster"),
    ("POST", "/shifts"): action("manage_roster"),
    ("POST", "/shifts/{shift_id}/assign"): action("manage_roster"),
    # users and tokens: a head manages their own contingent's (checked per target user)
    ("GET", "/users"): action("read_users"),
    ("POST", "/users"): action("manage_users"),
    ("POST", "/users/{name}/disable"): action("manage_users"),
    ("POST", "/users/{name}/tokens"): action("manage_users"),
    # the ledger: checkpoints and proofs are public material for offline verification; the
    # entries carry the records themselves
    ("GET", "/ledger/checkpoint"): PUBLIC,
    ("GET", "/ledger/proof/inclusion"): PUBLIC,
    ("GET", "/ledger/proof/consistency"): PUBLIC,
    ("GET", "/ledger/entries/{index}"): action("read_ledger"),
    ("GET", "/ledger/entries"): action("read_ledger"),
    # release bundles: each liaison fetches what went to its own party or force
    ("GET", "/releases"): action("read_releases", own_releases=True),
    ("GET", "/releases/{release_id}"): action("read_releases", own_releases=True),
    # the direct lines coming back: a notice's link or its recipient's signature is the
    # credential of an acknowledgement (a party's inbox has no account); answers and
    # complaints are a party's liaison's; both contingents read them
    ("GET", "/notices/{notice_id}/ack"): PUBLIC,
    ("POST", "/notices/{notice_id}/ack"): PUBLIC,
    ("POST", "/notices/{notice_id}/answer"): action("answer_request", own_releases=True),
    ("POST", "/complaints"): action("file_complaint", own_releases=True),
    ("GET", "/messages"): action("read_incident"),
    # OGC API - Features: the landing page and conformance are public; the collections are
    # read by any signed-in user, each seeing what it may (ceasefire.reports.scope)
    ("GET", "/ogc"): PUBLIC,
    ("GET", "/ogc/conformance"): PUBLIC,
    ("GET", "/ogc/collections"): SIGNED_IN,
    ("GET", "/ogc/collections/{collection_id}"): SIGNED_IN,
    ("GET", "/ogc/collections/{collection_id}/queryables"): SIGNED_IN,
    ("GET", "/ogc/collections/{collection_id}/items"): SIGNED_IN,
    ("GET", "/ogc/collections/{collection_id}/items/{fid}"): SIGNED_IN,
    # statistics and the signed daily reports: joint products over every incident, read as
    # incidents are (a party receives a report over its direct line)
    ("GET", "/stats"): action("read_incident"),
    ("GET", "/stats/chart"): action("read_incident"),
    ("GET", "/reports"): action("read_incident"),
    ("GET", "/reports/{report_id}"): action("read_incident"),
    ("GET", "/reports/{report_id}/signature"): action("read_incident"),
    ("GET", "/reports/{report_id}/proof"): action("read_incident"),
    # ... and a daily report's notice is its recipient's credential for the report it points
    # to (the token of the notice's link, checked by the route; a party's inbox has no account)
    ("GET", "/notices/{notice_id}/report"): PUBLIC,
    ("GET", "/notices/{notice_id}/report/signature"): PUBLIC,
    ("GET", "/notices/{notice_id}/report/proof"): PUBLIC,
    # notices: both contingents read every one and its dead letters; either side's duty
    # officer sends a dead letter again
    ("GET", "/notices"): action("read_notices"),
    ("GET", "/notices/{notice_id}"): action("read_notices"),
    ("POST", "/notices/{notice_id}/retry"): action("retry_notice"),
}
"""``(method, path under /api/v1)`` -> rule, for every endpoint."""


def methods_at(path: str) -> list[str]:
    """The methods of the endpoints at a concrete path (``/api/v1/users``), HEAD with GET."""
    methods: set[str] = set()
    for method, template in ENDPOINTS:
        pattern = re.sub(r"\\\{[^}]+:path\\\}", ".+", re.escape(PREFIX + template))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        if re.fullmatch(pattern, path):
            methods |= {method, "HEAD"} if method == "GET" else {method}
    return sorted(methods)


def rule_for(method: str, path: str) -> Rule | None:
    """The declared rule of an endpoint (``path`` as in the OpenAPI document), or None."""
    if not path.startswith(PREFIX):
        return None
    return ENDPOINTS.get((method.upper(), path[len(PREFIX) :]))


def released_to(rule: Rule, mission: Mission) -> tuple[str, ...]:
    """The parties and force an endpoint's content is released to."""
    force = mission.config.peacekeeping_force
    if rule.own_releases:
        return (*mission.party_ids(), *([force.id] if force is not None else []))
    return (force.id,) if rule.force and force is not None else ()


def allows(rule: Rule, user: User, mission: Mission) -> bool:
    """Whether ``user`` gets past the rule (the library may still refuse a record)."""
    try:
        check(rule, user, mission)
    except Forbidden:
        return False
    return True


def check(rule: Rule, user: User, mission: Mission) -> None:
    """Raise :class:`Forbidden`, with the library's reason, if the rule refuses ``user``."""
    if rule.action is None:
        return  # public, or any signed-in user (user_for_token refuses the disabled)
    require(user, rule.action, contingent=user.contingent, released_to=released_to(rule, mission))


def unauthenticated(detail: str) -> Problem:
    return Problem(
        401,
        detail,
        type=problems.UNAUTHENTICATED,
        headers={"WWW-Authenticate": 'Bearer realm="ceasefire"'},
    )


def bearer(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``, if any."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _sep, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated(_("Use the header Authorization: Bearer <token>."))
    return token.strip()


def current_user(request: Request) -> User:
    """The user the guard let in (routes with an action or ``signed_in`` only)."""
    user = getattr(request.state, "user", None)
    assert isinstance(user, User), "route without a signed-in rule"
    return user


def guard(engine: Engine, mission: Mission) -> Callable[[Request], None]:
    """The app-wide dependency: find the route's rule, authenticate, check the role."""

    def check_request(request: Request) -> None:
        route = request.scope.get("route")
        path = getattr(route, "path_format", "")
        rule = rule_for(request.method, path)
        if rule is None:  # create_app refuses undeclared routes; never reached
            raise Problem(500, _("The server met an error; it is logged. Please report it."))
        if rule.public:
            return
        token = bearer(request)
        if token is None:
            raise unauthenticated(
                _("Sign in: send Authorization: Bearer <token> (POST {path} to log in).").format(
                    path=f"{PREFIX}/session"
                )
            )
        try:
            with engine.connect() as db:
                user = user_for_token(db, token)
        except Forbidden as refused:
            raise unauthenticated(str(refused)) from None
        check(rule, user, mission)  # Forbidden -> 403 (problems.install)
        request.state.user = user
        request.state.token = token

    return check_request


def undeclared(app: FastAPI) -> list[str]:
    """``METHOD path`` of every operation of ``app`` under the prefix without a rule: those of
    the OpenAPI document, and the app's own hidden routes (``/docs``). A hidden route of an
    included router escapes this check but not the guard, which refuses it (fail closed)."""
    found = {
        (method.upper(), path)
        for path, operations in app.openapi().get("paths", {}).items()
        for method in operations
    }
    for route in app.routes:
        if isinstance(route, APIRoute):
            found.update((method, route.path_format) for method in route.methods or ())
    return sorted(
        f"{method} {path}"
        for method, path in found
        if path.startswith(PREFIX) and rule_for(method, path) is None
    )


__all__ = [
    "ENDPOINTS",
    "PUBLIC",
    "SIGNED_IN",
    "Rule",
    "allows",
    "bearer",
    "check",
    "current_user",
    "guard",
    "released_to",
    "rule_for",
    "undeclared",
]

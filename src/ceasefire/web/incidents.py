"""The work pages: the incident queue, one incident (observations, both assessments side by side,
the joint finding, decisions, the ledger proof of each record), the decisions and the locks.

What a user may read or do is the library's: assessments come from
:func:`ceasefire.workflow.assessments.latest` (blind until both have submitted), findings from
:func:`findings.current`, decisions from :mod:`decisions`; a refusal of the library is shown
beside the form, in the user's language. A page carries the incident's stamp; a form sent from
a page that is no longer current is refused and shown again with what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection, func, select
from starlette.concurrency import run_in_threadpool

from ceasefire.center.core import ANSWERS, Answer
from ceasefire.center.dispatch import notices_seen
from ceasefire.i18n import _
from ceasefire.incidents.launches import possible_impacts, possible_launches
from ceasefire.incidents.queries import get_incident
from ceasefire.incidents.tables import incidents
from ceasefire.ledger import log
from ceasefire.ledger.cosign import latest_checkpoint
from ceasefire.ledger.merkle import ProofError, leaf_hash, verify_inclusion
from ceasefire.mission.model import REACTIONS, SEVERITIES
from ceasefire.observations.taxonomy import CATEGORIES
from ceasefire.web.pages import Web, may
from ceasefire.workflow import assessments, decisions, findings, locks
from ceasefire.workflow.errors import WorkflowError
from ceasefire.workflow.screens import stamp
from ceasefire.workflow.tables import decisions as decision_rows

OPEN_STATUSES = ("open", "assessing", "disputed")
STATUS_RANK = {"disputed": 0, "open": 1, "assessing": 2, "finding": 3}
SEVERITY_RANK = {s: n for n, s in enumerate(reversed(SEVERITIES))}
CORROBORATIONS = ("both_contingents", "several_contingents", "several_platforms", "single_source")
QUEUE_LIMIT = 300


def proofs(web: Web, db: Connection, indexes: list[int]) -> dict[int, dict[str, Any]]:
    """For each ledger index: whether the entry's own text hashes into the latest cosigned
    checkpoint (RFC 9162 inclusion, checked here), or that it is newer than the checkpoint."""
    checkpoint = latest_checkpoint(db)
    found: dict[int, dict[str, Any]] = {}
    if not indexes:
        return found
    tree = web.tree(db)
    for entry in log.entries_at(db, sorted(set(indexes))):
        if checkpoint is None or entry.index >= checkpoint.size:
            found[entry.index] = {"index": entry.index, "verified": None, "size": None}
            continue
        try:
            proof = tree.tree.inclusion_proof(entry.index, checkpoint.size)
            verify_inclusion(
                leaf_hash(entry.entry.encode("utf-8")),
                entry.index,
                checkpoint.size,
                proof,
                checkpoint.root_hash,
            )
            verified = True
        except ProofError:
            verified = False
        found[entry.index] = {"index": entry.index, "verified": verified, "size": checkpoint.size}
    return found


def add_routes(app: FastAPI, web: Web) -> None:
    mission = web.mission
    contingents = mission.contingent_ids()

    # -- the queue ---------------------------------------------------------------------------

    @app.get("/queue")
    def queue(
        request: Request,
        status: str = "",
        zone: str = "",
        category: str = "",
        corroboration: str = "",
        since: str = "",
        until: str = "",
    ) -> Response:
        user = web.user(request)
        web.require(user, "read_incident")
        c = incidents.c
        query = select(
            c.id,
            c.status,
            c.category,
            c.severity,
            c.corroboration,
            c.started_at,
            c.contingents,
            c.zones,
            c.settlement_id,
            c.settlement_distance_m,
            c.settlement_bearing_deg,
        ).where(c.status != "superseded")
        if status == "":
            query = query.where(c.status.in_(OPEN_STATUSES))
        elif status != "all":
            query = query.where(c.status == status)
        if zone:
            query = query.where(c.zones.contains(f'"{zone}"'))
        if category in CATEGORIES:
            query = query.where(c.categories.contains(f'"{category}"'))
        if corroboration in CORROBORATIONS:
            query = query.where(c.corroboration == corroboration)
        start, end = _day(since), _day(until)
        if start is not None:
            query = query.where(c.ended_at >= start)
        if end is not None:
            query = query.where(c.started_at < end + timedelta(days=1))
        query = query.order_by(c.started_at.desc()).limit(QUEUE_LIMIT)

        def step(db: Connection) -> tuple[list[Any], dict[str, Any], dict[str, int]]:
            rows = list(db.execute(query).all())
            held = locks.live_locks(db, [r.id for r in rows])
            pending: dict[str, int] = {}
            for d in db.execute(
                select(decision_rows.c.incident_id, func.count())
                .where(decision_rows.c.state.in_(decisions.PENDING))
                .group_by(decision_rows.c.incident_id)
            ):
                pending[d[0]] = d[1]
            return rows, held, pending

        rows, held, pending = web.read(step)
        # urgency: disputes and new incidents first, the gravest first, then pending
        # decisions, then the newest
        rows = sorted(
            rows,
            key=lambda r: (
                STATUS_RANK.get(r.status, 9),
                SEVERITY_RANK.get(r.severity or "low", 9),
                -pending.get(r.id, 0),
                -r.started_at.timestamp(),
            ),
        )
        lang = web.language_of(request)
        places = {s.id: mission.settlement_name(s, lang) for s in mission.settlements}
        return web.render(
            request,
            "queue.html",
            user,
            rows=rows,
            held=held,
            pending=pending,
            places=places,
            filters={
                "status": status,
                "zone": zone,
                "category": category,
                "corroboration": corroboration,
                "since": since,
                "until": until,
            },
            statuses=["all", "open", "assessing", "finding", "disputed"],
            zones=[
                (z.id, z.names.get(lang) or z.id)
                for z in mission.zones
                if z.kind != "line_of_contact"
            ],
            categories=CATEGORIES,
            corroborations=CORROBORATIONS,
            limit=QUEUE_LIMIT,
        )

    # -- one incident ------------------------------------------------------------------------

    def incident_page(
        request: Request,
        incident_id: str,
        status_code: int = 200,
        errors: dict[str, str] | None = None,
        typed: dict[str, str] | None = None,
        form: str = "",
    ) -> Response:
        user = web.user(request)
        web.require(user, "read_incident")
        lang = web.language_of(request)
        incident = get_incident(web.engine, mission, incident_id, lang)
        if incident is None:
            return web.render(
                request,
                "error.html",
                user,
                404,
                message=_("no such incident: {id}").format(id=incident_id),
            )
        # Worked out from the incidents alone: the same for every reader (parity, no blindness).
        incident["possible_launches"] = possible_launches(web.engine, incident, lang)
        incident["possible_impacts"] = possible_impacts(web.engine, incident, lang)

        def step(db: Connection) -> dict[str, Any]:
            seen = assessments.latest(db, mission, user, incident_id)
            blind = assessments.is_blind(db, mission, incident_id)
            found = findings.current(db, user, incident_id)
            made = decisions.list_decisions(db, mission, user, incident_id=incident_id)
            held = locks.live_locks(db, [incident_id]).get(incident_id, {})
            sent = (
                notices_seen(db, mission, user, incident_id=incident_id)
                if may(user, "read_notices")
                else None
            )
            indexes = [a.ledger_index for a in seen.values()]
            indexes += [s.ledger_index for d in made if not d.withheld for s in d.steps]
            if found is not None:
                indexes.append(found.ledger_index)
            return {
                "seen": seen,
                "blind": blind,
                "finding": found,
                "decisions": [_shown(d) for d in made],
                "held": held,
                "notices": None if sent is None else _batches(sent, mission, lang),
                "proofs": proofs(web, db, indexes),
                "stamp": stamp(db, mission, user, incident_id),
            }

        data = web.read(step)
        clauses = mission.config.clauses
        return web.render(
            request,
            "incident.html",
            user,
            status_code,
            incident=incident,
            errors=errors or {},
            typed=typed or {},
            sent_form=form,
            clauses=clauses,
            parties=mission.party_ids(),
            severities=SEVERITIES,
            reactions=REACTIONS,
            policy=mission.config.policy,
            lock_minutes=int(locks.LOCK_MINUTES),
            recipients=_recipient_names(mission, lang),
            may_assess=may(user, "submit_assessment"),
            may_propose=may(user, "propose_decision"),
            **data,
        )

    async def form_again(
        request: Request, incident_id: str, errors: dict[str, str], typed: dict[str, str], form: str
    ) -> Response:
        """The incident's page again with a form's errors and what was typed: 409 when the
        workflow refused the step, 422 when the form itself was wrong."""
        status = 409 if "form" in errors else 422
        return await run_in_threadpool(
            incident_page, request, incident_id, status, errors, typed, form
        )

    @app.get("/incidents/{incident_id}")
    def show_incident(request: Request, incident_id: str) -> Response:
        return incident_page(request, incident_id)

    @app.post("/incidents/{incident_id}/assessment")
    async def post_assessment(request: Request, incident_id: str) -> Response:
        user = await run_in_threadpool(web.user, request)
        data = await web.form(request)
        clauses_sent = [
            v
            for k, v in (await request.form()).multi_items()
            if k == "clauses" and isinstance(v, str)
        ]
        errors = _assessment_errors(data, clauses_sent, mission)
        if not errors:

            def step() -> None:
                web.center.assess(
                    user,
                    incident_id,
                    violation=data.get("violation", ""),
                    clauses=clauses_sent,
                    attribution=data.get("attribution", ""),
                    severity=data.get("severity") or None,
                    remarks=data.get("remarks", ""),
                    page=data.get("stamp", ""),
                )

            refused = await _refusal(step)
            if refused is None:
                return RedirectResponse(
                    f"/incidents/{incident_id}?done=assessment#assessments", 303
                )
            errors["form"] = refused
        typed = {**data, "clauses": ",".join(clauses_sent)}
        return await form_again(request, incident_id, errors, typed, "assessment")

    @app.post("/incidents/{incident_id}/decisions")
    async def post_decision(request: Request, incident_id: str) -> Response:
        user = await run_in_threadpool(web.user, request)
        data = await web.form(request)
        errors: dict[str, str] = {}
        reaction = data.get("reaction", "")
        if reaction not in REACTIONS:
            errors["reaction"] = _("Choose a reaction of the catalogue.")
        if reaction == "request_explanation" and data.get("party") not in mission.party_ids():
            errors["party"] = _("Name the party asked to explain.")
        if reaction == "request_reobservation" and data.get("contingent") not in contingents:
            errors["contingent"] = _("Name whose drones should look again.")
        if not errors:

            def step() -> None:
                web.center.decide(
                    user,
                    incident_id,
                    reaction,
                    party=data.get("party") if reaction == "request_explanation" else None,
                    contingent=data.get("contingent")
                    if reaction == "request_reobservation"
                    else None,
                    urgent=data.get("urgent") == "on",
                    remarks=data.get("remarks", ""),
                    page=data.get("stamp", ""),
                )

            refused = await _refusal(step)
            if refused is None:
                return RedirectResponse(f"/incidents/{incident_id}?done=decision#decisions", 303)
            errors["form"] = refused
        return await form_again(request, incident_id, errors, data, "decision")

    @app.post("/decisions/{decision_id}/{verdict}")
    async def decide(request: Request, decision_id: str, verdict: str) -> Response:
        user = await run_in_threadpool(web.user, request)
        data = await web.form(request)
        back = data.get("back", "/decisions")
        back = back if back.startswith("/") and not back.startswith("//") else "/decisions"
        if verdict not in ANSWERS:
            return web.render(request, "error.html", user, 404, message=verdict)
        answer = cast(Answer, verdict)
        try:
            await run_in_threadpool(
                lambda: web.center.answer(
                    user, decision_id, answer, remarks=data.get("remarks", "")
                )
            )
        except WorkflowError as refused:
            sep = "&" if "?" in back else "?"
            return RedirectResponse(f"{back}{sep}refused={_quote(str(refused))}#decisions", 303)
        return RedirectResponse(back.split("#")[0] + "#decisions", 303)

    @app.get("/decisions")
    def decisions_page(request: Request, pending: bool = True, refused: str = "") -> Response:
        user = web.user(request)
        web.require(user, "read_decisions")
        made = web.read(lambda db: decisions.list_decisions(db, mission, user, pending=pending))
        return web.render(
            request,
            "decisions.html",
            user,
            made=[_shown(d) for d in reversed(made)],
            pending=pending,
            refused=refused,
            now=datetime.now(UTC),
        )

    # -- locks -------------------------------------------------------------------------------

    @app.post("/incidents/{incident_id}/lock")
    async def lock(request: Request, incident_id: str) -> Response:
        user = await run_in_threadpool(web.user, request)
        data = await web.form(request)
        action = data.get("action", "take")
        reason = data.get("reason", "")
        change = {
            "release": lambda db: locks.release(db, user, incident_id),
            "take_over": lambda db: locks.take_over(db, user, incident_id, reason),
        }.get(action, lambda db: locks.take(db, user, incident_id))
        try:
            await run_in_threadpool(web.write, change)
        except WorkflowError as refused:
            return await run_in_threadpool(
                incident_page, request, incident_id, 409, {"lock": str(refused)}, data, "lock"
            )
        if request.headers.get("hx-request"):
            return Response(status_code=204)
        return RedirectResponse(f"/incidents/{incident_id}#work", 303)


async def _refusal(step: Callable[[], None]) -> str | None:
    """Run a form's step in the thread pool; the workflow's reason if it refused, else None."""
    try:
        await run_in_threadpool(step)
    except WorkflowError as error:
        return str(error)
    return None


def _batches(sent: list[Any], mission: Any, lang: str) -> list[dict[str, Any]]:
    """The notices by batch (what one decision sent to every recipient at once), oldest first;
    within a batch the recipients in the order the language names them (the parties, its own
    party first, then the peacekeepers, then the contingents' heads): both parties alike."""
    order = _recipient_order(mission, lang)
    batches: dict[str, dict[str, Any]] = {}
    for notice in sent:
        batch = batches.setdefault(
            notice.batch,
            {
                "batch": notice.batch,
                "kind": notice.kind,
                "cause": notice.cause,
                "created_at": notice.created_at,
                "party_skew_ms": notice.party_skew_ms,
                "notices": [],
            },
        )
        batch["notices"].append(notice)
    for batch in batches.values():
        batch["notices"].sort(key=lambda n: order.get(n.recipient, (9, n.recipient)))
    return list(batches.values())


def _recipient_order(mission: Any, lang: str) -> dict[str, tuple[int, str]]:
    """Rank of each recipient on the page: the parties (the one whose language this is first,
    otherwise the mission's order), the peacekeepers, the contingents (the locale's order)."""
    parties = sorted(mission.config.parties, key=lambda p: p.language != lang)
    ranked = [p.id for p in parties]
    if mission.config.peacekeeping_force is not None:
        ranked.append(mission.config.peacekeeping_force.id)
    ranked += [c.id for c in mission.contingents_for(lang)]
    return {r: (n, r) for n, r in enumerate(ranked)}


def _recipient_names(mission: Any, lang: str) -> dict[str, str]:
    force = mission.config.peacekeeping_force
    named = [*mission.config.parties, *mission.config.contingents, *([force] if force else [])]
    return {r.id: r.names.get(lang) or r.names.get("en") or r.id for r in named}


def _shown(decision: decisions.Decision) -> dict[str, Any]:
    """What the user may read of a decision (the library's form: a decision on a blind
    incident shows the other side nothing of its view), with each step's log entry."""
    view = decision.shown()
    view["ledger_indexes"] = [] if decision.withheld else [s.ledger_index for s in decision.steps]
    return view


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text[:300])


def _day(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None
    except ValueError:
        return None


def _assessment_errors(data: dict[str, str], clauses: list[str], mission: Any) -> dict[str, str]:
    """Each bad field with the library's own message (the same catalog entries)."""
    errors: dict[str, str] = {}
    if data.get("violation") not in assessments.VIOLATIONS:
        errors["violation"] = _("violation must be one of {choices}").format(
            choices=", ".join(assessments.VIOLATIONS)
        )
    known = {c.id for c in mission.config.clauses}
    unknown = sorted(set(clauses) - known)
    if unknown:
        errors["clauses"] = _("no such clause in the agreement: {ids}").format(
            ids=", ".join(unknown)
        )
    elif data.get("violation") == "yes" and not clauses:
        errors["clauses"] = _("a violation names at least one clause")
    parties = [*mission.party_ids(), assessments.NOT_ATTRIBUTED]
    if data.get("attribution") not in parties:
        errors["attribution"] = _("attribution must be one of {choices}").format(
            choices=", ".join(parties)
        )
    if data.get("severity") and data.get("severity") not in SEVERITIES:
        errors["severity"] = _("severity must be one of {choices}").format(
            choices=", ".join(SEVERITIES)
        )
    return errors


__all__ = ["add_routes", "proofs", "stamp"]

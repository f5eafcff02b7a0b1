"""Statistics and the signed daily reports over HTTP (:mod:`ceasefire.reports`).

A daily report's notice (:mod:`ceasefire.dissemination.daily`) is also its recipient's way to
the report: ``/notices/{id}/report``, ``.../signature`` and ``.../proof`` with the token of the
notice's link serve the report that notice points to, to a party's inbox that has no account.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine

from ceasefire.api import access, ogc, problems
from ceasefire.api.params import TIME, Checks, one_of, parse_choice, parse_time, request_language
from ceasefire.api.problems import Problem
from ceasefire.center import Center
from ceasefire.dissemination import acks
from ceasefire.dissemination import daily as lines_daily
from ceasefire.i18n import _
from ceasefire.ledger.merkle import MerkleTree
from ceasefire.ledger.reader import LedgerReader
from ceasefire.mission.model import Mission
from ceasefire.reports import daily, proof, signing, stats
from ceasefire.reports.scope import scope_for

MAX_ID = 2**63 - 1  # a report's id is a 64-bit integer in the store
NOTICE_ID = Path(max_length=60, description="the notice's id, e.g. NTC-1b726a4cfe30a067")
TOKEN = Query(max_length=100, description="the token of the notice's link (its ack.token)")
BY_LINK = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
"""What is served to a notice's link, whose URL holds its credential (as the acknowledgement's
page): kept by no cache on the way, and sent on as no Referer from a page it opens."""


# The statistics' parameters, alike for the table and its chart.
BY = Query(
    "category", description=", ".join(stats.DIMENSIONS), json_schema_extra=one_of(stats.DIMENSIONS)
)
SINCE = Query(None, description="started at or after, ISO 8601 with offset", json_schema_extra=TIME)
UNTIL = Query(None, description="started before, ISO 8601 with offset", json_schema_extra=TIME)


def plug(center: Center) -> None:
    """The reports' routes in the center's API: OGC API - Features, statistics, reports."""
    center.add_router(lambda c: ogc.router(access.PREFIX, c.engine, c.mission))
    center.add_router(lambda c: router(access.PREFIX, c.engine, c.mission))


def router(prefix: str, engine: Engine, mission: Mission) -> APIRouter:
    """``/stats``, ``/stats/chart``, ``/reports``, ``/reports/{id}`` and its signature."""
    api = APIRouter(prefix=prefix, tags=["reports"])
    reader = LedgerReader(engine)  # the log's tree, read on the first proof asked for

    def table(
        request: Request, by: str, since: str | None, until: str | None
    ) -> tuple[str, list[dict[str, Any]]]:
        checks = Checks()
        checks.check("by", by, lambda t: parse_choice(t, stats.DIMENSIONS, "by"))
        checks.check("since", since, lambda t: parse_time(t, "since"))
        checks.check("until", until, lambda t: parse_time(t, "until"))
        values = checks.done()
        scope = scope_for(engine, mission, access.current_user(request))
        found = stats.facts(engine, mission, values.get("since"), values.get("until"), scope)
        return values["by"], stats.table(mission, found, values["by"], request_language(request))

    @api.get(
        "/stats",
        summary="Incidents and candidate violations counted by day, area, category, "
        "corroboration, joint finding or attribution",
        responses=problems.responses(422),
    )
    def statistics(
        request: Request,
        by: str = BY,
        since: str | None = SINCE,
        until: str | None = UNTIL,
    ) -> JSONResponse:
        dimension, rows = table(request, by, since, until)
        return JSONResponse({"by": dimension, "rows": rows})

    @api.get(
        "/stats/chart",
        summary="The same table as a bar chart (PNG)",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}, **problems.responses(422)},
    )
    def chart(
        request: Request,
        by: str = BY,
        since: str | None = SINCE,
        until: str | None = UNTIL,
    ) -> Response:
        dimension, rows = table(request, by, since, until)
        title = _("Incidents by {dimension}").format(dimension=dimension)
        return Response(stats.chart_png(rows, title), media_type="image/png")

    @api.get("/reports", summary="The signed daily reports")
    def reports() -> JSONResponse:
        return JSONResponse(
            {
                "reports": [
                    {
                        "id": r.id,
                        "day": r.day,
                        "lang": r.lang,
                        "format": r.format,
                        "version": r.version,
                        "sha256": r.sha256,
                        "ledger_index": r.ledger_index,
                        "href": f"{prefix}/reports/{r.id}",
                        "signature": f"{prefix}/reports/{r.id}/signature",
                        "proof": f"{prefix}/reports/{r.id}/proof",
                    }
                    for r in signing.list_reports(engine)
                ]
            }
        )

    def found(report_id: int) -> tuple[signing.SignedReport, bytes]:
        report = signing.get_report(engine, report_id)
        if report is None:
            raise Problem(
                404, _("There is no report {id}.").format(id=report_id), type=problems.NOT_FOUND
            )
        return report

    @api.get(
        "/reports/{report_id}",
        summary="One signed daily report, as made (PDF or HTML)",
        response_class=Response,
        responses=problems.responses(404, 422),
    )
    def report(report_id: int = Path(ge=1, le=MAX_ID)) -> Response:
        signed, data = found(report_id)
        name = f"daily-{signed.day}-{signed.lang}.{signed.format}"
        return Response(
            data,
            media_type=daily.MEDIA_TYPES[signed.format],
            headers={
                "Content-Disposition": f'inline; filename="{name}"',
                "Link": f'<{prefix}/reports/{report_id}/signature>; rel="signature", '
                f'<{prefix}/reports/{report_id}/proof>; rel="proof"',
            },
        )

    @api.get(
        "/reports/{report_id}/signature",
        summary="The signed note of both contingents over the report's SHA-256",
        response_class=Response,
        responses=problems.responses(404, 422),
    )
    def signature(report_id: int = Path(ge=1, le=MAX_ID)) -> Response:
        signed, _data = found(report_id)
        return Response(signed.note, media_type="text/plain; charset=utf-8")

    def report_proof_of(signed: signing.SignedReport) -> JSONResponse:
        stored = reader.checkpoint()
        try:
            if stored is None:
                raise proof.NotYetProvenError(_("the log has no cosigned checkpoint yet"))

            def build(tree: MerkleTree) -> dict[str, Any]:
                assert stored is not None
                with engine.connect() as db:
                    return proof.build(db, signed, stored, tree, mission.contingent_ids())

            return JSONResponse(reader.with_tree(build))
        except proof.NotYetProvenError as error:
            raise Problem(
                409,
                _(
                    "No proof yet: {reason}. The center makes a cosigned checkpoint every few "
                    "minutes; ask again then."
                ).format(reason=error),
                type=problems.CONFLICT,
            ) from None

    @api.get(
        "/reports/{report_id}/proof",
        summary="The proof that the report is in the log: its ledger entry with an RFC 9162 "
        "inclusion proof at the latest checkpoint cosigned by every contingent, and the keys "
        "(a release bundle, ceasefire-release/v1)",
        responses=problems.responses(404, 409, 422),
    )
    def report_proof(report_id: int = Path(ge=1, le=MAX_ID)) -> JSONResponse:
        signed, _data = found(report_id)
        return report_proof_of(signed)

    # A daily report's notice is its recipient's credential for the report it points to (the
    # token of its link, as for an acknowledgement): a party's inbox has no account.
    def pointed(notice_id: str, token: str) -> tuple[signing.SignedReport, bytes]:
        with engine.connect() as db:
            row = acks.notice_for_token(db, notice_id, token)
        document = lines_daily.document_of(row.payload) if row is not None else None
        report = signing.get_report(engine, int(document["id"])) if document else None
        if report is None:  # no such notice, not its token, no report: one answer
            raise Problem(
                403,
                _("This link is not the link of a daily report's notice."),
                type=problems.FORBIDDEN,
            )
        return report

    @api.get(
        "/notices/{notice_id}/report",
        summary="The daily report a notice points its recipient to (PDF or HTML), with the "
        "token of the notice's link",
        response_class=Response,
        responses=problems.responses(403, 422),
        tags=["direct lines"],
    )
    def notice_report(notice_id: str = NOTICE_ID, token: str = TOKEN) -> Response:
        signed, data = pointed(notice_id, token)
        return Response(
            data,
            media_type=daily.MEDIA_TYPES[signed.format],
            headers={
                "Content-Disposition": f'inline; filename="daily-{signed.day}-{signed.lang}.'
                f'{signed.format}"',
                **BY_LINK,
            },
        )

    @api.get(
        "/notices/{notice_id}/report/signature",
        summary="That report's signed note of both contingents, with the notice's token",
        response_class=Response,
        responses=problems.responses(403, 422),
        tags=["direct lines"],
    )
    def notice_report_signature(notice_id: str = NOTICE_ID, token: str = TOKEN) -> Response:
        signed, _data = pointed(notice_id, token)
        return Response(signed.note, media_type="text/plain; charset=utf-8", headers=BY_LINK)

    @api.get(
        "/notices/{notice_id}/report/proof",
        summary="That report's proof that it is in the log, with the notice's token",
        responses=problems.responses(403, 409, 422),
        tags=["direct lines"],
    )
    def notice_report_proof(notice_id: str = NOTICE_ID, token: str = TOKEN) -> JSONResponse:
        signed, _data = pointed(notice_id, token)
        answer = report_proof_of(signed)
        answer.headers.update(BY_LINK)
        return answer

    return api


__all__ = ["plug", "router"]

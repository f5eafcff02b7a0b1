"""The signed daily report over the direct lines: one notice kind, ``daily_report``.

Why here and not in :mod:`ceasefire.reports`: the notice is one of the direct lines' kinds, routed,
written, logged and sent as the others are; the reports room calls :func:`notify_report` in the
transaction that stores a signed report (:func:`ceasefire.reports.signing.store`), so a report
that is kept is a report that is announced, or neither.

The facts (the same for every recipient: parity) name the report just signed (``report``) and
every report made for that day so far (``reports``: the latest version of each language and
format), each with its SHA-256, the note both contingents' heads signed, its ledger index and
where the API serves it, its signature and its inclusion proof. Each recipient is pointed to the
report in its own language when one was made for that day (:func:`document_for`); else to the
one just signed, with the languages that exist. The e-mail channel (and the file drop) attaches
that document and its signature (:func:`attachments_of`; the outbox keeps the document, table
``notice_files``, so the dispatcher reads nothing of another room); a webhook carries only the
references: the receiver (``ceasefire inbox serve``) fetches the document from the center, with
the notice's token (:func:`notice_links`), and checks it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from ceasefire.dissemination.recipients import DAILY
from ceasefire.dissemination.tables import notice_files
from ceasefire.mission.model import Mission

REPORTS_PATH = "/api/v1/reports"
"""Where the center's API serves the signed reports (:mod:`ceasefire.api.reports`)."""
MEDIA_TYPES = {"html": ("text", "html"), "pdf": ("application", "pdf")}
DEFAULT_MEDIA = ("application", "octet-stream")


def links(report_id: int, base: str = "") -> dict[str, str]:
    """The report's document, signed note and inclusion proof on the center's API: paths, or
    absolute under ``base`` (the mission's ``lines.public_url``) when one is set."""
    path = f"{base.rstrip('/')}{REPORTS_PATH}/{report_id}"
    return {"href": path, "signature": f"{path}/signature", "proof": f"{path}/proof"}


def notice_links(notice_id: str, token: str = "", base: str = "") -> dict[str, str]:
    """The report a notice points to, with the notice as the credential (the token of its
    link, ``ack.token``): what a recipient without an account at the center fetches."""
    path = f"{base.rstrip('/')}/api/v1/notices/{notice_id}/report"
    query = f"?token={token}" if token else ""
    return {
        "href": f"{path}{query}",
        "signature": f"{path}/signature{query}",
        "proof": f"{path}/proof{query}",
    }


def entry(
    report_id: int,
    day: str,
    lang: str,
    fmt: str,
    version: int,
    sha256: str,
    note: str,
    ledger_index: int,
    base: str = "",
) -> dict[str, Any]:
    """One report as the facts of a notice state it (language-free)."""
    return {
        "id": int(report_id),
        "day": day,
        "lang": lang,
        "format": fmt,
        "version": int(version),
        "sha256": sha256,
        "note": note,
        "ledger_index": int(ledger_index),
        **links(int(report_id), base),
    }


def document_for(facts: dict[str, Any], lang: str) -> dict[str, Any] | None:
    """The report a recipient of ``lang`` is pointed to: the one in its language made for that
    day (the format of the report just signed if there is one, else any), else the report just
    signed; None for a notice that is no daily report's."""
    made = facts.get("report")
    if not isinstance(made, dict):
        return None
    own = [r for r in facts.get("reports") or [] if isinstance(r, dict) and r.get("lang") == lang]
    if made.get("lang") == lang or not own:
        return made
    same = [r for r in own if r.get("format") == made.get("format")]
    return (same or own)[0]


def notify_report(
    connection: Connection,
    mission: Mission,
    made: dict[str, Any],
    day_reports: list[dict[str, Any]],
    period: tuple[str, str] | None,
    documents: dict[str, bytes],
    at: datetime,
) -> list[str]:
    """Write the notices of a signed report (:func:`entry` of it, ``made``) in the caller's
    transaction, to every party, the force and the contingents' HQs alike; the notice ids.

    ``day_reports``: every report of that day (the latest version of each language and format,
    ``made`` among them); ``period``: the UTC start and end (the cut-off) it covers;
    ``documents``: the files by SHA-256, of at least each report some recipient is pointed to
    (kept in ``notice_files`` for the channels that carry them)."""
    from ceasefire.dissemination.outbox import notify
    from ceasefire.dissemination.recipients import recipients

    pointed = {
        str(d["sha256"]): d
        for r in recipients(mission).values()
        if (d := document_for({"report": made, "reports": day_reports}, r.language)) is not None
    }
    kept = set(
        connection.execute(
            select(notice_files.c.sha256).where(notice_files.c.sha256.in_(sorted(pointed)))
        ).scalars()
    )
    for sha256, document in sorted(pointed.items()):
        if sha256 in kept or sha256 not in documents:
            continue
        maintype, subtype = MEDIA_TYPES.get(str(document["format"]), DEFAULT_MEDIA)
        connection.execute(
            insert(notice_files).values(
                sha256=sha256,
                name=file_name(document),
                media_type=f"{maintype}/{subtype}",
                content=documents[sha256],
            )
        )
    ref = f"daily/{made['day']}/{made['lang']}/{made['format']}/{made['version']}"
    return notify(
        connection,
        mission,
        kind=DAILY,
        cause=ref,
        at=at,
        extra={
            "report": made,
            "reports": day_reports,
            "period": {"start": period[0], "end": period[1]} if period else None,
        },
    ).ids


@dataclass(frozen=True)
class Attachment:
    """A file that travels with a notice where the channel can carry it (e-mail)."""

    filename: str
    maintype: str
    subtype: str
    data: bytes


def document_of(payload: str) -> dict[str, Any] | None:
    """The report a notice's payload points its recipient to (None: not a daily report's)."""
    try:
        notice = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(notice, dict) or notice.get("kind") != DAILY:
        return None
    facts = notice.get("facts")
    return document_for(facts, str(notice.get("lang", ""))) if isinstance(facts, dict) else None


def file_name(document: dict[str, Any]) -> str:
    """The report's file name, as the API names it and ``ceasefire report daily`` writes it."""
    return f"daily-{document['day']}-{document['lang']}.{document['format']}"


def attachments_of(connection: Connection, payload: str) -> tuple[Attachment, ...]:
    """The document a daily report's notice points to and its signed note (``.sig``); nothing
    for another kind of notice (or a document the outbox does not hold)."""
    document = document_of(payload)
    if document is None:
        return ()
    row = connection.execute(
        select(notice_files.c.content, notice_files.c.media_type).where(
            notice_files.c.sha256 == str(document["sha256"])
        )
    ).first()
    if row is None:
        return ()
    name = file_name(document)
    maintype, _sep, subtype = str(row.media_type).partition("/")
    return (
        Attachment(name, maintype, subtype, bytes(row.content)),
        Attachment(f"{name}.sig", "text", "plain", str(document["note"]).encode("utf-8")),
    )


__all__ = [
    "REPORTS_PATH",
    "Attachment",
    "attachments_of",
    "document_for",
    "document_of",
    "entry",
    "file_name",
    "links",
    "notice_links",
    "notify_report",
]

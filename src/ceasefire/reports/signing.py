"""Both heads sign the daily report; its hash enters the ledger; anyone checks it offline.

The signature is a C2SP signed note (the format of the ledger's checkpoints) whose text names
the report and its SHA-256::

    ceasefire/karabakh-2020 daily report
    2021-02-01 ru pdf
    sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

and every contingent signs it with its key (the key its witness cosigns checkpoints with,
``<origin>/<contingent>``, held by that contingent: its head's signature). The second line is
not a number, so such a note can never pass for a checkpoint of the log. The note and the hash
are logged (kind ``report``, ref ``daily/<date>/<lang>/<format>/<version>``) in the same
transaction that stores the report (table ``daily_reports``), and so are its notices over the
direct lines (kind ``daily_report``, :mod:`ceasefire.dissemination.daily`): to every party, the
force and the contingents' HQs, each pointed to the report in its own language if one was made
for that day.

A reader checks a report with the file, its note and the contingents' verifier keys only
(``ceasefire report verify``; :func:`verify`): the SHA-256 of the file is the one in the note,
and each contingent's signature is valid.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from ceasefire.dissemination import daily as lines_daily
from ceasefire.dissemination.recipients import recipients
from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.ledger import log
from ceasefire.ledger.checkpoint import CosignatureSigner, CosignatureVerifier
from ceasefire.ledger.entry import LogEntry
from ceasefire.ledger.keys import origin_of
from ceasefire.ledger.note import NoteError, open_note, parse_note, sign_note
from ceasefire.mission.model import Mission
from ceasefire.reports.tables import daily_reports
from ceasefire.timeutil import iso

KIND_REPORT = "report"


@dataclass(frozen=True)
class SignedReport:
    id: int
    day: str
    lang: str
    format: str
    version: int
    sha256: str
    note: str
    ledger_index: int
    notices: tuple[str, ...] = ()
    """The notices that announced it over the direct lines (as stored; empty when read)."""


def note_text(mission: Mission, day: str, lang: str, fmt: str, sha256: str) -> str:
    return f"{origin_of(mission.id)} daily report\n{day} {lang} {fmt}\nsha256 {sha256}\n"


def sign(
    mission: Mission, day: str, lang: str, fmt: str, data: bytes, signers: list[CosignatureSigner]
) -> str:
    """The signed note over the report; every contingent must sign."""
    origin = origin_of(mission.id)
    names = {s.name for s in signers}
    missing = [c for c in mission.contingent_ids() if f"{origin}/{c}" not in names]
    if missing:
        raise InputError(
            Problem(
                file="report",
                field="--sign-key",
                reason=_(
                    "both heads sign the report: no signer key of contingent {ids} "
                    "(give its .skey with --sign-key)"
                ).format(ids=", ".join(missing)),
            )
        )
    ordered = sorted(
        signers, key=lambda s: mission.contingent_ids().index(s.name.rsplit("/", 1)[1])
    )
    digest = hashlib.sha256(data).hexdigest()
    return sign_note(note_text(mission, day, lang, fmt, digest), ordered)


def store(
    engine: Engine,
    mission: Mission,
    day: str,
    lang: str,
    fmt: str,
    data: bytes,
    note: str,
    at: datetime | None = None,
) -> SignedReport:
    """Keep the signed report and log its hash and note, in one transaction."""
    when = at or datetime.now(UTC)
    digest = hashlib.sha256(data).hexdigest()
    with engine.begin() as db:
        log.lock(db)  # versions numbered and logged in one serial order
        version = 1 + (
            db.execute(
                select(func.max(daily_reports.c.version)).where(
                    daily_reports.c.day == day,
                    daily_reports.c.lang == lang,
                    daily_reports.c.format == fmt,
                )
            ).scalar()
            or 0
        )
        record = {
            "day": day,
            "lang": lang,
            "format": fmt,
            "version": version,
            "sha256": digest,
            "cutoff": mission.config.reports.daily_cutoff,
            "note": note,
            "made_at": iso(when),
        }
        ref = f"daily/{day}/{lang}/{fmt}/{version}"
        index = log.append(db, [LogEntry.of(KIND_REPORT, ref, record)], at=when)[0]
        key = db.execute(
            insert(daily_reports)
            .values(
                day=day,
                lang=lang,
                format=fmt,
                version=version,
                sha256=digest,
                content=data,
                note=note,
                made_at=when,
                ledger_index=index,
            )
            .returning(daily_reports.c.id)
        ).scalar_one()
        sent = _announce(db, mission, int(key), record, index, data, when)
    return SignedReport(int(key), day, lang, fmt, version, digest, note, index, tuple(sent))


def _announce(
    db: Connection,
    mission: Mission,
    key: int,
    record: dict[str, Any],
    index: int,
    data: bytes,
    at: datetime,
) -> list[str]:
    """The report's notices over the direct lines, in the transaction that stores it: every
    party, the force and the contingents' HQs, each pointed to the report of that day in its
    own language if one was made (docs/direct-lines.md, "The daily report")."""
    from ceasefire.reports.daily import period_of

    base = mission.config.lines.base()
    c = daily_reports.c
    latest = (
        select(c.lang, c.format, func.max(c.version).label("version"))
        .where(c.day == record["day"])
        .group_by(c.lang, c.format)
        .subquery()
    )
    rows = db.execute(
        select(c.id, c.day, c.lang, c.format, c.version, c.sha256, c.note, c.ledger_index)
        .join(
            latest,
            (latest.c.lang == c.lang)
            & (latest.c.format == c.format)
            & (latest.c.version == c.version),
        )
        .where(c.day == record["day"])
        .order_by(c.lang, c.format)
    ).all()
    day_reports = [lines_daily.entry(*row, base=base) for row in rows]
    made = next(r for r in day_reports if r["id"] == key)
    documents = {made["sha256"]: data}
    wanted = {
        str(d["sha256"])
        for lang in {r.language for r in recipients(mission).values()}
        if (d := lines_daily.document_for({"report": made, "reports": day_reports}, lang))
    }
    for sha, content in db.execute(
        select(c.sha256, c.content).where(
            c.id.in_([r["id"] for r in day_reports if r["sha256"] in wanted - set(documents)])
        )
    ):
        documents[sha] = bytes(content)
    try:
        period = period_of(mission, date.fromisoformat(record["day"]))
        span: tuple[str, str] | None = (iso(period.start), iso(period.end))
    except (InputError, ValueError):
        span = None
    return lines_daily.notify_report(db, mission, made, day_reports, span, documents, at)


def verify(data: bytes, note: str, verifiers: list[CosignatureVerifier]) -> dict[str, Any]:
    """Check a report against its note offline; raises :class:`InputError` with the reason.

    Every given verifier (each contingent's key) must have signed, and the note's hash must be
    the file's."""
    problems = []
    try:
        text, _signatures = parse_note(note)
        opened = open_note(note, verifiers)
    except NoteError as error:
        raise InputError(Problem(file="signature", field="", reason=str(error))) from None
    signed = {s.name for s in opened.verified}
    missing = sorted(v.name for v in verifiers if v.name not in signed)
    if missing:
        problems.append(
            Problem(
                file="signature",
                field="",
                reason=_("not signed by {names}").format(names=", ".join(missing)),
            )
        )
    lines = text.splitlines()
    digest = hashlib.sha256(data).hexdigest()
    claimed = lines[2].removeprefix("sha256 ") if len(lines) >= 3 else ""
    if claimed != digest:
        problems.append(
            Problem(
                file="report",
                field="sha256",
                reason=_("the file's SHA-256 is {actual}; the signed note says {claimed}").format(
                    actual=digest, claimed=claimed or "-"
                ),
            )
        )
    if problems:
        raise InputError(problems)
    day, lang, fmt = [*lines[1].split(), "", "", ""][:3]
    return {
        "report": lines[0],
        "day": day,
        "lang": lang,
        "format": fmt,
        "sha256": digest,
        "signed_by": sorted(signed),
    }


def list_reports(engine: Engine) -> list[SignedReport]:
    c = daily_reports.c
    query = select(
        c.id, c.day, c.lang, c.format, c.version, c.sha256, c.note, c.ledger_index
    ).order_by(c.day.desc(), c.lang, c.format, c.version.desc())
    with engine.connect() as db:
        return [SignedReport(*row) for row in db.execute(query)]


def find_report(engine: Engine, sha256: str) -> SignedReport | None:
    """The latest stored report whose file has this SHA-256."""
    c = daily_reports.c
    query = select(
        c.id, c.day, c.lang, c.format, c.version, c.sha256, c.note, c.ledger_index
    ).where(c.sha256 == sha256)
    with engine.connect() as db:
        row = db.execute(query.order_by(c.id.desc()).limit(1)).first()
    return None if row is None else SignedReport(*row)


def get_report(engine: Engine, report_id: int) -> tuple[SignedReport, bytes] | None:
    c = daily_reports.c
    with engine.connect() as db:
        row = db.execute(select(daily_reports).where(c.id == report_id)).first()
    if row is None:
        return None
    signed = SignedReport(
        row.id, row.day, row.lang, row.format, row.version, row.sha256, row.note, row.ledger_index
    )
    return signed, bytes(row.content)


__all__ = [
    "KIND_REPORT",
    "SignedReport",
    "find_report",
    "get_report",
    "list_reports",
    "note_text",
    "sign",
    "store",
    "verify",
]

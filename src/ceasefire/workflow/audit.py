"""Auditing the workflow's tables against the log: every row that stands for a logged record
must be what the log says, and every logged record must have its row.

Why: :mod:`ceasefire.ledger.audit` proves the log itself and the observations; the joint
workflow keeps its state in tables too (assessments, findings, decisions and their steps,
users, tokens, shifts, releases), and anyone with write access could edit them. Each table is
checked one of two ways:

- rows that point at their entry (``ledger_index``): assessments, findings, decision steps,
  releases (and, in :mod:`ceasefire.dissemination.audit`, notices, the notices'
  acknowledgements, the parties' answers and complaints). The row must rebuild the entry's
  record exactly, rows must be in the log's order, and every entry of that kind must have its
  row;
- rows whose state is the latest entry of their ref: decisions (ref the id), users (the name),
  API tokens (the id), shifts (the id) (and notices' escalations, the notice id). Each must
  equal what its latest entry says, and every ref in the log must have its row;
- decisions' effects: one where, and only where, a decision's entries say it took effect.

Every finding names the table, the row and what differs. What is not logged (password hashes,
drone track points) is said in the report's notes. :data:`CHECKS` is the list the command runs:
a later kind of logged row adds its check there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from ceasefire.i18n import _
from ceasefire.ledger.audit import AuditReport, audit
from ceasefire.ledger.entry import (
    KIND_OBSERVATION,
    KIND_RELEASE,
    EntryError,
    parse_envelope,
    timestamp,
)
from ceasefire.ledger.keys import KeyRing
from ceasefire.ledger.leaves import LeafCopy
from ceasefire.ledger.tables import ledger, releases
from ceasefire.store.schema import track_points
from ceasefire.timeutil import iso
from ceasefire.workflow.decisions import APPROVED, TAKEN, URGENT, _load
from ceasefire.workflow.tables import (
    api_tokens,
    assessments,
    decision_effects,
    decision_steps,
    decisions,
    findings,
    shift_officers,
    shifts,
    users,
)


@dataclass(frozen=True)
class Logged:
    index: int
    kind: str
    ref: str
    record: Any


class Log:
    """Every entry other than observations, parsed once, by index and by (kind, ref)."""

    def __init__(self, db: Connection) -> None:
        self.at: dict[int, Logged] = {}
        self.latest: dict[tuple[str, str], Logged] = {}
        rows = db.execute(
            select(ledger.c["index"], ledger.c.entry)
            .where(ledger.c.kind != KIND_OBSERVATION)
            .order_by(ledger.c["index"])
        )
        for index, text in rows:
            try:
                env = parse_envelope(text)
            except EntryError:
                continue  # named by the ledger's own audit
            logged = Logged(int(index), env.kind, env.ref, env.record)
            self.at[logged.index] = logged
            self.latest[(env.kind, env.ref)] = logged

    def of(self, kind: str) -> list[Logged]:
        return [e for e in self.at.values() if e.kind == kind]


@dataclass(frozen=True)
class Row:
    """One row to check: its name in findings, its ref, what it says, and its entry's index."""

    where: str
    ref: str
    record: dict[str, Any]
    index: int | None = None


def _differs(row: dict[str, Any], logged: Any) -> list[str]:
    if not isinstance(logged, dict):
        return sorted(row)
    return [k for k in sorted(row) if row[k] != logged.get(k)]


def _edited(report: AuditReport, table: str, where: str, fields: list[str], index: int) -> None:
    report.add(
        table,
        where,
        _("{fields} differ from the logged record at index {index} (edited?)").format(
            fields=", ".join(fields), index=index
        ),
    )


def check_indexed(
    report: AuditReport, log: Log, table: str, kind: str, rows: Iterable[Row]
) -> None:
    """Rows that point at their own entry: same record, the log's order, none missing."""
    seen: set[int] = set()
    previous: Row | None = None
    for row in rows:
        logged = log.at.get(row.index) if row.index is not None else None
        if logged is None:
            report.add(table, row.where, _("no ledger entry (inserted?)"))
            continue
        seen.add(logged.index)
        if (logged.kind, logged.ref) != (kind, row.ref):
            report.add(
                table,
                row.where,
                _("points at ledger index {index}, the entry of {kind} {ref} (swapped?)").format(
                    index=logged.index, kind=logged.kind, ref=logged.ref
                ),
            )
            continue
        fields = _differs(row.record, logged.record)
        if fields:
            _edited(report, table, row.where, fields, logged.index)
        if previous is not None and previous.index is not None and logged.index < previous.index:
            report.add(
                table,
                row.where,
                _(
                    "stored after {other} but logged before it, at index {index} (rows reordered?)"
                ).format(other=previous.where, index=logged.index),
            )
        previous = row
    for logged in log.of(kind):
        if logged.index not in seen:
            report.add(
                table,
                logged.ref,
                _("logged at index {index} but not in the table (deleted?)").format(
                    index=logged.index
                ),
            )


def check_latest(report: AuditReport, log: Log, table: str, kind: str, rows: Iterable[Row]) -> None:
    """Rows whose state is their ref's latest entry: the same, and none missing."""
    seen: set[str] = set()
    for row in rows:
        seen.add(row.ref)
        logged = log.latest.get((kind, row.ref))
        if logged is None:
            report.add(table, row.where, _("no ledger entry (inserted?)"))
            continue
        fields = _differs(row.record, logged.record)
        if fields:
            _edited(report, table, row.where, fields, logged.index)
    for (logged_kind, ref), logged in log.latest.items():
        if logged_kind == kind and ref not in seen:
            report.add(
                table,
                ref,
                _("logged at index {index} but not in the table (deleted?)").format(
                    index=logged.index
                ),
            )


# --- the tables ---------------------------------------------------------------------------


def _assessments(db: Connection, report: AuditReport, log: Log) -> None:
    rows = []
    for r in db.execute(select(assessments).order_by(assessments.c.id)):
        ref = f"{r.incident_id}/{r.contingent}/{r.version}"
        record = {
            "incident": r.incident_id,
            "contingent": r.contingent,
            "version": r.version,
            "violation": r.violation,
            "clauses": json.loads(r.clauses),
            "attribution": r.attribution,
            "severity": r.severity,
            "remarks": r.remarks,
            "submitted_by": r.submitted_by,
            "submitted_at": iso(r.submitted_at),
        }
        rows.append(Row(f"id {r.id} ({ref})", ref, record, r.ledger_index))
    check_indexed(report, log, "assessments", "assessment", rows)


def _findings(db: Connection, report: AuditReport, log: Log) -> None:
    rows = []
    for r in db.execute(select(findings).order_by(findings.c.id)):
        ref = f"{r.incident_id}/{r.version}"
        record = json.loads(r.record)
        # The columns must say what the record says, as the record must say what was logged.
        record.update(incident=r.incident_id, version=r.version, outcome=r.outcome)
        record["made_at"] = iso(r.made_at)
        rows.append(Row(f"id {r.id} ({ref})", ref, record, r.ledger_index))
    check_indexed(report, log, "findings", "finding", rows)


def _decisions(db: Connection, report: AuditReport, log: Log) -> None:
    steps = []
    count: dict[str, int] = {}
    for s in db.execute(select(decision_steps).order_by(decision_steps.c.id)):
        count[s.decision_id] = count.get(s.decision_id, 0) + 1
        ref = f"{s.decision_id}/{count[s.decision_id]}"
        record = {
            "decision": s.decision_id,
            "user": s.user_name or None,
            "contingent": s.contingent,
            "role": s.role,
            "verdict": s.verdict,
            "at": iso(s.at),
            "remarks": s.remarks,
        }
        steps.append(Row(f"id {s.id} ({ref})", ref, record, s.ledger_index))
    check_indexed(report, log, "decision_steps", "approval", steps)
    ids = db.execute(select(decisions.c.id).order_by(decisions.c.id)).scalars()
    rows = [Row(str(i), str(i), _load(db, i).record()) for i in list(ids)]
    check_latest(report, log, "decisions", "decision", rows)
    _effects(db, report, log)


def _effects(db: Connection, report: AuditReport, log: Log) -> None:
    """A decision's effect (what the rooms after the workflow act on: its notices) where, and
    only where, the log says it took effect: its first entry approved, or taken urgently;
    the effect must name that entry. A deleted effect would leave its notices unwritten."""
    took: dict[str, int] = {}
    for logged in sorted(log.of("decision"), key=lambda e: e.index):
        record = logged.record if isinstance(logged.record, dict) else {}
        effect = record.get("state") == APPROVED or (
            record.get("tier") == URGENT and record.get("state") == TAKEN
        )
        if effect and logged.ref not in took:
            took[logged.ref] = logged.index
    found = {
        r.decision_id: r.ledger_index
        for r in db.execute(select(decision_effects.c.decision_id, decision_effects.c.ledger_index))
    }
    for decision_id, index in sorted(took.items()):
        if decision_id not in found:
            report.add(
                "decision_effects",
                decision_id,
                _("took effect at index {index} but has no effect (deleted?)").format(index=index),
            )
        elif found[decision_id] is not None and found[decision_id] != index:
            report.add(
                "decision_effects",
                decision_id,
                _("names index {found}; the decision took effect at index {index}").format(
                    found=found[decision_id], index=index
                ),
            )
    for decision_id in sorted(set(found) - set(took)):
        report.add("decision_effects", decision_id, _("no logged decision took effect (inserted?)"))


def _users(db: Connection, report: AuditReport, log: Log) -> None:
    rows = [
        Row(
            r.name,
            r.name,
            {"name": r.name, "role": r.role, "affiliation": r.affiliation, "disabled": r.disabled},
        )
        for r in db.execute(select(users).order_by(users.c.name))
    ]
    check_latest(report, log, "users", "user", rows)
    report.notes.append(
        _("users: password hashes are not logged (they must not travel), so not checked")
    )


def _tokens(db: Connection, report: AuditReport, log: Log) -> None:
    issued = {e.ref: e for e in log.of("token") if _event(e) == "issued"}
    seen = set()
    for r in db.execute(select(api_tokens).order_by(api_tokens.c.id)):
        seen.add(r.id)
        where = f"{r.id} ({r.user_name})"
        first = issued.get(r.id)
        if first is None:
            report.add("api_tokens", where, _("no ledger entry (inserted?)"))
            continue
        row = {"user": r.user_name, "label": r.label}
        if "secret_sha256" in first.record:
            row["secret_sha256"] = r.secret_sha256
        fields = _differs(row, first.record)
        if fields:
            _edited(report, "api_tokens", where, fields, first.index)
        last = log.latest[("token", r.id)]
        if _event(last) == "revoked" and r.revoked_at is None:
            _edited(report, "api_tokens", where, ["revoked_at"], last.index)
    for ref, logged in issued.items():
        if ref not in seen:
            report.add(
                "api_tokens",
                ref,
                _("logged at index {index} but not in the table (deleted?)").format(
                    index=logged.index
                ),
            )


def _event(logged: Logged) -> Any:
    return logged.record.get("event") if isinstance(logged.record, dict) else None


def _shifts(db: Connection, report: AuditReport, log: Log) -> None:
    officers: dict[str, list[dict[str, str]]] = {}
    for o in db.execute(
        select(shift_officers).order_by(shift_officers.c.contingent, shift_officers.c.user_name)
    ):
        officers.setdefault(o.shift_id, []).append(
            {"contingent": o.contingent, "user": o.user_name}
        )
    rows = [
        Row(
            r.id,
            r.id,
            {
                "starts_at": iso(r.starts_at),
                "ends_at": iso(r.ends_at),
                "label": r.label,
                "officers": officers.get(r.id, []),
            },
        )
        for r in db.execute(select(shifts).order_by(shifts.c.id))
    ]
    check_latest(report, log, "shifts", "shift", rows)


def _releases(db: Connection, report: AuditReport, log: Log) -> None:
    rows = []
    for r in db.execute(select(releases).order_by(releases.c.id)):
        where = f"id {r.id} ({r.released_to})"
        record = {
            "released_to": r.released_to,
            "released_at": timestamp(r.released_at),
            "log_size": r.log_size,
            "bundle_sha256": r.bundle_sha256,
        }
        rows.append(Row(where, r.released_to, record, r.ledger_index))
        logged = log.at.get(r.ledger_index)
        if (
            logged is not None
            and isinstance(logged.record, dict)
            and len(logged.record.get("entries") or []) != r.entries
        ):
            _edited(report, "releases", where, ["entries"], logged.index)
        if hashlib.sha256(r.bundle.encode("utf-8")).hexdigest() != r.bundle_sha256:
            report.add("releases", where, _("the bundle does not hash to bundle_sha256 (edited?)"))
    check_indexed(report, log, "releases", KIND_RELEASE, rows)


def _not_logged(db: Connection, report: AuditReport, log: Log) -> None:
    points = db.execute(select(func.count()).select_from(track_points)).scalar_one()
    report.notes.append(
        _(
            "track_points: {n} drone positions are logged a batch at a time (count, "
            "SHA-256 and an 8-byte digest of each point, per contingent and intake batch), "
            "not one entry each"
        ).format(n=points)
    )


Check = Callable[[Connection, AuditReport, Log], None]
CHECKS: list[Check] = [
    _assessments,
    _findings,
    _decisions,
    _users,
    _tokens,
    _shifts,
    _releases,
    _not_logged,
]
"""Each table's check, in this order: a new kind of logged row adds its check here."""


def audit_all(
    database: Engine | Connection,
    ring: KeyRing,
    checks: Iterable[Check] = CHECKS,
    copies: Sequence[LeafCopy] = (),
) -> AuditReport:
    """The ledger's audit (:func:`ceasefire.ledger.audit.audit`, with the witnesses' copies
    of the leaf hashes) and each table's check (``checks``; the rooms after the workflow add
    theirs: :mod:`ceasefire.dissemination.audit` checks the notices)."""
    if isinstance(database, Engine):
        with database.connect() as db:
            return audit_all(db, ring, checks, copies)
    report = audit(database, ring, copies)
    log = Log(database)
    for check in checks:
        check(database, report, log)
    return report


__all__ = ["CHECKS", "Check", "Log", "Row", "audit_all", "check_indexed", "check_latest"]

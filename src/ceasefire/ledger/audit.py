"""Auditing the database against its log: every change made behind the center's back is named.

Why (DESIGN.md principle 4): anyone with write access to the database could edit, delete,
insert or reorder rows. The audit recomputes everything from the stored texts and checks it
against what the contingents cosigned:

- the ``ledger`` table: indexes 0..n-1 with no gap and nothing beyond the head; every
  ``leaf_hash`` recomputed from ``entry``; ``kind``, ``ref`` and ``appended_at`` as the envelope
  says; entries other than observations in RFC 8785 canonical form;
- the tree: the root of the recomputed leaves at every stored checkpoint's size against the
  root it cosigned, and every checkpoint's signatures (center and each contingent);
- the ``observations`` table: every row points at the entry of its own ref whose envelope is
  built from exactly the row's record; the digest and the columns read from the record
  (category, time, platform, place...) agree with it; rows are in the log's order; and every
  observation entry of the log has its row.

Entries after the newest checkpoint are checked against the observations but are proven only
once a checkpoint covers them. The enrichment columns (zones, distance to the line...) are not
in the log: they are derived, and re-derived when the mission's geometry is corrected.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, select

from ceasefire.i18n import _
from ceasefire.ledger import log
from ceasefire.ledger.cosign import stored_checkpoints, verify_checkpoint
from ceasefire.ledger.entry import (
    KIND_OBSERVATION,
    EntryError,
    entry_leaf_hash,
    envelope,
    is_canonical,
    observation_ref,
    parse_envelope,
    timestamp,
)
from ceasefire.ledger.errors import LedgerError
from ceasefire.ledger.keys import KeyRing
from ceasefire.ledger.leaves import LeafCopy, compare_leaves
from ceasefire.ledger.merkle import MerkleTree
from ceasefire.ledger.tables import ledger, witness_state
from ceasefire.observations.record import ObservationError, format_time, parse_observation
from ceasefire.store import tracks as tracks_
from ceasefire.store.schema import observations, track_points

_position = ledger.c["index"]
STREAM = 10_000


@dataclass(frozen=True)
class Finding:
    """One thing wrong: the table, the row, and what differs."""

    table: str
    row: str
    problem: str

    def __str__(self) -> str:
        return f"{self.table}, {self.row}: {self.problem}"


@dataclass
class AuditReport:
    """The audit's result; ``ok`` when nothing was found."""

    findings: list[Finding] = field(default_factory=list)
    entries: int = 0
    head: int = 0
    observations: int = 0
    checkpoints: int = 0
    checkpoint_size: int | None = None
    uncovered: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, table: str, row: str, problem: str) -> None:
        self.findings.append(Finding(table, row, problem))

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head,
            "observations": self.observations,
            "checkpoints": self.checkpoints,
            "checkpoint_size": self.checkpoint_size,
            "uncovered": self.uncovered,
            "findings": [
                {"table": f.table, "row": f.row, "problem": f.problem} for f in self.findings
            ],
            "notes": self.notes,
        }


def _row(index: int) -> str:
    return _("index {index}").format(index=index)


def _missing(report: AuditReport, first: int, last: int) -> None:
    if first == last:
        report.add("ledger", _row(first), _("missing (deleted?)"))
    else:
        report.add(
            "ledger",
            _("indexes {first}..{last}").format(first=first, last=last),
            _("missing (deleted?)"),
        )


def audit(
    database: Engine | Connection, ring: KeyRing, copies: Sequence[LeafCopy] = ()
) -> AuditReport:
    """Audit the database with the keys of ``ring``; every finding named.

    ``copies`` are witnesses' copies of the leaf hashes they cosigned: each entry whose hash
    differs from one is named (a rewrite that the checkpoints alone show only as a range).
    Given a connection, the audit reads through it (and sees its transaction's changes).
    """
    if isinstance(database, Engine):
        with database.connect() as db:
            return audit(db, ring, copies)
    report = AuditReport()
    report.head = log.size(database)
    tree = _audit_ledger(database, report)
    _audit_checkpoints(database, ring, tree, report)
    _audit_witnesses(database, ring, tree, report)
    for copy in copies:
        _audit_leaf_copy(database, ring, tree, copy, report)
    _audit_observations(database, report)
    _audit_tracks(database, report)
    return report


def _audit_ledger(db: Connection, report: AuditReport) -> MerkleTree:
    """Check every ledger row on its own; the tree of the recomputed leaf hashes, in order."""
    tree = MerkleTree()
    expected = 0
    head = report.head
    rows = db.execution_options(yield_per=STREAM).execute(select(ledger).order_by(_position))
    for row in rows:
        index = int(row._mapping["index"])
        report.entries += 1
        if index < 0:
            report.add("ledger", _row(index), _("negative index (inserted?)"))
            continue
        if index > expected:
            _missing(report, expected, index - 1)
        expected = index + 1
        if index >= head:
            report.add(
                "ledger",
                _row(index),
                _("beyond the log's head of {head} entries (inserted?)").format(head=head),
            )
        leaf = entry_leaf_hash(row.entry)
        if leaf != bytes(row.leaf_hash):
            report.add("ledger", _row(index), _("entry does not hash to leaf_hash (entry edited?)"))
        tree.append(leaf)
        try:
            env = parse_envelope(row.entry)
        except EntryError as e:
            report.add("ledger", _row(index), str(e))
            continue
        for column, stored, logged in (
            ("kind", row.kind, env.kind),
            ("ref", row.ref, env.ref),
            ("appended_at", timestamp(row.appended_at), env.appended_at),
        ):
            if stored != logged:
                report.add(
                    "ledger",
                    _row(index),
                    _("column {column} is {stored!r} but the entry says {logged!r}").format(
                        column=column, stored=stored, logged=logged
                    ),
                )
        # Observation entries are rebuilt from their rows below; others must be canonical.
        if env.kind != KIND_OBSERVATION and not is_canonical(row.entry):
            report.add("ledger", _row(index), _("entry is not RFC 8785 canonical JSON"))
    if expected < head:
        _missing(report, expected, head - 1)
    return tree


def _audit_checkpoints(
    db: Connection, ring: KeyRing, tree: MerkleTree, report: AuditReport
) -> None:
    stored = stored_checkpoints(db)
    report.checkpoints = len(stored)
    if not stored:
        report.notes.append(_("no cosigned checkpoint yet: make one with `ceasefire checkpoint`"))
        return
    matched = 0  # the largest size whose root matches
    mismatched: int | None = None  # the smallest size whose root does not
    for cp in stored:
        where = _("id {id} (size {size})").format(id=cp.id, size=cp.size)
        try:
            verified = verify_checkpoint(cp.note, ring).checkpoint
        except LedgerError as e:
            report.add("checkpoints", where, str(e))
            continue
        if (verified.size, verified.root_hash) != (cp.size, cp.root_hash):
            report.add("checkpoints", where, _("size or root_hash differ from the signed note"))
        if verified.size > tree.size:
            report.add(
                "ledger",
                _("indexes {first}..{last}").format(first=tree.size, last=verified.size - 1),
                _("cosigned in checkpoint {id} but not in the ledger (deleted?)").format(id=cp.id),
            )
            mismatched = min(mismatched or verified.size, verified.size)
        elif tree.root(verified.size) != verified.root_hash:
            mismatched = min(mismatched or verified.size, verified.size)
        else:
            matched = max(matched, verified.size)
    latest = max(stored, key=lambda c: (c.size, c.id))
    report.checkpoint_size = latest.size
    report.uncovered = max(0, tree.size - latest.size)
    if mismatched is not None and mismatched <= tree.size:
        low = matched if matched < mismatched else 0
        report.add(
            "ledger",
            _("indexes {first}..{last}").format(first=low, last=mismatched - 1),
            _(
                "the entries do not hash to the root the contingents cosigned at size {size}: "
                "an entry in this range was edited, inserted, deleted or moved"
            ).format(size=mismatched),
        )
    if report.uncovered:
        report.notes.append(
            _("entries {first}..{last} are not yet covered by a cosigned checkpoint").format(
                first=latest.size, last=tree.size - 1
            )
        )


def _audit_witnesses(db: Connection, ring: KeyRing, tree: MerkleTree, report: AuditReport) -> None:
    """The witnesses' state against the checkpoints and the ledger.

    Every witness cosigned the newest stored checkpoint, so its state is that checkpoint (or a
    later one a partner refused). A state that no stored checkpoint has names a deleted or
    rolled-back checkpoint; one the ledger does not hash to names a rewrite (of the ledger, or
    of the state itself, which would block every later checkpoint)."""
    stored = {(cp.size, cp.root_hash) for cp in stored_checkpoints(db)}
    newest = max((size for size, _root in stored), default=0)
    rows = db.execute(
        select(witness_state).where(witness_state.c.origin == ring.origin).order_by("witness")
    ).all()
    if not rows:
        report.notes.append(
            _(
                "no witness state in this database (the witnesses keep theirs on their nodes): "
                "checkpoints not compared with it"
            )
        )
    for row in rows:
        size, root = int(row.size), bytes(row.root_hash)
        where = _("{witness} (size {size})").format(witness=row.witness, size=size)
        if size > tree.size:
            report.add(
                "ledger",
                _("indexes {first}..{last}").format(first=tree.size, last=size - 1),
                _("cosigned by the witness {witness} but not in the ledger (deleted?)").format(
                    witness=row.witness
                ),
            )
        elif tree.root(size) != root:
            report.add(
                "witness_state",
                where,
                _(
                    "the witness cosigned a root the ledger's first {size} entries do not hash "
                    "to: the ledger or this row was rewritten"
                ).format(size=size),
            )
        elif size < newest:
            report.add(
                "witness_state",
                where,
                _(
                    "below the newest stored checkpoint's size {newest}, which every witness "
                    "cosigned (rolled back?)"
                ).format(newest=newest),
            )
        elif (size, root) not in stored:
            report.add(
                "checkpoints",
                _("size {size}").format(size=size),
                _(
                    "the witness {witness} cosigned it, but no stored checkpoint has it "
                    "(deleted or rolled back, or refused by another witness?)"
                ).format(witness=row.witness),
            )


def _audit_leaf_copy(
    db: Connection, ring: KeyRing, tree: MerkleTree, copy: LeafCopy, report: AuditReport
) -> None:
    """The ledger's recomputed leaf hashes against a witness's copy of those it cosigned:
    every entry that differs is named with its index and kind (rewritten, with its leaf hash
    and its row made to agree, or moved); entries the witness kept and the ledger lacks too."""
    if copy.origin != ring.origin:
        report.add(
            "witness_leaves",
            copy.witness,
            _("the copy is of the log {found!r}, not {expected!r}").format(
                found=copy.origin, expected=ring.origin
            ),
        )
        return
    named, total = compare_leaves(tree, copy)
    kinds = {e.index: e for e in log.entries_at(db, named)}
    for index in named:
        stored = kinds.get(index)
        where = (
            _("index {index} ({kind} {ref})").format(index=index, kind=stored.kind, ref=stored.ref)
            if stored is not None
            else _row(index)
        )
        report.add(
            "ledger",
            where,
            _(
                "differs from the leaf hash the witness {witness} kept when it cosigned: this "
                "entry was rewritten (or moved)"
            ).format(witness=copy.witness),
        )
    if total > len(named):
        report.add(
            "ledger",
            _("{n} more entries").format(n=total - len(named)),
            _("differ from the leaf hashes the witness {witness} kept").format(
                witness=copy.witness
            ),
        )
    if copy.size > tree.size:
        report.add(
            "ledger",
            _("indexes {first}..{last}").format(first=tree.size, last=copy.size - 1),
            _("kept by the witness {witness} but not in the ledger (deleted?)").format(
                witness=copy.witness
            ),
        )
    report.notes.append(
        _("leaf hashes compared with the copy of the witness {witness}: entries 0..{last}").format(
            witness=copy.witness, last=min(copy.size, tree.size) - 1
        )
    )


MOST_POINTS = 10
"""Points of one batch named one by one; the rest are counted."""


def _unaccounted(these: Sequence[bytes], others: Sequence[bytes]) -> list[int]:
    """Positions in ``these`` of the digests that ``others`` (counted) does not account for."""
    left = Counter(others)
    unaccounted = []
    for k, digest in enumerate(these):
        if left[digest]:
            left[digest] -= 1
        else:
            unaccounted.append(k)
    return unaccounted


def _differing_points(
    index: int, record: dict[str, Any], group: list[dict[str, Any]]
) -> list[Finding]:
    """The points of a batch that its entry's short digests do not account for: each stored
    point matched to a logged one of the same digest; those left over are edited (paired in
    order), inserted or deleted. Nothing for a batch logged before points had digests."""
    logged = tracks_.point_digests(record)
    if logged is None:
        return []
    ordered = sorted(group, key=tracks_.sort_key)
    stored = [tracks_.point_digest(p) for p in ordered]
    extra = _unaccounted(stored, logged)  # stored points no logged digest accounts for
    missing = _unaccounted(logged, stored)  # logged points no stored point accounts for
    found: list[Finding] = []

    def point(k: int) -> str:
        p = ordered[k]
        return _("id {id} ({platform}, {time})").format(
            id=p["id"], platform=p["platform_id"], time=format_time(p["time"])
        )

    paired = min(len(extra), len(missing))
    for k, at in zip(extra[:paired], missing[:paired], strict=True):
        found.append(
            Finding(
                "track_points",
                point(k),
                _("differs from point {n} of the batch logged at index {index} (edited?)").format(
                    n=at + 1, index=index
                ),
            )
        )
    for k in extra[paired:]:
        found.append(
            Finding(
                "track_points",
                point(k),
                _("not a point of the batch logged at index {index} (inserted?)").format(
                    index=index
                ),
            )
        )
    for at in missing[paired:]:
        found.append(
            Finding(
                "track_points",
                _("point {n} of the batch logged at index {index}").format(n=at + 1, index=index),
                _("logged but not stored (deleted?)"),
            )
        )
    if len(found) > MOST_POINTS:
        rest = len(found) - MOST_POINTS
        found = found[:MOST_POINTS]
        found.append(
            Finding(
                "track_points",
                _("batch logged at index {index}").format(index=index),
                _("{n} more points differ from the logged batch").format(n=rest),
            )
        )
    return found


_COLUMNS = (
    "platform_id",
    "platform_type",
    "sortie",
    "observed_at",
    "observed_until",
    "category",
    "count",
    "count_approx",
    "sensed_by",
    "lat",
    "lon",
    "ce_m",
)


def _logged_columns(record: str) -> dict[str, Any]:
    """The values of the queried columns as the record says them."""
    obs = parse_observation(json.loads(record))
    point = obs.point()
    return {
        "platform_id": obs.platform.id,
        "platform_type": obs.platform.type,
        "sortie": obs.sortie,
        "observed_at": obs.observed_at,
        "observed_until": obs.observed_until,
        "category": obs.category,
        "count": obs.count,
        "count_approx": obs.count_approx,
        "sensed_by": obs.sensed_by,
        "lat": point.lat,
        "lon": point.lon,
        "ce_m": point.ce_m,
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-9)
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a == b
    return bool(a == b)


def _audit_observations(db: Connection, report: AuditReport) -> None:
    o = observations
    query = (
        select(
            o.c.id,
            o.c.contingent,
            o.c.source_id,
            o.c.digest,
            o.c.record,
            o.c.signature,
            o.c.ledger_index,
            *(o.c[c] for c in _COLUMNS),
            ledger.c.entry,
        )
        .select_from(o.outerjoin(ledger, o.c.ledger_index == _position))
        .order_by(o.c.id)
    )
    previous: tuple[int, int] | None = None  # (id, ledger index) of the last row seen
    for row in db.execution_options(yield_per=STREAM).execute(query):
        report.observations += 1
        ref = observation_ref(row.contingent, row.source_id)
        where = _("id {id} ({ref})").format(id=row.id, ref=ref)
        if hashlib.sha256(row.record.encode("utf-8")).hexdigest() != row.digest:
            report.add("observations", where, _("digest does not match the record (edited?)"))
        try:
            logged = _logged_columns(row.record)
        except (ValueError, ObservationError) as e:
            report.add(
                "observations", where, _("record is not a valid observation: {e}").format(e=e)
            )
            logged = {}
        for column, value in logged.items():
            if not _same(getattr(row, column), value):
                report.add(
                    "observations",
                    where,
                    _("column {column} is {stored!r} but the logged record says {logged!r}").format(
                        column=column, stored=getattr(row, column), logged=value
                    ),
                )
        if row.ledger_index is None:
            report.add("observations", where, _("no ledger entry (inserted?)"))
            continue
        index = int(row.ledger_index)
        if previous is not None and index < previous[1]:
            report.add(
                "observations",
                where,
                _(
                    "stored after id {other} but logged before it, at index {index} "
                    "(rows reordered?)"
                ).format(other=previous[0], index=index),
            )
        previous = (int(row.id), index)
        if row.entry is None:
            report.add(
                "observations",
                where,
                _("points at ledger index {index}, which is not in the ledger").format(index=index),
            )
            continue
        try:
            env = parse_envelope(row.entry)
        except EntryError:
            continue  # reported with the ledger row
        if env.kind != KIND_OBSERVATION or env.ref != ref:
            report.add(
                "observations",
                where,
                _(
                    "points at ledger index {index}, the entry of {kind} {ref} (rows swapped?)"
                ).format(index=index, kind=env.kind, ref=env.ref),
            )
        elif (
            envelope(KIND_OBSERVATION, ref, row.record, env.appended_at, row.signature) != row.entry
        ):
            report.add(
                "observations",
                where,
                _("record differs from its ledger entry at index {index} (edited?)").format(
                    index=index
                ),
            )
    orphans = (
        select(_position, ledger.c.ref)
        .select_from(ledger.outerjoin(o, o.c.ledger_index == _position))
        .where(and_(ledger.c.kind == KIND_OBSERVATION, o.c.id.is_(None)))
        .order_by(_position)
    )
    for index, ref in db.execute(orphans):
        report.add(
            "observations",
            ref,
            _("logged at index {index} but not in the table (deleted?)").format(index=index),
        )


def _audit_tracks(db: Connection, report: AuditReport) -> None:
    """Each logged batch of drone track points (kind ``tracks``) against the points stored
    under its index: a batch deleted, cut, added to or edited is named with its contingent,
    platforms and times, and each point that differs from its short digest in the entry by
    itself (its id, platform and time); a point under no logged batch is named as inserted."""
    logged: dict[int, dict[str, Any]] = {}
    for index, entry in db.execute(
        select(_position, ledger.c.entry).where(
            ledger.c.kind != KIND_OBSERVATION,  # lets the partial index on (kind, ref) serve
            ledger.c.kind == tracks_.KIND_TRACKS,
        )
    ):
        try:
            logged[int(index)] = dict(json.loads(entry)["record"])
        except (ValueError, KeyError, TypeError):
            report.add("ledger", _row(int(index)), _("not a batch of track points"))
    columns = [track_points.c[c] for c in tracks_.COLUMNS]
    query = select(track_points.c.id, track_points.c.ledger_index, *columns).order_by(
        track_points.c.ledger_index, track_points.c.id
    )
    stored: dict[int | None, tuple[int, str]] = {}
    points: dict[int, list[Finding]] = {}
    unlogged: list[int] = []
    group: list[dict[str, Any]] = []
    current: int | None = None

    def close() -> None:
        if group and current is not None:
            stored[current] = tracks_.digest(group)
            if stored[current] != (logged[current].get("count"), logged[current].get("sha256")):
                points[current] = _differing_points(current, logged[current], group)

    for row in db.execution_options(yield_per=STREAM).execute(query):
        index = None if row.ledger_index is None else int(row.ledger_index)
        if index is None or index not in logged:
            unlogged.append(int(row.id))
            continue
        if index != current:
            close()
            group, current = [], index
        group.append({"id": int(row.id), **{c: getattr(row, c) for c in tracks_.COLUMNS}})
    close()
    for index, record in sorted(logged.items()):
        where = _(
            "batch logged at index {index} ({contingent}: {platforms}, {first}..{last})"
        ).format(
            index=index,
            contingent=record.get("contingent") or "-",
            platforms=", ".join(record.get("platforms", [])),
            first=record.get("first"),
            last=record.get("last"),
        )
        count, sha256 = stored.get(index, (0, ""))
        named = points.get(index, [])
        if count != record.get("count"):
            report.add(
                "track_points",
                where,
                _("{logged} points logged, {stored} stored (deleted or inserted?)").format(
                    logged=record.get("count"), stored=count
                ),
            )
        elif sha256 != record.get("sha256") and not named:
            report.add(
                "track_points", where, _("the points differ from the logged batch (edited?)")
            )
        report.findings.extend(named)
    if unlogged:
        shown = ", ".join(str(i) for i in unlogged[:10]) + (", ..." if len(unlogged) > 10 else "")
        report.add(
            "track_points",
            _("ids {ids}").format(ids=shown),
            _("{n} points in no logged batch (inserted behind the log?)").format(n=len(unlogged)),
        )

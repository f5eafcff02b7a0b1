"""Correlation against the store: streaming (new observations) and batch (a period again).

Both recompute the incidents of a closed set of observations: the new (or re-examined) ones,
every stored observation that could link to them, and every member of the incidents those
belong to. Linked observations always share an incident, so that set is closed under links,
and the components found in it are exactly those a full batch run finds.
"""

from __future__ import annotations

import bisect
import functools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
import orjson
from sqlalchemy import Connection, Engine, and_, bindparam, func, or_, select, update

from ceasefire.geo.engine import Enricher
from ceasefire.incidents import holds
from ceasefire.incidents.correlate import (
    F64,
    I64,
    Evidence,
    Gating,
    chains_and_incidents,
    links,
)
from ceasefire.incidents.crossings import Crossing, TrackPosition, crossings
from ceasefire.incidents.incident import COMPLAINT, Member, across_bearing_m, summary
from ceasefire.incidents.rules import Facts, evaluate
from ceasefire.incidents.tables import incidents
from ceasefire.ledger import log
from ceasefire.ledger.entry import KIND_SUPERSEDED, LogEntry
from ceasefire.mission.model import SEVERITIES, Mission
from ceasefire.observations.taxonomy import CATEGORIES
from ceasefire.store import bulk
from ceasefire.store.schema import observations
from ceasefire.timeutil import iso

_MEMBER_COLUMNS = (
    observations.c.id,
    observations.c.contingent,
    observations.c.source_id,
    observations.c.platform_id,
    observations.c.platform_type,
    observations.c.observed_at,
    observations.c.observed_until,
    observations.c.lat,
    observations.c.lon,
    observations.c.ce_m,
    observations.c.category,
    observations.c.count,
    observations.c.rules,
    observations.c.incident_id,
    observations.c.track,
    observations.c.record,
)


_AT, _LAT, _LON, _CATEGORY = 5, 7, 8, 10
"""Positions in a row of :data:`_MEMBER_COLUMNS` (the rows are tested before members are made)."""


def _member(row: Any) -> Member:
    # by position, in the order of _MEMBER_COLUMNS: a row's attributes by name cost more
    key, contingent, source_id, platform_id, platform_type, at, until = row[:7]
    lat, lon, ce_m, category, count, rules, incident_id, track, record = row[7:]
    said = orjson.loads(record)
    bearing = said.get("bearing_deg")
    return Member(
        key,
        contingent,
        source_id,
        platform_id,
        platform_type,
        at,
        until,
        lat,
        lon,
        ce_m,
        category,
        count,
        _rules(rules),
        incident_id,
        f"{contingent}/{track}" if track else None,
        said.get("qualifiers") or {},
        bearing,
        across_bearing_m(bearing, said.get("distance_m")),
    )


def read_members(db: Connection, where: Any = None) -> list[Member]:
    """The stored observations matching ``where`` as correlation sees them, in time order."""
    query = select(*_MEMBER_COLUMNS)
    if where is not None:
        query = query.where(where)
    return sorted((_member(r) for r in db.execute(query)), key=Member.order)


class Arrays(NamedTuple):
    """Time-ordered observations as correlation works on them (:meth:`Correlator.arrays`)."""

    t: I64
    x: F64
    y: F64
    ce: F64
    group: I64
    gating: Gating
    source: I64
    track: I64
    until: I64
    evidence: Evidence


def arrays(gating: Gating, enricher: Enricher, ordered: list[Member]) -> Arrays:
    """What correlation works on, for time-ordered members (the arguments of
    :func:`~ceasefire.incidents.correlate.chains_and_incidents` and ``links``)."""
    lat = np.array([m.lat for m in ordered])
    lon = np.array([m.lon for m in ordered])
    x, y = enricher.to_metric(lon, lat)
    t = np.array([int(m.observed_at.timestamp()) for m in ordered], dtype=np.int64)
    until = np.array(
        [int((m.observed_until or m.observed_at).timestamp()) for m in ordered], dtype=np.int64
    )
    ce = np.array([m.ce_m for m in ordered])
    group = gating.codes(
        [m.category for m in ordered], [m.platform_type == COMPLAINT for m in ordered]
    )
    source = gating.sources([m.platform_type for m in ordered], [m.platform_id for m in ordered])
    tracks = [m.track for m in ordered]
    number = {k: n for n, k in enumerate(sorted({k for k in tracks if k}))}
    track = np.array([number.get(k or "", -1) for k in tracks], dtype=np.int64)
    evidence = gating.evidence(
        [m.qualifiers for m in ordered],
        [m.bearing_deg for m in ordered],
        [m.across_m for m in ordered],
    )
    return Arrays(
        t, np.asarray(x), np.asarray(y), ce, group, gating, source, track, until, evidence
    )


@functools.lru_cache(maxsize=4096)
def _rules(text: str | None) -> tuple[str, ...]:
    """A stored rule list: few distinct ones, each parsed once."""
    return tuple(json.loads(text or "[]"))


@dataclass(frozen=True)
class Plan:
    """Incidents worked out but not yet written (:meth:`Correlator.plan`)."""

    events: list[dict[str, Any]]
    tracks: list[str]
    """The tracks whose crossings were looked at: those no longer found there are retired."""
    crossings: list[dict[str, Any]]


class Correlator:
    def __init__(self, mission: Mission, mission_row: int, enricher: Enricher) -> None:
        self.mission = mission
        self.mission_row = mission_row
        self.enricher = enricher
        self.gating = Gating.of(mission.config.correlation, list(CATEGORIES))
        # A sighting that lasts links up to a window after its end, and lasts a window at most.
        self.reach = timedelta(seconds=2 * float(self.gating.window_s.max()))
        self.skip: set[int] = set()
        """Keys of quarantined observations: left out, as if not stored (incidents.follow)."""

    # -- entry points -----------------------------------------------------------------------
    def add(self, db: Connection, keys: Sequence[int]) -> None:
        """Correlate newly stored observations (their primary keys), in the caller's transaction."""
        self.apply(db, self.plan(db, keys))

    def plan(self, db: Connection, keys: Sequence[int], upto: int | None = None) -> Plan:
        """What correlating newly stored observations changes, read from ``db`` but not written:
        the work can happen outside the transaction that writes it (:meth:`apply`), as long as
        nothing else writes incidents meanwhile (the correlation follower is their only writer
        then; a later observation that links to these is correlated by a later plan).

        ``upto`` (the follower: the last key of its chunk, every observation up to which is
        correlated once this plan is written): the observations stored after it are left out,
        as if not stored yet; their own steps correlate them. The incidents written are then
        those of one batch run over the observations up to ``upto`` (the chains of the others
        did not change), so once every key is correlated they are the batch's; and a step never
        walks a chain on into what is stored but not yet correlated (the intake may be a month
        of records ahead)."""
        if not keys:
            return Plan([], [], [])
        new = sorted(
            (
                _member(r)
                for r in db.execute(select(*_MEMBER_COLUMNS).where(observations.c.id.in_(keys)))
            ),
            key=Member.order,
        )
        where, near = self._near(new)
        if upto is not None:
            where = and_(where, observations.c.id <= upto)
        fresh = {m.key for m in new}
        events = self._components(db, where, fresh, near, fresh, upto)
        return Plan(events, *self._crossings(db, observations.c.id.in_(keys)))

    def _near(self, new: list[Member]) -> tuple[Any, Callable[[Any], bool]]:
        """Where the stored observations that could link to ``new`` (sorted) are: of their
        category group, within that group's window in time and its largest gate in space. One
        indexed query by time (each group within its own window and area: a mine's day-long
        window must not make a shot read a day of everything), then each group's runs of
        observations (close in time) as boxes, tested on the rows before they are made
        members."""
        boxes: dict[str, list[tuple[datetime, datetime, float, float, float, float]]] = {}
        longest = timedelta(0)
        areas = []
        by_group: dict[int, list[Member]] = {}
        for member in new:
            by_group.setdefault(self.gating.groups[member.category], []).append(member)
        for code, members in by_group.items():
            # Two windows: a sighting that lasts (a window at most) links a window beyond.
            window = timedelta(seconds=2 * float(self.gating.window_s[code]))
            longest = max(longest, window)
            reach_m = self.gating.max_gate_m + float(self.gating.speed_ms[code]) * window.seconds
            runs: list[list[Member]] = [[members[0]]]
            for member in members[1:]:
                if member.observed_at - runs[-1][-1].observed_at <= window:
                    runs[-1].append(member)
                else:
                    runs.append([member])
            group_boxes = [_box(run, window, reach_m) for run in runs]
            categories = sorted(c for c, g in self.gating.groups.items() if g == code)
            for category in categories:
                boxes[category] = group_boxes
            t0, t1, la0, la1, lo0, lo1 = zip(*group_boxes, strict=True)
            areas.append(
                and_(
                    observations.c.category.in_(categories),
                    observations.c.observed_at >= min(t0),
                    observations.c.observed_at <= max(t1),
                    observations.c.lat.between(min(la0), max(la1)),
                    observations.c.lon.between(min(lo0), max(lo1)),
                )
            )

        def near(row: Any) -> bool:
            """Whether a row of :data:`_MEMBER_COLUMNS` is in one of the boxes."""
            at, lat, lon, category = row[_AT], row[_LAT], row[_LON], row[_CATEGORY]
            return any(
                t0 <= at <= t1 and la0 <= lat <= la1 and lo0 <= lon <= lo1
                for t0, t1, la0, la1, lo0, lo1 in boxes.get(category, ())
            )

        where = and_(
            observations.c.observed_at >= _shift(new[0].observed_at, -longest),
            observations.c.observed_at <= _shift(new[-1].observed_at, longest),
            or_(*areas),
        )
        return where, near

    def apply(self, db: Connection, plan: Plan) -> None:
        """Write a plan's incidents, in the caller's transaction."""
        self._write(db, plan.events)
        self._write_crossings(db, plan.tracks, plan.crossings)

    def recorrelate(
        self,
        engine: Engine,
        since: datetime | None = None,
        until: datetime | None = None,
        step: timedelta = timedelta(days=1),
    ) -> int:
        """Batch: correlate a period again (e.g. after a geometry correction), a day at a time
        so that memory stays bounded however long the period. Components do not depend on
        the order of work, so the result is the same as one pass. Returns the number of
        incidents overlapping the period (those correlation makes, not those it replaced)."""
        period = []
        if since is not None:
            period.append(observations.c.observed_at >= since)
        if until is not None:
            period.append(observations.c.observed_at <= until)
        with engine.connect() as db:
            low, high = db.execute(
                select(
                    func.min(observations.c.observed_at), func.max(observations.c.observed_at)
                ).where(*period)
            ).one()
        if low is None:
            return 0
        start = low
        while start is not None and start <= high:
            end = _shift(start, step)
            with engine.begin() as db:
                keys = set(
                    db.execute(
                        select(observations.c.id).where(
                            observations.c.observed_at >= start, observations.c.observed_at < end
                        )
                    ).scalars()
                )
                if keys:
                    near = and_(
                        observations.c.observed_at >= _shift(start, -self.reach),
                        observations.c.observed_at < _shift(end, self.reach),
                    )
                    self._write(db, self._components(db, near, keys, covered=keys))
                # on to the next day that has observations: months may lie empty between
                start = None
                if end < _LATEST:
                    start = db.execute(
                        select(func.min(observations.c.observed_at)).where(
                            observations.c.observed_at >= end, *period
                        )
                    ).scalar_one()
        with engine.begin() as db:
            self._write_crossings(db, *self._crossings(db, and_(*period) if period else None))
            return int(
                db.execute(
                    select(func.count())
                    .select_from(incidents)
                    .where(
                        incidents.c.ended_at >= low,
                        incidents.c.started_at <= high,
                        incidents.c.status != SUPERSEDED,
                    )
                ).scalar_one()
            )

    # -- the work ---------------------------------------------------------------------------
    def _components(
        self,
        db: Connection,
        where: Any,
        new: set[int] | None = None,
        keep: Callable[[Any], bool] | None = None,
        covered: set[int] | None = None,
        upto: int | None = None,
    ) -> list[dict[str, Any]]:
        """Recompute the incidents of the observations matching `where`, closed under links.

        With `new` given, only the incidents that contain a new observation are returned: no
        other incident can have changed. `covered`: the observations whose every possible link
        `where` already holds; the set is widened around the others until every observation
        linked, directly or through others, to a new one is in it (complete linkage splits
        such a chain by looking at all of it). `upto`: only the observations up to this key
        (:meth:`plan`)."""
        query = select(*_MEMBER_COLUMNS)
        if where is not None:
            query = query.where(where)
        skip = self.skip
        members = {
            row[0]: _member(row)
            for row in db.execute(query)
            if (keep is None or keep(row)) and row[0] not in skip
        }
        read: set[str] = set()
        self._add_incidents(db, members, read, upto)
        if covered is not None:
            self._widen(db, members, read, new, set(covered), upto)
        if not members:
            return []
        ordered = sorted(members.values(), key=Member.order)
        chains, labels = (a.tolist() for a in self._labels(ordered))
        chained = {c for c, m in zip(chains, ordered, strict=True) if new is None or m.key in new}
        groups: dict[int, list[Member]] = {}
        for label, chain, member in zip(labels, chains, ordered, strict=True):
            if chain in chained:
                groups.setdefault(label, []).append(member)
        # Every incident of a chain with a new observation: complete linkage may have moved
        # an observation from one of them to another.
        changed = list(groups.values())
        summaries = [summary(self.mission, group) for group in changed]
        _keep_taken_ids(db, summaries)
        self._place(summaries)
        now = datetime.now(UTC)
        for s in summaries:
            # The stored row is made here, before the writing: the follower holds SQLite's
            # single writer, which the intake waits for, only while it writes.
            s["row"] = self._row(s, now)
        return summaries

    def _widen(
        self,
        db: Connection,
        members: dict[int, Member],
        read: set[str],
        new: set[int] | None,
        done: set[int],
        upto: int | None = None,
    ) -> None:
        """Add to ``members`` every stored observation linked, directly or through others, to
        a new one (to any, without ``new``): the chains of the new ones are widened around
        their members not ``done`` until no more join.

        The chains are kept up to date as members join (:class:`_Chains`): only the links of
        those that joined are looked for, not the whole set's again at each widening (a
        month-long movement chain grows by a window at a time).

        With ``upto`` (:meth:`plan`), every stored observation up to it is correlated but the
        new ones, and what is stored is one batch run's over them: an incident that is a whole
        chain (a movement's, followed as a track, or any with single linkage) then holds
        every observation its members are linked to but the new ones, whose links the first
        reading found. Its members are ``done`` once read (:meth:`_whole`): the widening is
        left to the chains that complete linkage may have split into several incidents."""
        if upto is not None:
            done |= {m.key for m in members.values() if self._whole(m)}
        # Only the groups with a member to widen around need their chains (a group whose
        # members are all done has nothing pending, and links stay within a group).
        groups = {_Chains.code(self.gating, m) for m in members.values() if m.key not in done}
        if not groups:
            return
        chains = _Chains(self, members, done, groups)
        skip = self.skip
        while members:
            if new is None:
                frontier = [m for m in members.values() if m.key not in done]
            else:
                frontier = chains.pending({chains.find(k) for k in new if k in chains.parent})
            if not frontier:
                return
            frontier.sort(key=Member.order)
            done |= {m.key for m in frontier}
            more, near = self._near(frontier)
            if upto is not None:
                more = and_(more, observations.c.id <= upto)
            before = len(members)
            for row in db.execute(select(*_MEMBER_COLUMNS).where(more)):
                if near(row) and row[0] not in skip and row[0] not in members:
                    members[row[0]] = _member(row)
            self._add_incidents(db, members, read, upto)
            if len(members) == before:
                return
            joined = list(members.values())[before:]
            if upto is not None:
                done |= {m.key for m in joined if self._whole(m)}
            chains.add(joined)

    def _whole(self, member: Member) -> bool:
        """Whether ``member``'s stored incident is its whole chain (a movement, followed as a
        track, or single linkage): the incidents complete linkage may split are the others."""
        if member.incident_id is None:
            return False
        code = self.gating.groups[member.category]
        return not self.gating.complete or bool(self.gating.speed_ms[code] > 0)

    def _add_incidents(
        self,
        db: Connection,
        members: dict[int, Member],
        read: set[str] | None = None,
        upto: int | None = None,
    ) -> None:
        """Close the set: every member of every incident touched (those in ``read`` are in
        already; it is updated); with ``upto``, those up to that key (:meth:`plan`)."""
        read = set() if read is None else read
        touched = {m.incident_id for m in members.values() if m.incident_id} - read
        read |= touched
        for chunk in _chunks(sorted(touched), 500):
            where: Any = observations.c.incident_id.in_(chunk)
            if upto is not None:
                where = and_(where, observations.c.id <= upto)
            rows = db.execute(select(*_MEMBER_COLUMNS).where(where))
            for row in rows:
                if row[0] not in self.skip and row[0] not in members:
                    members[row[0]] = _member(row)

    def _write(self, db: Connection, summaries: list[dict[str, Any]]) -> None:
        now = datetime.now(UTC)
        new_ids = {s["id"] for s in summaries}
        successor = {
            m.incident_id: s["id"]
            for s in summaries
            for m in s["members"]
            if m.incident_id and m.incident_id not in new_ids
        }
        _retire(db, successor, now)
        _store(db, [s["row"] for s in summaries])
        moves = [
            (s["id"], m.key) for s in summaries for m in s["members"] if m.incident_id != s["id"]
        ]
        bulk.set_column(db, observations, "incident_id", moves)

    def _crossings(self, db: Connection, where: Any) -> tuple[list[str], list[dict[str, Any]]]:
        """Find again the crossings of every track with an observation matching `where`: the
        tracks looked at, and a summary of each crossing found on them."""
        query = select(observations.c.contingent, observations.c.track).where(
            observations.c.track.is_not(None)
        )
        if where is not None:
            query = query.where(where)
        tracks = sorted({(c, t) for c, t in db.execute(query.distinct())})
        found: list[tuple[str, Crossing]] = []
        for contingent, track in tracks:
            rows = db.execute(
                select(observations).where(
                    observations.c.contingent == contingent, observations.c.track == track
                )
            )
            positions = [
                TrackPosition(
                    key=r.id,
                    ref=f"{r.contingent}/{r.source_id}",
                    observed_at=r.observed_at,
                    lat=r.lat,
                    lon=r.lon,
                    ce_m=r.ce_m,
                    category=r.category,
                    platform_id=r.platform_id,
                    line_side=r.line_side,
                    distance_to_line_m=r.distance_to_line_m,
                )
                for r in rows
            ]
            found += [(f"{contingent}/{track}", c) for c in crossings(positions)]
        keys = [f"{c}/{t}" for c, t in tracks]
        summaries = []
        for track_key, c in found:
            contingent = track_key.split("/", 1)[0]
            platforms = sorted({c.before.platform_id, c.after.platform_id})
            summaries.append(
                {
                    "id": c.id,
                    "category": "line_crossing",
                    "categories": sorted({"line_crossing", c.before.category, c.after.category}),
                    "started_at": c.before.observed_at,
                    "ended_at": c.after.observed_at,
                    "lat": c.lat,
                    "lon": c.lon,
                    "ce_m": c.ce_m,
                    "count": 1,
                    "observation_count": 2,
                    "contingents": [contingent],
                    "platforms": platforms,
                    "corroboration": "several_platforms" if len(platforms) > 1 else "single_source",
                    "rules": [],
                    "severity": None,
                    "track": track_key,
                    "refs": [c.before.ref, c.after.ref],
                    "detail": {"from_side": c.from_side, "to_side": c.to_side},
                }
            )
        self._place(summaries)
        self._crossing_rules(summaries)
        now = datetime.now(UTC)
        for s in summaries:
            s["row"] = self._row(s, now) | {
                "kind": "line_crossing",
                "track": s["track"],
                "refs": json.dumps(s["refs"]),
                "detail": json.dumps(s["detail"]),
            }
        return keys, summaries

    def _write_crossings(
        self, db: Connection, tracks: list[str], summaries: list[dict[str, Any]]
    ) -> None:
        """Store the crossings found on ``tracks``; retire those no longer found there."""
        now = datetime.now(UTC)
        found_ids = {s["id"] for s in summaries}
        gone: dict[str, str | None] = {}
        for chunk in _chunks(tracks, 500):
            for (incident_id,) in db.execute(
                select(incidents.c.id).where(
                    incidents.c.track.in_(chunk), incidents.c.status != SUPERSEDED
                )
            ):
                if incident_id not in found_ids:
                    gone[incident_id] = None  # a later position showed no crossing there
        _retire(db, gone, now)
        _store(db, [s["row"] for s in summaries])

    def _crossing_rules(self, summaries: list[dict[str, Any]]) -> None:
        """The rules a crossing triggers, tested at its place and time."""
        found = self.enricher.enrich(
            [s["lat"] for s in summaries],
            [s["lon"] for s in summaries],
            [int(s["started_at"].timestamp()) for s in summaries],
        )
        facts = [Facts("line_crossing", {}, int(s["started_at"].timestamp())) for s in summaries]
        severity_of = {rule.id: rule.severity for rule in self.mission.config.rules}
        for s, rules in zip(summaries, evaluate(self.mission, facts, found), strict=True):
            s["rules"] = rules
            severities = [severity_of[r] for r in rules]
            s["severity"] = max(severities, key=SEVERITIES.index) if severities else None

    def _labels(self, ordered: list[Member]) -> tuple[Any, Any]:
        """The chains (components of the links) and incident labels of time-ordered members."""
        contingent = np.unique([m.contingent for m in ordered], return_inverse=True)[1]
        return chains_and_incidents(*self.arrays(ordered), contingent=contingent)

    def arrays(self, ordered: list[Member]) -> Arrays:
        """What correlation works on, for time-ordered members (:func:`arrays`)."""
        return arrays(self.gating, self.enricher, ordered)

    def _place(self, summaries: list[dict[str, Any]]) -> None:
        """Where each incident is: zones, control, line and settlement at its start."""
        if not summaries:
            return
        found = self.enricher.enrich(
            [s["lat"] for s in summaries],
            [s["lon"] for s in summaries],
            [int(s["started_at"].timestamp()) for s in summaries],
        )
        for i, s in enumerate(summaries):
            distance = float(found.distance_to_line_m[i])
            has_line = distance == distance
            side = int(found.line_side[i])
            s["zones"] = found.zones_of(i)
            s["controlled_by"] = found.party_of(i)
            s["distance_to_line_m"] = round(distance, 1) if has_line else None
            s["line_side"] = found.parties[side] if has_line and side >= 0 else None
            s["settlement_id"] = self.mission.settlements[int(found.settlement[i])].id
            s["settlement_distance_m"] = round(float(found.settlement_distance_m[i]), 1)
            s["settlement_bearing_deg"] = round(float(found.settlement_bearing_deg[i]), 1)

    def _row(self, s: dict[str, Any], now: datetime) -> dict[str, Any]:
        return {
            "id": s["id"],
            "mission": self.mission_row,
            "status": "open",
            "kind": "event",
            "category": s["category"],
            "categories": json.dumps(s["categories"]),
            "started_at": s["started_at"],
            "ended_at": s["ended_at"],
            "lat": s["lat"],
            "lon": s["lon"],
            "ce_m": s["ce_m"],
            "count": s["count"],
            "observation_count": s["observation_count"],
            "contingents": json.dumps(s["contingents"]),
            "platforms": json.dumps(s["platforms"]),
            "corroboration": s["corroboration"],
            "rules": json.dumps(s["rules"]),
            "severity": s["severity"],
            "zones": json.dumps(s["zones"]),
            "controlled_by": s["controlled_by"],
            "distance_to_line_m": s["distance_to_line_m"],
            "line_side": s["line_side"],
            "settlement_id": s["settlement_id"],
            "settlement_distance_m": s["settlement_distance_m"],
            "settlement_bearing_deg": s["settlement_bearing_deg"],
            "updated_at": now,
        }


class _Chains:
    """The chains (components of the links) of a growing set of members, kept as they join.

    Links are between pairs, and a pair is linked only within twice its group's window in
    time (a sighting lasts a window at most and links a window beyond its end): the links of
    the members that join are among them and the members of their groups that near in time,
    and those alone are looked for. Whether a platform reports an event once is a property of
    the whole set (:meth:`Gating.sources`): the codes are those of every member so far, and if
    a joining member makes a platform already there one that reports once, the old links may
    change, so all of them are found again.

    ``groups``: the group codes whose chains are kept (default: all); a member of another
    group that joins not ``done`` adds its group (all of that group's links found then)."""

    def __init__(
        self,
        correlator: Correlator,
        members: dict[int, Member],
        done: set[int],
        groups: set[int] | None = None,
    ) -> None:
        self.correlator = correlator
        self.all = members
        self.done = done
        self.groups = groups
        self.parent: dict[int, int] = {}
        self.size: dict[int, int] = {}
        self.waiting: dict[int, list[Member]] = {}
        """A chain's members not ``done``, by its root (:meth:`find`)."""
        self.times: dict[int, list[int]] = {}
        """Per group code, the members' times in order, and their keys alongside."""
        self.keys: dict[int, list[int]] = {}
        self.once: set[str] = set()
        """The platforms that report an event once."""
        self.platforms: set[str] = set()
        self._rebuild()

    # A union-find of its own rather than scipy's DisjointSet: the same chains, but the
    # follower's whole step cost 10-13 % more with it (serve, 40,000 records, two runs each).
    def find(self, key: int) -> int:
        parent = self.parent
        root = key
        while parent[root] != root:
            root = parent[root]
        while parent[key] != root:
            parent[key], key = root, parent[key]
        return root

    def _union(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a == b:
            return
        if self.size[a] < self.size[b]:
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size.pop(b)
        self.waiting[a] += self.waiting.pop(b)

    def pending(self, roots: set[int]) -> list[Member]:
        """The members of the chains of ``roots`` not ``done`` yet; they are ``done`` now
        (the caller adds them)."""
        out = [m for root in roots for m in self.waiting[root]]
        for root in roots:
            self.waiting[root] = []
        return out

    def _start(self, joined: Iterable[Member]) -> None:
        for m in joined:
            self.parent[m.key] = m.key
            self.size[m.key] = 1
            self.waiting[m.key] = [] if m.key in self.done else [m]

    @staticmethod
    def code(gating: Gating, member: Member) -> int:
        """A member's group code (:meth:`Gating.code`)."""
        return gating.code(member.category, member.platform_type == COMPLAINT)

    def _kept(self, joined: Iterable[Member]) -> list[Member]:
        """Those of ``joined`` in the groups whose chains are kept."""
        if self.groups is None:
            return list(joined)
        gating, groups = self.correlator.gating, self.groups
        return [m for m in joined if self.code(gating, m) in groups]

    def _rebuild(self) -> None:
        """Every chain found again, from every link of the set."""
        self.parent, self.size, self.waiting = {}, {}, {}
        kept = self._kept(self.all.values())
        self._start(kept)
        self.times, self.keys = {}, {}
        self.once, self.platforms = set(), set()
        self._count(self.all.values())
        self._link(kept, [])

    def _count(self, joined: Iterable[Member]) -> None:
        """Note the platforms of ``joined``, and those that report once (of the whole set:
        the final correlation codes them so)."""
        once_per_event = self.correlator.gating.once_per_event
        for m in joined:
            self.platforms.add(m.platform_id)
            if m.platform_type in once_per_event:
                self.once.add(m.platform_id)

    def add(self, joined: list[Member]) -> None:
        """Members that joined the set (already in it)."""
        gating = self.correlator.gating
        once = {m.platform_id for m in joined if m.platform_type in gating.once_per_event}
        if (once - self.once) & self.platforms:
            self._rebuild()
            return
        if self.groups is not None:
            opened = {self.code(gating, m) for m in joined if m.key not in self.done}
            if opened - self.groups:
                self.groups |= opened
                self._rebuild()
                return
        self._count(joined)
        kept = self._kept(joined)
        self._start(kept)
        self._link(kept, self._near(kept))

    def _near(self, joined: list[Member]) -> list[int]:
        """The keys of the members already there that could link to ``joined``."""
        gating = self.correlator.gating
        fresh = sorted(joined, key=Member.order)
        group = gating.codes(
            [m.category for m in fresh], [m.platform_type == COMPLAINT for m in fresh]
        ).tolist()
        near: list[int] = []
        spans: dict[int, list[list[int]]] = {}
        for m, code in zip(fresh, group, strict=True):
            t = int(m.observed_at.timestamp())
            reach = int(2 * float(gating.window_s[code])) + 1
            runs = spans.setdefault(code, [])
            if runs and t - reach <= runs[-1][1]:
                runs[-1][1] = max(runs[-1][1], t + reach)
            else:
                runs.append([t - reach, t + reach])
        for code, runs in spans.items():
            times, keys = self.times.get(code, []), self.keys.get(code, [])
            for low, high in runs:
                near += keys[bisect.bisect_left(times, low) : bisect.bisect_right(times, high)]
        return near

    def _link(self, joined: list[Member], near: list[int]) -> None:
        """Find the links among ``joined`` and the members ``near``, join their chains, and
        place the joined ones by group and time."""
        ordered = sorted([*joined, *(self.all[k] for k in set(near))], key=Member.order)
        if not ordered:
            return
        found = self.correlator.arrays(ordered)
        number = {p: n for n, p in enumerate(sorted(self.once))}
        source = np.array([number.get(m.platform_id, -1) for m in ordered], dtype=np.int64)
        first, second = links(*found._replace(source=source))
        keys = [m.key for m in ordered]
        for i, j in zip(first.tolist(), second.tolist(), strict=True):
            self._union(keys[i], keys[j])
        group = found.group.tolist()
        t = found.t.tolist()
        joined_keys = {m.key for m in joined}
        for n, key in enumerate(keys):
            if key in joined_keys:
                times = self.times.setdefault(group[n], [])
                at = bisect.bisect_right(times, t[n])
                times.insert(at, t[n])
                self.keys.setdefault(group[n], []).insert(at, key)


SUPERSEDED = "superseded"
"""The status of an incident that correlation replaced (merged into another, or a crossing a
later position undid): it is kept, not deleted, pointing at its successor, and its giving way
is logged as an entry of kind :data:`~ceasefire.ledger.entry.KIND_SUPERSEDED`."""

STATUS_BEFORE = "status_before"
"""Where a superseded incident's ``detail`` keeps its status: correlation may make the same
incident again (a later report reshapes complete linkage), and it then returns to it."""


def _keep_taken_ids(db: Connection, summaries: list[dict[str, Any]]) -> None:
    """An incident the workflow holds keeps its id when correlation changes it.

    Ids derive from the earliest observation, so a late report of the same event, earlier
    than any before, would otherwise give the incident a new id and leave its findings and
    decisions on a superseded one. Each held id stays with the component that derives it, or
    else with the earliest component holding one of its observations. Only when one component
    holds two held incidents does one of them give way (kept as superseded, and logged: see
    :func:`_retire`). The workflow holds an incident only once its records are everyone's
    (``workflow.blindness.hold_when_shared``): ids must not tell one side what the other has
    done while the incident is blind."""
    ids = {m.incident_id for s in summaries for m in s["members"] if m.incident_id}
    taken = holds.held(db, ids)
    if not taken:
        return
    derived = {s["id"] for s in summaries}
    claimed: set[str] = {s["id"] for s in summaries if s["id"] in taken}
    for s in sorted(summaries, key=lambda s: (s["started_at"], s["id"])):
        if s["id"] in taken:
            continue
        mine = sorted({m.incident_id for m in s["members"]} & taken - claimed - derived)
        if mine:
            s["id"] = mine[0]
            claimed.add(mine[0])


def _store(db: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert new incidents; update known ones, whose status belongs to the workflow (one
    that had been superseded and is made again returns to the status it had)."""
    existing: set[str] = set()
    returning: list[dict[str, Any]] = []
    for chunk in _chunks(sorted(r["id"] for r in rows), 500):
        for incident_id, status, detail in db.execute(
            select(incidents.c.id, incidents.c.status, incidents.c.detail).where(
                incidents.c.id.in_(chunk)
            )
        ):
            existing.add(incident_id)
            if status == SUPERSEDED:
                returning.append({"v_id": incident_id, "v_detail": detail})
    fresh = [r for r in rows if r["id"] not in existing]
    known = [r for r in rows if r["id"] in existing]
    bulk.insert_rows(db, incidents, fresh)
    if known:
        values: dict[str, Any] = {
            c: bindparam(f"v_{c}") for c in known[0] if c not in ("id", "status")
        }
        db.execute(
            update(incidents).where(incidents.c.id == bindparam("v_id")).values(**values),
            [{f"v_{k}": v for k, v in r.items() if k != "status"} for r in known],
        )
    if returning:
        made = {r["id"]: r for r in known}
        for back in returning:
            before = json.loads(back["v_detail"] or "{}")
            back["v_status"] = before.pop(STATUS_BEFORE, "open")
            before.pop("superseded_by", None)
            detail = made[back["v_id"]].get("detail")  # a crossing's, just written
            back["v_detail"] = detail if detail else json.dumps(before) if before else None
        db.execute(
            update(incidents)
            .where(incidents.c.id == bindparam("v_id"))
            .values(status=bindparam("v_status"), detail=bindparam("v_detail")),
            returning,
        )


def _retire(db: Connection, successor: dict[str, str | None], now: datetime) -> None:
    """Mark superseded the incidents correlation no longer makes, pointing at their successor
    (None: a crossing a later position undid), and log each.

    None is deleted, whether the workflow has records of it or not: an id once made stays
    readable and says what replaced it, and treating every incident alike is what keeps a
    blind assessment from showing in how correlation merges (a deleted incident beside a
    superseded one would tell the other side which one had a record)."""
    rows: list[Any] = []
    for chunk in _chunks(sorted(successor), 500):
        rows += db.execute(
            select(incidents.c.id, incidents.c.status, incidents.c.detail).where(
                incidents.c.id.in_(chunk), incidents.c.status != SUPERSEDED
            )
        ).all()
    if not rows:
        return
    changes, entries = [], []
    for incident_id, status, text in sorted(rows, key=lambda r: str(r[0])):  # one log order
        after = successor[incident_id]
        detail = json.loads(text or "{}") | {STATUS_BEFORE: status}
        if after:
            detail["superseded_by"] = after
        changes.append({"v_id": incident_id, "v_detail": json.dumps(detail)})
        # Both contingents read it in the log: the records on this incident stay on it, and
        # a decision can no longer be answered on it (workflow/decisions.py names the
        # successor).
        record = {"incident": incident_id, "superseded_by": after, "at": iso(now)}
        entries.append(LogEntry.of(KIND_SUPERSEDED, incident_id, record))
    db.execute(
        update(incidents)
        .where(incidents.c.id == bindparam("v_id"))
        .values(status=SUPERSEDED, detail=bindparam("v_detail"), updated_at=now),
        changes,
    )
    log.append(db, entries, at=now)


def _box(
    run: list[Member], window: timedelta, reach_m: float
) -> tuple[datetime, datetime, float, float, float, float]:
    """Time and space around a run of new observations within which links are possible."""
    pad_lat = reach_m / 111_320.0
    lat0 = min(m.lat for m in run) - pad_lat
    lat1 = max(m.lat for m in run) + pad_lat
    pad_lon = pad_lat / max(0.1, float(np.cos(np.radians(max(abs(lat0), abs(lat1))))))
    return (
        _shift(run[0].observed_at, -window),
        _shift(run[-1].observed_at, window),
        lat0,
        lat1,
        min(m.lon for m in run) - pad_lon,
        max(m.lon for m in run) + pad_lon,
    )


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def _shift(moment: datetime, by: timedelta) -> datetime:
    """``moment + by``, held at the ends of the calendar (times near them come in)."""
    try:
        return moment + by
    except OverflowError:
        return _LATEST if by > timedelta(0) else _EARLIEST


def _chunks(items: Sequence[Any] | Iterable[Any], size: int) -> Iterable[list[Any]]:
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i : i + size]

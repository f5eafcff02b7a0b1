"""From adapter items to stored, enriched observations: check, enrich, commit, in batches.

An observation counts as accepted only once its batch is committed, so a crash loses nothing
that was reported accepted. Receipt is idempotent on (contingent, source id): the same record
again is a duplicate; a different record under an id already taken is refused (the source must
issue a new id for a correction). Every refusal comes back as a `Rejection` with its reason.

A record signed by its contingent's node (:mod:`ceasefire.ledger.origin`) comes with its
signature, checked here against the key that contingent registered; a bad one is refused
(field ``signature``), a good one is stored and logged with the record. When the mission
requires signed intake (``[intake] signed = true``) an unsigned record is refused.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

import numpy as np
from sqlalchemy import Connection, Engine, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from ceasefire.geo.engine import Enricher
from ceasefire.geo.locate import inside_area, outside_area_reason
from ceasefire.i18n import _
from ceasefire.incidents.rules import Facts, evaluate
from ceasefire.incidents.service import Correlator
from ceasefire.intake.errors import Rejection
from ceasefire.ledger import intake_keys
from ceasefire.ledger import log as ledger_log
from ceasefire.ledger.entry import KIND_OBSERVATION, LogEntry, observation_ref
from ceasefire.ledger.note import Ed25519Verifier
from ceasefire.ledger.origin import signed_key_id, verify_record
from ceasefire.mission.model import Mission
from ceasefire.observations import Observation, PointOfInterest, TrackPoint, locate
from ceasefire.observations.record import format_time
from ceasefire.store import bulk
from ceasefire.store import tracks as tracks_
from ceasefire.store.schema import observations, track_points

BATCH = 2000
log = logging.getLogger(__name__)
Status = Literal["accepted", "duplicate", "rejected"]


class Outcome(NamedTuple):
    """What became of one submitted record (a named tuple: the HTTP intake makes one for every
    record it answers, and a frozen dataclass cost four times as much to make)."""

    status: Status
    id: str | None = None
    contingent: str | None = None
    field: str = ""
    reason: str = ""
    record: int = 0
    warning: str = ""


@dataclass
class IntakeResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    track_points: int = 0
    points_of_interest: int = 0
    warnings: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "track_points": self.track_points,
            "warnings": self.warnings,
        }


_UNMADE = LogEntry(KIND_OBSERVATION, "", "")


@dataclass(slots=True)
class _Pending:
    observation: Observation
    lat: float
    lon: float
    ce_m: float
    source: str
    record: int
    canonical: bytes = b""
    digest: str = ""
    signature: str | None = None
    warning: str = ""
    head: tuple[Any, ...] = ()
    """The row's values that need neither the store nor the enrichment (:data:`HEAD`), in the
    driver's form: made by :meth:`Intake.prepare`, outside the center's write lock."""
    entry: LogEntry = _UNMADE
    """Its log entry, made there too (an empty one until then)."""


HEAD = (
    "contingent",
    "source_id",
    "digest",
    "record",
    "signature",
    "platform_id",
    "platform_type",
    "sortie",
    "track",
    "observed_at",
    "observed_until",
    "lat",
    "lon",
    "ce_m",
    "category",
    "count",
    "count_approx",
    "sensed_by",
    "received_at",
    "source",
    "mission",
)
"""The columns of an observation's row known from the record and its receipt."""
TAIL = (
    "zones",
    "controlled_by",
    "distance_to_line_m",
    "line_side",
    "settlement_id",
    "settlement_distance_m",
    "settlement_bearing_deg",
    "rules",
    "ledger_index",
)
"""The columns of the row that need the enrichment, and the ledger's index last."""
COLUMNS = HEAD + TAIL
RECORD = HEAD.index("record")
ZONES = TAIL.index("zones")
CONTROLLED_BY = TAIL.index("controlled_by")
_sha256 = hashlib.sha256
_outcome_of = Outcome._make


def _insert(engine: Engine, table: Any) -> Any:
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


class Intake:
    """Feed it adapter items; it stores what it accepts and reports every outcome."""

    def __init__(
        self,
        engine: Engine,
        mission: Mission,
        mission_row: int,
        enricher: Enricher | None = None,
        contingent: str | None = None,
        on_reject: Callable[[Rejection], None] | None = None,
        keep_outcomes: bool = False,
        batch_size: int = BATCH,
        correlate: Literal["streaming", "deferred", "off"] = "streaming",
        verifiers: dict[str, Ed25519Verifier] | None = None,
    ) -> None:
        self.engine = engine
        self.mission = mission
        self.mission_row = mission_row
        self.enricher = enricher or Enricher(mission)
        self.contingent = contingent
        self.on_reject = on_reject
        self.keep_outcomes = keep_outcomes
        self.batch_size = batch_size
        self.result = IntakeResult()
        self._pending: list[_Pending] = []
        self._tracks: list[dict[str, Any]] = []
        self._contingents = set(mission.contingent_ids())
        self._rules = mission.config.intake
        self._tolerance = timedelta(seconds=self._rules.clock_tolerance_s)
        period = mission.config.period
        self._start, self._end = period.start, period.end
        self._horizon = datetime.min.replace(tzinfo=UTC)
        """The latest time accepted when the clock was last read (reading it for every
        record cost more than the check)."""
        # Streaming: each batch joins or opens incidents in the transaction that stores it.
        # Deferred (bulk loads of old data): `finish` correlates the whole period once, which
        # costs far less than re-examining a month-wide neighbourhood at every batch.
        self.correlation = correlate
        self.correlator = (
            Correlator(mission, mission_row, self.enricher) if correlate != "off" else None
        )
        self._span: tuple[datetime, datetime] | None = None
        self.signed_only = mission.config.intake.signed
        self._verifiers = verifiers
        # The row's values in the driver's form, as SQLAlchemy would bind them
        # (:mod:`ceasefire.store.bulk`): times as this engine stores them, flags likewise.
        self._time = bulk.time_binder(engine.dialect)
        self._times = bulk.times_binder(engine.dialect)
        flag = bulk.binder(observations.c.count_approx, engine.dialect)
        self._flags = {value: flag(value) if flag else value for value in (False, True)}
        self._prepared = 0
        """How many of the pending records :meth:`prepare` has made ready."""

    def verifiers(self) -> dict[str, Ed25519Verifier]:
        """The intake keys in force, read once (at the first signed record)."""
        if self._verifiers is None:
            self._verifiers = intake_keys.current(self.engine)
        return self._verifiers

    # -- feeding ----------------------------------------------------------------------------
    def feed(self, items: Iterable[Any], source: str) -> IntakeResult:
        for number, item in enumerate(items, start=1):
            self.add(item, source, number)
        self.flush()
        return self.result

    def finish(self) -> None:
        """Store what is pending and, when deferred, correlate the period received."""
        self.flush()
        if self.correlation == "deferred" and self.correlator is not None and self._span:
            try:
                self.correlator.recorrelate(self.engine, *self._span)
            except SQLAlchemyError:
                raise
            except Exception:
                # What is stored stays stored: correlate record by record from the follower's
                # cursor instead, which quarantines what it fails on (incidents.follow).
                log.exception(_("Correlating the period received failed; going record by record."))
                from ceasefire.incidents.follow import Follower

                Follower(self.engine, self.mission, self.mission_row, self.enricher).catch_up()
            self._span = None

    def add(self, item: Any, source: str, record: int = 0, signature: str | None = None) -> None:
        """Take one adapter item; ``signature`` is its node's, for a signed observation."""
        if isinstance(item, Observation):
            self._observation(item, source, record, signature)
        elif isinstance(item, Rejection):
            self._reject(item)
        elif isinstance(item, TrackPoint):
            self._track(item, source, record)
        elif isinstance(item, PointOfInterest):
            self.result.points_of_interest += 1
        if len(self._pending) >= self.batch_size or len(self._tracks) >= self.batch_size:
            self.flush()

    def _reject(self, rejection: Rejection, obs: Observation | None = None) -> None:
        self.result.rejected += 1
        if self.on_reject is not None:
            self.on_reject(rejection)
        if self.keep_outcomes:
            self.result.outcomes.append(
                Outcome(
                    "rejected",
                    id=obs.id if obs else None,
                    contingent=obs.contingent if obs else None,
                    field=rejection.field,
                    reason=rejection.reason,
                    record=rejection.record,
                )
            )

    def _refuse(self, obs: Observation, source: str, record: int, field: str, reason: str) -> None:
        raw = obs.to_json()
        self._reject(Rejection(source, record, field, reason, raw=raw[:200], unit="record"), obs)

    def _refuse_taken_id(self, p: _Pending) -> None:
        """A different record under an id its contingent already used: refused (a
        correction needs a new id; the first record stands)."""
        self._refuse(
            p.observation,
            p.source,
            p.record,
            "id",
            _("a different record with this id was already received; a correction needs a new id"),
        )

    def _observation(
        self, obs: Observation, source: str, record: int, signature: str | None = None
    ) -> None:
        fields = obs.__dict__  # a model's attribute costs twice as much as the dict's item
        contingent = fields["contingent"]
        if contingent not in self._contingents:
            reason = _("unknown contingent {id}; this mission has {known}").format(
                id=obs.contingent, known=", ".join(sorted(self._contingents))
            )
            self._refuse(obs, source, record, "contingent", reason)
            return
        if self.contingent is not None and contingent != self.contingent:
            reason = _(
                "this intake is for contingent {mine}: a contingent submits only its own "
                "observations"
            ).format(mine=self.contingent)
            self._refuse(obs, source, record, "contingent", reason)
            return
        at = fields["observed_at"]
        if at < self._start or (self._end is not None and at >= self._end):
            reason = _("outside the mission's period")
            self._refuse(obs, source, record, "observed_at", reason)
            return
        # The clock is read only for a time later than the latest it allowed (_future).
        if at > self._horizon and (late := self._future(at)):
            self._refuse(obs, source, record, "observed_at", late)
            return
        until = fields["observed_until"]
        if until is not None and until > self._horizon and (late := self._future(until)):
            self._refuse(obs, source, record, "observed_until", late)
            return
        where = fields["location"]
        if where is not None:
            place = where.__dict__
            lat, lon, ce = place["lat"], place["lon"], place["ce_m"]
        elif obs.observer is not None and obs.bearing_deg is not None and obs.distance_m:
            point = locate(obs.observer.lat, obs.observer.lon, obs.bearing_deg, obs.distance_m)
            lat, lon, ce = point.lat, point.lon, point.ce_m
        else:
            self._refuse(obs, source, record, "location", _("no location"))
            return
        warning = ""
        if not inside_area(self.mission, lat, lon):
            place = "location" if obs.location is not None else "observer"
            reason = outside_area_reason(self.mission, lat, lon)
            if self._rules.outside_area == "refuse":
                self._refuse(obs, source, record, place, reason)
                return
            warning = f"{place}: {reason}"
        pending = _Pending(obs, lat, lon, ce, source, record, b"", "", None, warning)
        if signature is not None or self.signed_only:
            refusal = self._check_signature(pending, signature)
            if refusal:
                self._refuse(obs, source, record, "signature", refusal)
                return
        self._pending.append(pending)

    def _check_signature(self, p: _Pending, signature: str | None) -> str:
        """Why ``signature`` does not prove the record's origin; empty when it does."""
        contingent = p.observation.contingent
        if signature is None:
            return _(
                "this mission accepts only records signed by their contingent's node; "
                "this one is not signed"
            )
        key = self.verifiers().get(contingent)
        if key is None:
            return _("contingent {c} has no intake key registered at the center").format(
                c=contingent
            )
        p.canonical = p.observation.canonical()
        if verify_record(key, p.canonical, signature):
            p.signature = signature
            return ""
        claimed = signed_key_id(signature)
        if claimed is None:
            return _("the signature is not base64 of a key ID and an Ed25519 signature")
        if claimed != key.key_id:
            others = [c for c, k in self.verifiers().items() if k.key_id == claimed]
            if others:
                return _(
                    "signed with the intake key of contingent {other}, not {c}'s: a "
                    "contingent signs only its own records"
                ).format(other=others[0], c=contingent)
            return _("signed with key {id:08x}, not contingent {c}'s registered key").format(
                id=claimed, c=contingent
            )
        return _("the signature does not match the record (altered after signing?)")

    def _future(self, moment: datetime) -> str:
        """Why a time is refused as lying in the future, or '' if it does not."""
        if moment <= self._horizon:  # the clock only moves on: later than then is fine now
            return ""
        now = datetime.now(UTC)
        self._horizon = now + self._tolerance
        if moment <= self._horizon:
            return ""
        return _(
            "dated in the future: {time} is later than the center's clock ({now}) by more "
            "than the {seconds:g} s the mission allows for clocks that drift"
        ).format(
            time=format_time(moment),
            now=format_time(now.replace(microsecond=0)),
            seconds=self._tolerance.total_seconds(),
        )

    def _track(self, track: TrackPoint, source: str, record: int = 0) -> None:
        late = self._future(track.time)
        if late:
            raw = f"{track.platform_id} {format_time(track.time)}"
            self._reject(Rejection(source, record, "time", late, raw=raw[:200], unit="record"))
            return
        self._tracks.append(
            {
                "platform_id": track.platform_id,
                "platform_type": track.platform_type,
                "contingent": track.contingent or self.contingent,
                "sortie": track.sortie,
                "time": track.time,
                "lat": track.lat,
                "lon": track.lon,
                "alt_m": track.alt_m,
                "source": source,
            }
        )

    # -- committing -------------------------------------------------------------------------
    def _store_tracks(self, db: Connection, tracks: list[dict[str, Any]]) -> None:
        """Store the points not stored yet, each contingent's as one logged batch (kind
        ``tracks``: count and digest, :mod:`ceasefire.store.tracks`) whose index they keep."""
        # The ledger's writer lock first: no other intake stores these points before we commit.
        ledger_log.lock(db)
        fresh: dict[tuple[str, datetime], dict[str, Any]] = {}
        for t in tracks:
            fresh.setdefault((t["platform_id"], t["time"]), t)
        keys = list(fresh)
        for start in range(0, len(keys), 2000):
            chunk = keys[start : start + 2000]
            for found in db.execute(
                select(track_points.c.platform_id, track_points.c.time).where(
                    tuple_(track_points.c.platform_id, track_points.c.time).in_(chunk)
                )
            ):
                moment = found.time if found.time.tzinfo else found.time.replace(tzinfo=UTC)
                fresh.pop((found.platform_id, moment), None)
        if not fresh:
            return
        by_contingent: dict[str | None, list[dict[str, Any]]] = {}
        for t in fresh.values():
            by_contingent.setdefault(t["contingent"], []).append(t)
        order = sorted(by_contingent, key=lambda c: c or "")
        entries = [
            LogEntry.of(
                tracks_.KIND_TRACKS,
                f"{c or '-'}/{format_time(min(p['time'] for p in by_contingent[c]))}",
                tracks_.batch_record(c, by_contingent[c]),
            )
            for c in order
        ]
        indexes = ledger_log.append(db, entries)
        rows = [
            {**p, "ledger_index": index}
            for c, index in zip(order, indexes, strict=True)
            for p in by_contingent[c]
        ]
        db.execute(_insert(self.engine, track_points), rows)

    def prepare(self) -> None:
        """Make the pending records ready for :meth:`flush`: each one's canonical text, its
        digest and the part of its row that needs neither the store nor the enrichment.

        Nothing here reads or writes the store, so a caller that holds a write lock around
        :meth:`flush` calls this before taking it: while one batch is committed (its fsync)
        under the lock, the next one is made ready (``flush`` does what is left undone)."""
        self._prepare(self._pending[self._prepared :])
        self._prepared = len(self._pending)

    def drop(self) -> None:
        """Forget the records added and not stored (after a failure, before they are given
        again)."""
        self._pending, self._prepared = [], 0
        self._tracks = []

    def _take_pending(self) -> list[_Pending]:
        """The pending records, each made ready (:meth:`prepare`), none left pending."""
        pending, prepared = self._pending, self._prepared
        self._pending, self._prepared = [], 0
        self._prepare(pending[prepared:])
        return pending

    def _prepare(self, pending: list[_Pending]) -> None:
        if not pending:
            return
        time = self._time
        flags = self._flags
        received = time(datetime.now(UTC))
        mission = self.mission_row
        sha256 = _sha256
        observed = self._times([p.observation.observed_at for p in pending])
        for p, observed_at in zip(pending, observed, strict=True):
            obs = p.observation
            canonical = p.canonical
            if not canonical:
                canonical = p.canonical = obs.canonical()
            digest = p.digest = sha256(canonical).hexdigest()
            # the fields from the record's dict: a model's attribute costs twice as much
            fields = obs.__dict__
            platform = fields["platform"].__dict__
            contingent, id_ = fields["contingent"], fields["id"]
            until = fields["observed_until"]
            text = canonical.decode("utf-8")
            p.entry = LogEntry(
                KIND_OBSERVATION, observation_ref(contingent, id_), text, p.signature
            )
            p.head = (
                contingent,
                id_,
                digest,
                text,
                p.signature,
                platform["id"],
                platform["type"],
                fields["sortie"],
                fields["track"],
                observed_at,
                None if until is None else time(until),
                p.lat,
                p.lon,
                p.ce_m,
                fields["category"],
                fields["count"],
                flags[fields["count_approx"]],
                fields["sensed_by"],
                received,
                p.source,
                mission,
            )

    def flush(self) -> None:
        if self._tracks:
            tracks, self._tracks = self._tracks, []
            with self.engine.begin() as db:
                self._store_tracks(db, tracks)
            self.result.track_points += len(tracks)
        if not self._pending:
            return
        pending = self._take_pending()
        keys = list({p.head[:2] for p in pending})
        with self.engine.begin() as db:
            # The ledger's writer lock first: no other intake can store these ids before we
            # commit, so every row inserted below is exactly one logged entry.
            ledger_log.lock(db)
            known = bulk.digests(db, observations, keys)
            if not known and len(keys) == len(pending):
                fresh = pending  # all new, none twice: the usual batch
            else:
                fresh = []
                for p in pending:
                    key = p.head[:2]
                    if key not in known:
                        known[key] = p.digest
                        fresh.append(p)
                    elif known[key] == p.digest:
                        self._outcome("duplicate", p)
                    else:
                        self._refuse_taken_id(p)
            if fresh:
                tails = self._tails(fresh)
                # The log entries in the same transaction: both or neither.
                indexes = ledger_log.append(db, [p.entry for p in fresh])
                rows = [
                    (*p.head, *tail, index)
                    for p, tail, index in zip(fresh, tails, indexes, strict=True)
                ]
                bulk.insert_values(db, observations, COLUMNS, rows)
                if self.correlation == "streaming" and self.correlator is not None:
                    self.correlator.add(db, self._keys(db, fresh))
                else:
                    times = [p.observation.observed_at for p in fresh]
                    low, high = min(times), max(times)
                    if self._span is not None:
                        low, high = min(low, self._span[0]), max(high, self._span[1])
                    self._span = (low, high)
        self.result.accepted += len(fresh)
        self.result.warnings += sum(1 for p in fresh if p.warning)
        if self.keep_outcomes:
            self.result.outcomes += [
                _outcome_of(("accepted", p.head[1], p.head[0], "", "", p.record, p.warning))
                for p in fresh
            ]

    def _outcome(self, status: Status, p: _Pending) -> None:
        if status == "accepted":
            self.result.accepted += 1
            self.result.warnings += bool(p.warning)
        else:
            self.result.duplicates += 1
        if self.keep_outcomes:
            obs = p.observation
            self.result.outcomes.append(
                Outcome(
                    status,
                    id=obs.id,
                    contingent=obs.contingent,
                    record=p.record,
                    warning=p.warning if status == "accepted" else "",
                )
            )

    @staticmethod
    def _keys(db: Connection, fresh: list[_Pending]) -> list[int]:
        """The primary keys the new rows received."""
        keys = [(p.observation.contingent, p.observation.id) for p in fresh]
        return list(
            db.execute(
                select(observations.c.id).where(
                    tuple_(observations.c.contingent, observations.c.source_id).in_(keys)
                )
            ).scalars()
        )

    def _tails(self, fresh: list[_Pending]) -> list[tuple[Any, ...]]:
        """Each record's enrichment and rules: the row's :data:`TAIL` but the ledger's index."""
        n = len(fresh)
        lat = np.fromiter((p.lat for p in fresh), float, n)
        lon = np.fromiter((p.lon for p in fresh), float, n)
        when = np.fromiter((p.observation.observed_at.timestamp() for p in fresh), np.int64, n)
        found = self.enricher.enrich(lat, lon, when)
        triggered = evaluate(
            self.mission,
            [
                Facts(p.observation.category, p.observation.qualifiers, t)
                for p, t in zip(fresh, when.tolist(), strict=True)
            ],
            found,
        )
        # Per point, as Python values at once: converting numpy scalars one by one would cost
        # more than the enrichment itself.
        zones = _zone_lists(found.inside, found.zone_ids)
        parties = (*found.parties, None)  # index -1: none
        controlled = [parties[c] for c in found.controlled_by.tolist()]
        distance = found.distance_to_line_m.tolist()
        sides = [parties[s] for s in found.line_side.tolist()]
        settlement_ids = [s.id for s in self.mission.settlements]
        settlement = [settlement_ids[i] for i in found.settlement.tolist()]
        rules = [_json_list(tuple(ids)) for ids in triggered]
        return [
            (zone, party, d, side, near, near_distance, near_bearing, rule)
            if d == d  # NaN: no line in force
            else (zone, party, None, None, near, near_distance, near_bearing, rule)
            for zone, party, d, side, near, near_distance, near_bearing, rule in zip(
                zones,
                controlled,
                distance,
                sides,
                settlement,
                found.settlement_distance_m.tolist(),
                found.settlement_bearing_deg.tolist(),
                rules,
                strict=True,
            )
        ]


@functools.lru_cache(maxsize=4096)
def _json_list(items: tuple[str, ...]) -> str:
    """A list of ids as JSON text: rules come in few combinations, each is dumped once."""
    return json.dumps(list(items))


def _zone_lists(inside: Any, zone_ids: tuple[str, ...]) -> list[str]:
    """Each point's zones as JSON text; points in the same zones share one text."""
    texts: dict[bytes, str] = {}
    out = []
    for row in np.packbits(inside, axis=1):
        key = row.tobytes()
        text = texts.get(key)
        if text is None:
            members = np.flatnonzero(np.unpackbits(row)[: len(zone_ids)])
            text = texts[key] = json.dumps([zone_ids[z] for z in members])
        out.append(text)
    return out

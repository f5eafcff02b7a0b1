"""Scoring incidents against the simulator's ground truth.

The truth file names, for every true event, the observations that saw it (`seen_by`, by the
contingents' sensors) and the complaints about it. So each stored observation knows its true
event, and each incident its majority event. An event counts as found when an incident's
majority event is it; a second incident of the same event (a split) and an incident of no real
event are false positives; an event seen by some sensor but found by no incident is a miss.
Events no sensor saw are left out: correlation cannot find what was not observed.

Only the simulation's own incidents are scored: those with an observation from its files,
within its period and area (``scenario.json`` beside the truth file). The rest of the database
(other data, other periods) is counted apart, never as false positives, and the result says
how its count relates to what ``ceasefire incidents`` lists: line crossings (scored by the
crossing tests, not here), incidents of a party's complaint alone (no monitor saw anything)
and superseded incidents are not scored either.

Besides precision, recall and F1 (overall, per category and per corroboration), it reports the
distance from an incident's fused location to the event (percentiles), the delay from the
event to the incident's first observation and, for events both contingents saw, from then to
the other contingent's first observation (when the incident became corroborated by both),
how many of those events the incident tags as seen by both, and how often the incident lies
on the side of the line of the party that acted (the side, never an attribution: that only a
joint finding makes).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, select

from ceasefire.errors import InputError, Problem
from ceasefire.geo import Enricher
from ceasefire.i18n import _
from ceasefire.incidents.correlate import Gating, components, correlate, links, pair_shares
from ceasefire.incidents.incident import COMPLAINT
from ceasefire.incidents.launches import every_relation
from ceasefire.incidents.service import arrays as correlation_arrays
from ceasefire.incidents.service import read_members
from ceasefire.incidents.tables import incidents
from ceasefire.mission import Mission
from ceasefire.mission.model import Correlation
from ceasefire.observations.taxonomy import CATEGORIES
from ceasefire.store.schema import observations


@dataclass(frozen=True)
class Scope:
    """The simulation's period and area, and every observation its files hold."""

    start: datetime | None
    end: datetime | None
    south: float
    north: float
    west: float
    east: float
    refs: frozenset[str]

    def holds(self, lat: float, lon: float, at: datetime) -> bool:
        in_time = (self.start is None or at >= self.start) and (self.end is None or at <= self.end)
        return in_time and self.south <= lat <= self.north and self.west <= lon <= self.east


AREA_MARGIN_DEG = 0.1
"""The area scored: the box of the truth's places, widened by about 10 km."""


@dataclass
class TrueEvent:
    id: str
    category: str
    time: datetime
    lat: float
    lon: float
    party: str | None
    refs: set[str] = field(default_factory=set)  # monitors' observations
    complaints: set[str] = field(default_factory=set)
    launch_of: str | None = None  # a launch: the impact it caused


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _ref(observation_id: str, contingent: str | None = None) -> str:
    return f"{contingent or observation_id.split('-', 1)[0]}/{observation_id}"


def read_scope(path: Path) -> Scope:
    """The period (``scenario.json`` beside the truth file, when there) and area of a
    simulation, and the ids of all its observations, false complaints' included."""
    refs: set[str] = set()
    lats: list[float] = []
    lons: list[float] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                raw = json.loads(line)
                contingent_of = {
                    s["observation"]: s.get("contingent") for s in raw.get("sightings", [])
                }
                refs |= {_ref(o, contingent_of.get(o)) for o in raw.get("seen_by", [])}
                refs |= {_ref(o) for o in raw.get("complaints", [])}
                for place in [raw, *raw.get("path", [])]:
                    lats.append(float(place["lat"]))
                    lons.append(float(place["lon"]))
    start = end = None
    summary = path.parent / "scenario.json"
    if summary.exists():
        period = json.loads(summary.read_text(encoding="utf-8"))
        start, end = _time(period["start"]), _time(period["end"])
    margin = AREA_MARGIN_DEG
    return Scope(
        start=start,
        end=end,
        south=min(lats, default=-90.0) - margin,
        north=max(lats, default=90.0) + margin,
        west=min(lons, default=-180.0) - margin,
        east=max(lons, default=180.0) + margin,
        refs=frozenset(refs),
    )


def read_truth(path: Path) -> list[TrueEvent]:
    events = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                if not raw.get("real", True):
                    continue
                sightings = {
                    s["observation"]: s.get("contingent") for s in raw.get("sightings", [])
                }
                events.append(
                    TrueEvent(
                        id=raw["id"],
                        category=raw["category"],
                        time=_time(raw["time"]),
                        lat=float(raw["lat"]),
                        lon=float(raw["lon"]),
                        party=raw.get("party"),
                        refs={_ref(o, sightings.get(o)) for o in raw.get("seen_by", [])},
                        complaints={_ref(o) for o in raw.get("complaints", [])},
                        launch_of=raw.get("launch_of"),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(
                    Problem(
                        file=str(path),
                        record=f"line {number}",
                        field="",
                        reason=_("not a truth record: {error}").format(error=exc),
                    )
                ) from None
    return events


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat2 - lat1) * 111_320.0
    dx = (lon2 - lon1) * 111_320.0 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, dy)


def score(engine: Engine, truth: list[TrueEvent], scope: Scope | None = None) -> dict[str, Any]:
    """Score the incidents of a simulation (``scope``: its period, area and observations;
    without one, every incident of the database) against its truth."""
    event_of: dict[str, TrueEvent] = {}
    for event in truth:
        for ref in event.refs | event.complaints:
            event_of[ref] = event
    with engine.connect() as db:
        members: dict[str, list[tuple[str, datetime]]] = {}
        for incident_id, contingent, source, at in db.execute(
            select(
                observations.c.incident_id,
                observations.c.contingent,
                observations.c.source_id,
                observations.c.observed_at,
            )
        ):
            members.setdefault(incident_id, []).append((f"{contingent}/{source}", at))
        every = list(db.execute(select(incidents)))
    # How the incidents `ceasefire incidents` lists come to those scored here.
    why: Counter[str] = Counter()
    rows = {}
    for r in every:
        if r.status == "superseded":
            why["superseded"] += 1  # listed only with --status superseded
            continue
        why["listed"] += 1
        own = scope is None or any(ref in scope.refs for ref, _at in members.get(r.id, []))
        if r.kind != "event":
            why["line_crossings"] += 1
        elif not own:
            # Not made of the simulation's files: another day, or other data on this one.
            inside = scope is not None and scope.holds(r.lat, r.lon, r.started_at)
            why["other_data" if inside else "outside_period_or_area"] += 1
        elif r.corroboration == "party_complaint_only":
            why["party_complaint_only"] += 1
        else:
            rows[r.id] = r
    why["scored"] = len(rows)
    observed = [e for e in truth if e.refs]
    made = [
        (incident_id, [ref for ref, _at in members.get(incident_id, [])])
        for incident_id, _row in sorted(rows.items(), key=lambda kv: kv[1].started_at)
    ]
    matched, false_positives = _match(made, event_of)
    found = {event_id: rows[incident_id] for event_id, incident_id in matched.items()}
    fp_by: dict[str, Counter[str]] = {"category": Counter(), "corroboration": Counter()}
    for incident_id in false_positives:
        fp_by["category"][rows[incident_id].category] += 1
        fp_by["corroboration"][rows[incident_id].corroboration] += 1
    true_positives = [e for e in observed if e.id in found]
    result = _figures(len(true_positives), len(false_positives), len(observed))
    errors = [_metres(e.lat, e.lon, found[e.id].lat, found[e.id].lon) for e in true_positives]
    delays = [(found[e.id].started_at - e.time).total_seconds() for e in true_positives]
    sided = [e for e in true_positives if e.party and found[e.id].line_side]
    both = [e for e in observed if len({r.split("/", 1)[0] for r in e.refs}) > 1]
    tagged = [e for e in both if e.id in found and found[e.id].corroboration == "both_contingents"]
    # Tagged with its own observations of both contingents (not another event's).
    rightly = [e for e in tagged if len({r.split("/", 1)[0] for r in _held(e, members, found)}) > 1]
    corroborated = [_corroboration_delay(members[found[e.id].id]) for e in tagged]
    result.update(
        {
            "events": len(truth),
            "events_observed": len(observed),
            "incidents": len(rows),
            "counts": dict(why),
            "median_location_error_m": _round(_percentile(errors, 50)),
            "location_error_m": {f"p{q}": _round(_percentile(errors, q)) for q in (50, 90, 95)},
            "median_delay_s": _round(_percentile(delays, 50)),
            "delay_s": {f"p{q}": _round(_percentile(delays, q)) for q in (50, 90)},
            "both_contingents": {
                "events": len(both),
                "tagged_both": len(tagged),
                "share": round(len(tagged) / len(both), 3) if both else None,
                "tagged_with_its_own": len(rightly),
                "not_tagged_with_its_own": sorted({e.id for e in both} - {e.id for e in rightly}),
                "corroboration_delay_s": {
                    f"p{q}": _round(_percentile(corroborated, q)) for q in (50, 90)
                },
            },
            "side_of_line_accuracy": round(
                sum(found[e.id].line_side == e.party for e in sided) / len(sided), 3
            )
            if sided
            else None,
            "missed": sorted(e.id for e in observed if e.id not in found),
            "false_positives": false_positives,
            "per_category": {},
            "per_corroboration": {},
            "launch_relations": launch_relations(engine, truth, members, set(rows), event_of),
        }
    )
    for category in sorted({e.category for e in observed} | set(fp_by["category"])):
        events = [e for e in observed if e.category == category]
        tp = sum(e.id in found for e in events)
        result["per_category"][category] = _figures(tp, fp_by["category"][category], len(events))
    # Per corroboration: precision of the incidents tagged so; recall of the events that
    # the contingents saw so (one contingent: single_source or several_platforms).
    for kind in sorted({r.corroboration for r in rows.values()}):
        tp = sum(found[e.id].corroboration == kind for e in true_positives)
        result["per_corroboration"][kind] = {
            "incidents": sum(r.corroboration == kind for r in rows.values()),
            "true_positives": tp,
            "false_positives": fp_by["corroboration"][kind],
            "precision": round(tp / (tp + fp_by["corroboration"][kind]), 3)
            if tp + fp_by["corroboration"][kind]
            else None,
        }
    return result


def launch_relations(
    engine: Engine,
    truth: list[TrueEvent],
    members: dict[str, list[tuple[str, datetime]]],
    scored: set[str],
    event_of: dict[str, TrueEvent],
) -> dict[str, Any]:
    """How well the relation of an impact to the launches it is consistent with
    (:mod:`ceasefire.incidents.launches`) finds the simulator's pairs of a launch and its
    impact.

    Each scored incident stands for its majority event. A relation is right when its impact
    incident's event and its launch incident's event are a true pair. ``best``: the first
    launch listed for each impact incident (the most consistent); ``listed``: every launch
    listed (up to five: a list for the analysts to verify, so its precision is low by design).
    Recall counts the true pairs whose impact and launch were both seen by a monitor; a pair
    is found when a relation of some incident of its impact names an incident of its launch."""
    observed = {e.id for e in truth if e.refs}
    pairs = {(e.launch_of, e.id) for e in truth if e.launch_of and e.id in observed}
    pairs = {(i, launch) for i, launch in pairs if i in observed}

    def majority(incident_id: str) -> str | None:
        votes = Counter(event_of[r].id for r, _at in members.get(incident_id, []) if r in event_of)
        return votes.most_common(1)[0][0] if votes else None

    related = {i: found for i, found in every_relation(engine).items() if i in scored}
    out: dict[str, Any] = {"true_pairs_seen": len(pairs), "impacts_related": len(related)}
    # The impact incidents whose own launch was seen, and whether the first listed is it.
    launch_of = {i: launch for i, launch in pairs}
    own = [i for i in scored if launch_of.get(majority(i) or "")]
    hits = sum(
        bool(related.get(i)) and majority(related[i][0]["incident"]) == launch_of[majority(i) or ""]
        for i in own
    )
    out["impacts_whose_launch_was_seen"] = len(own)
    out["best_is_its_launch"] = round(hits / len(own), 3) if own else None
    for name, take in (("best", 1), ("listed", None)):
        made = {(i, f["incident"]) for i, found in related.items() for f in found[:take]}
        right = {(majority(a), majority(b)) for a, b in made} & pairs
        tp = sum((majority(a), majority(b)) in pairs for a, b in made)
        out[name] = {
            "relations": len(made),
            "right": tp,
            "pairs_found": len(right),
            "precision": round(tp / len(made), 3) if made else None,
            "recall": round(len(right) / len(pairs), 3) if pairs else None,
        }
    return out


def ambiguity(
    engine: Engine, truth: list[TrueEvent], scope: Scope, mission: Mission, enricher: Enricher
) -> dict[str, Any]:
    """How many of the events seen by both contingents any association within the
    correlator's gates and windows could tag as seen by both, from what the observations carry.

    For each such event, its *pairs*: an observation of one contingent and one of the other,
    both of it, linked (``correlate.links``, every link: category group, window, gate from the
    CEs, posts' reports, weapons said; for movement, joined through the event's own
    positions). None: the
    event is ``beyond_gate`` (no association within the gates joins it). A pair is *clean* when
    neither end is linked to an observation of the other contingent from another event; an
    event with a clean pair is distinguishable. Else it is ``ambiguous``: one of its
    observations is as consistent, within the gate, with another event's observation as with
    its own, and position and time cannot tell which. An associator that knew every other
    event right and picked at random among the ``k`` events consistent with the ends of the
    event's best pair would tag it ``1/k`` of the time: ``chance`` sums these, and ``bound``
    is (clean + chance) / events. It is an estimate, not a proof: an associator may use what
    this leaves out (another event's own pairing, a track's heading), and a beyond-gate event
    can be joined by a wider association, which then meets more rivals."""
    ids = {e.id: n for n, e in enumerate(truth)}
    event_of = {ref: ids[e.id] for e in truth for ref in e.refs}
    with engine.connect() as db:
        members = [
            m for m in read_members(db) if m.ref in scope.refs and m.platform_type != COMPLAINT
        ]
    both = [
        n for n, e in enumerate(truth) if e.refs and len({r.split("/", 1)[0] for r in e.refs}) > 1
    ]
    out: dict[str, Any] = {
        "events": len(both),
        "beyond_gate": 0,
        "ambiguous": 0,
        "own_fits_best": 0,
        "chance": 0.0,
    }
    if not members or not both:
        return out | {"bound_by_chance": None, "bound_by_fit": None}
    arrays = correlation_arrays(
        Gating.of(mission.config.correlation, list(CATEGORIES)), enricher, members
    )
    first, second = links(*arrays, every=True)
    event = np.array([event_of.get(m.ref, -1 - k) for k, m in enumerate(members)])
    contingent = np.array([m.contingent for m in members])
    # How well each link of two contingents fits one event: how far apart as a share of
    # the gate or window (the correlator's measure; lower fits better).
    across = contingent[first] != contingent[second]
    i, j = first[across], second[across]
    fit = -pair_shares(i, j, *arrays)
    # For each observation, the events of the other contingent's observations linked to it,
    # and how well it fits its own event's best (the truth's pairing).
    candidates: dict[int, set[int]] = {}
    fits: dict[int, list[tuple[int, float]]] = {}
    best_own: dict[int, float] = {}
    for a, b, f in zip(i.tolist(), j.tolist(), fit.tolist(), strict=True):
        for end, other in ((a, b), (b, a)):
            candidates.setdefault(end, set()).add(int(event[other]))
            fits.setdefault(end, []).append((other, f))
            if event[other] == event[end]:
                best_own[end] = max(f, best_own.get(end, -np.inf))

    def misled(end: int) -> bool:
        """Whether an observation of another event fits ``end`` better than its own event
        does, and is not itself better fitted by its own event: an associator choosing the
        better fit, jointly, pairs ``end`` wrong."""
        mine = best_own.get(end, -np.inf)
        return any(
            event[other] != event[end] and f > mine and f > best_own.get(other, -np.inf)
            for other, f in fits[end]
        )

    own = event[first] == event[second]
    by_event: dict[int, list[tuple[int, int]]] = {}
    for a, b in zip(first[own].tolist(), second[own].tolist(), strict=True):
        by_event.setdefault(int(event[a]), []).append((a, b))
    moving = arrays.gating.speed_ms[arrays.group] > 0
    ambiguous: list[str] = []
    beyond: list[str] = []
    misleading: list[str] = []
    for n in both:
        mine = np.flatnonzero(event == n)
        pairs = _pairs(by_event.get(n, []), contingent, bool(moving[mine].any()))
        if not pairs:
            out["beyond_gate"] += 1
            beyond.append(truth[n].id)
            continue
        k = min(len(candidates[a] | candidates[b]) for a, b in pairs)
        if k == 1:
            continue
        ambiguous.append(truth[n].id)
        out["chance"] += 1 / k
        if any(not misled(a) and not misled(b) for a, b in pairs):
            out["own_fits_best"] += 1
        else:
            misleading.append(truth[n].id)
    out["ambiguous"] = len(ambiguous)
    clean = len(both) - out["beyond_gate"] - len(ambiguous)
    out["chance"] = round(out["chance"], 1)
    out["bound_by_chance"] = round((clean + out["chance"]) / len(both), 3)
    out["bound_by_fit"] = round((clean + out["own_fits_best"]) / len(both), 3)
    out["events_beyond_gate"] = beyond
    out["events_ambiguous"] = ambiguous
    out["events_another_fits_better"] = misleading
    return out


def _pairs(
    linked: list[tuple[int, int]], contingent: npt.NDArray[np.str_], moving: bool
) -> list[tuple[int, int]]:
    """An event's pairs of observations of two contingents, from the links between its own
    observations: those linked directly, or for a movement (followed position after position)
    any two joined through its own positions."""
    pairs = [(a, b) for a, b in linked if contingent[a] != contingent[b]]
    if pairs or not moving or not linked:
        return pairs
    nodes = sorted({k for pair in linked for k in pair})
    number = {k: i for i, k in enumerate(nodes)}
    label = components(
        len(nodes),
        np.array([number[a] for a, _b in linked]),
        np.array([number[b] for _a, b in linked]),
    )
    return [
        (a, b)
        for a in nodes
        for b in nodes
        if a < b and label[number[a]] == label[number[b]] and contingent[a] != contingent[b]
    ]


def _held(
    event: TrueEvent, members: dict[str, list[tuple[str, datetime]]], found: dict[str, Any]
) -> list[str]:
    """The event's own observations in the incident found for it."""
    return [ref for ref, _at in members[found[event.id].id] if ref in event.refs]


def _match(
    made: list[tuple[str, list[str]]], event_of: dict[str, TrueEvent]
) -> tuple[dict[str, str], list[str]]:
    """Incidents (in order of start, with their observations' refs) to true events: each
    incident's majority event, if no earlier incident took it; the others (no real event, or
    a second incident of one: a split) are false positives."""
    found: dict[str, str] = {}  # event id -> incident
    false_positives: list[str] = []
    for incident_id, refs in made:
        votes = Counter(event_of[r].id for r in refs if r in event_of)
        if votes and votes.most_common(1)[0][0] not in found:
            found[votes.most_common(1)[0][0]] = incident_id
        else:
            false_positives.append(incident_id)
    return found, false_positives


def _corroboration_delay(members: list[tuple[str, datetime]]) -> float:
    """Seconds from an incident's first observation to the first by another contingent."""
    seen = sorted((at, ref) for ref, at in members)
    first = seen[0][1].split("/", 1)[0]
    other = next(at for at, ref in seen if ref.split("/", 1)[0] != first)
    return (other - seen[0][0]).total_seconds()


FORMER = Correlation(
    linkage="single",
    windows_min={
        "fire": 10.0,
        "flare": 10.0,
        "movement": 90.0,
        "fortification": 720.0,
        "mine_uxo": 1440.0,
        "other": 360.0,
        "default": 30.0,
    },
    groups={
        "fire": ["explosion", "projectile", "muzzle_flash", "small_arms_fire"],
        "flare": ["illumination_flare"],
        "movement": ["movement_personnel", "movement_vehicle", "movement_heavy_weapon"],
    },
    once_per_event=[],
)
"""The correlation this project had before complete linkage (docs/incidents.md): single
linkage, fire one group, complaints joining the monitors' observations."""


def baselines(engine: Engine, truth: list[TrueEvent], scope: Scope) -> dict[str, Any]:
    """Precision, recall and F1 of two naive correlations of the simulation's observations,
    worked out in memory in the same run: one incident per observation, and single linkage
    as this project correlated before (:data:`FORMER`)."""
    with engine.connect() as db:
        rows = [
            r
            for r in db.execute(
                select(
                    observations.c.contingent,
                    observations.c.source_id,
                    observations.c.observed_at,
                    observations.c.lat,
                    observations.c.lon,
                    observations.c.ce_m,
                    observations.c.category,
                    observations.c.platform_type,
                )
            )
            if f"{r.contingent}/{r.source_id}" in scope.refs
        ]
    rows.sort(key=lambda r: (r.observed_at, r.contingent, r.source_id))
    refs = [f"{r.contingent}/{r.source_id}" for r in rows]
    complaint = [r.platform_type == COMPLAINT for r in rows]
    lat = np.array([r.lat for r in rows])
    lon = np.array([r.lon for r in rows])
    # Metres on a plane tangent at the middle: enough for gating over a mission's area.
    middle = math.radians(float(lat.mean())) if len(rows) else 0.0
    x = lon * 111_320.0 * math.cos(middle)
    y = lat * 111_320.0
    t = np.array([int(r.observed_at.timestamp()) for r in rows], dtype=np.int64)
    ce = np.array([r.ce_m for r in rows])
    gating = Gating.of(FORMER, list(CATEGORIES))
    chained = correlate(t, x, y, ce, gating.codes([r.category for r in rows]), gating)
    event_of = {ref: e for e in truth for ref in e.refs | e.complaints}
    result = {}
    for name, labels in (
        ("one_incident_per_observation", np.arange(len(rows))),
        ("single_linkage_before", chained),
    ):
        groups: dict[int, list[int]] = {}
        for i, label in enumerate(labels.tolist()):
            groups.setdefault(label, []).append(i)
        # Scored as the incidents are: those of a complaint alone are left out.
        made = [
            (str(k), [refs[i] for i in members])
            for k, members in sorted(groups.items(), key=lambda kv: t[kv[1][0]])
            if not all(complaint[i] for i in members)
        ]
        found, false_positives = _match(made, event_of)
        observed = [e for e in truth if e.refs]
        tp = sum(e.id in found for e in observed)
        result[name] = _figures(tp, len(false_positives), len(observed)) | {"incidents": len(made)}
    return result


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def _figures(tp: int, fp: int, events: int) -> dict[str, Any]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / events if events else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "true_positives": tp,
        "false_positives": fp,
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
    }

"""A whole simulated period: sorties, true events, observations, complaints; and its files.

:func:`simulate` draws everything from the seed (each part from its own stream, so that
changing how events are drawn does not move the flights), and :func:`write_scenario` writes
the files a center would receive plus the ground truth (docs/simulator.md describes them):

    DIR/RU/observations.jsonl  DIR/RU/observations.cot  DIR/RU/tracks.cot   (per contingent)
    DIR/complaints.jsonl       DIR/truth.jsonl          DIR/scenario.json

Same mission, start, hours and seed: byte-identical files.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ceasefire import __version__
from ceasefire.geo import Enricher
from ceasefire.intake.cot import observation_to_cot, track_to_cot
from ceasefire.intake.jsonl import write as write_jsonl
from ceasefire.mission.model import Mission
from ceasefire.observations import Observation, parse_observation
from ceasefire.observations.record import format_time
from ceasefire.sim.events import Event, Placer, generate_events
from ceasefire.sim.flights import Sortie, fleets_for, plan_sorties
from ceasefire.sim.launches import fire_from, say_directions
from ceasefire.sim.lines import LineBook, Projection
from ceasefire.sim.posts import GroundObserver, place_posts, plan_patrols
from ceasefire.sim.presets import PRESETS, QUIET, Preset
from ceasefire.sim.sensing import (
    SOURCES,
    Report,
    Sighting,
    complaints,
    resent,
    sense_drones,
    sense_ground,
)

DEFAULT_START = datetime(2021, 2, 1, tzinfo=UTC)
"""The center was open (30 Jan 2021) and every handover done (1 Dec 2020)."""
MAX_HOURS = 24 * 31
STREAMS = {
    "flights": 1,
    "ground": 2,
    "events": 3,
    "sensing": 4,
    "complaints": 5,
    "duplicates": 6,
    "launches": 7,
    "launch_sensing": 8,
}
"""Each part draws from its own stream, seeded with (seed, stream)."""
STAGES = ("flights", "events", "sensing", "complaints", "records")

Progress = Callable[[str], None]


@dataclass
class Scenario:
    """Everything a simulated period holds, in memory."""

    mission: Mission
    seed: int
    start: datetime
    hours: float
    sorties: list[Sortie]
    observers: list[GroundObserver]
    events: list[Event]
    claims: list[Event]  # what false complaints claimed (never happened)
    observations: dict[str, list[Observation]]  # per contingent, complaints excepted
    complaints: list[Observation]
    sightings: list[Sighting]
    complaint_ids: dict[str, list[str]] = field(default_factory=dict)  # event id -> ids
    preset: Preset = QUIET

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=self.hours)

    def window(self) -> tuple[int, int]:
        return int(self.start.timestamp()), int(self.end.timestamp())

    def seen_by(self) -> dict[str, dict[str, list[str]]]:
        """Per event id: the observation ids of each contingent's sensors that saw it."""
        out: dict[str, dict[str, list[str]]] = {}
        for s in self.sightings:
            out.setdefault(s.event_id, {}).setdefault(s.contingent, []).append(s.observation_id)
        return out

    def counts(self) -> dict[str, Any]:
        seen = self.seen_by()
        lo, hi = self.window()
        by_contingents = Counter(len(seen.get(e.id, {})) for e in self.events)
        observations = {}
        for contingent, records in self.observations.items():
            kinds = Counter(_source(o) for o in records)
            observations[contingent] = {
                "total": len(records),
                **{k: kinds.get(k, 0) for k in ("drone", "post", "patrol")},
            }
        complained = Counter(o.contingent for o in self.complaints)
        return {
            "preset": self.preset.name,
            "events": len(self.events),
            "repeats": sum(e.repeat_of is not None for e in self.events),
            "mixed": sum(e.near is not None for e in self.events),
            "launches": sum(e.launch_of is not None for e in self.events),
            "launches_seen_with_impact": sum(
                e.launch_of is not None and e.id in seen and e.launch_of.id in seen
                for e in self.events
            ),
            "resent": sum(s.resent for s in self.sightings),
            "violations": sum(e.violation for e in self.events),
            "benign": sum(not e.violation for e in self.events),
            "by_category": dict(sorted(Counter(e.category for e in self.events).items())),
            "seen_by_none": by_contingents.get(0, 0),
            "seen_by_one": by_contingents.get(1, 0),
            "seen_by_several": sum(v for k, v in by_contingents.items() if k >= 2),
            "seen_by_contingent": {
                c: sum(1 for e in self.events if c in seen.get(e.id, {}))
                for c in self.mission.contingent_ids()
            },
            "observations": observations,
            "complaints": {
                "true": sum(1 for e in self.events if e.id in self.complaint_ids),
                "false": len(self.claims),
                **{c: complained.get(c, 0) for c in self.mission.contingent_ids()},
            },
            "sorties": dict(Counter(s.contingent for s in self.sorties)),
            "track_points": {
                c: sum(len(s.track_points(lo, hi)) for s in self.sorties if s.contingent == c)
                for c in self.mission.contingent_ids()
            },
        }

    def truth(self) -> list[dict[str, Any]]:
        """The ground-truth records: every true event, then every false complaint's claim."""
        seen = self.seen_by()
        sightings: dict[str, list[Sighting]] = {}
        for s in self.sightings:
            sightings.setdefault(s.event_id, []).append(s)
        records = []
        for event in [*self.events, *self.claims]:
            record: dict[str, Any] = {
                "id": event.id,
                "real": event.real,
                "kind": event.kind,
                "time": _iso(event.start),
                "until": _iso(event.end),
                "lat": event.lat,
                "lon": event.lon,
                "category": event.category,
                "qualifiers": event.qualifiers,
                "count": event.count,
                "party": event.party,
                "violation": event.violation,
            }
            if event.claimed_by is not None:
                record["claimed_by"] = event.claimed_by
            if event.repeat_of is not None:
                record["repeat_of"] = event.repeat_of.id
            if event.near is not None:
                record["near"] = event.near.id
            if event.launch_of is not None:
                record["launch_of"] = event.launch_of.id
            if event.launches:
                record["launches"] = [launch.id for launch in event.launches]
            if event.fired_from_deg is not None:
                record["fired_from_deg"] = event.fired_from_deg
                record["direction_said"] = event.direction_said
            if event.path:
                record["path"] = [
                    {"time": _iso(t), "lat": lat, "lon": lon} for t, lat, lon in event.path
                ]
            if event.bursts is not None:
                record["shots"] = [_iso(t) for t in event.bursts]
            record["seen_by"] = sorted(i for ids in seen.get(event.id, {}).values() for i in ids)
            record["complaints"] = self.complaint_ids.get(event.id, [])
            record["sightings"] = [s.to_json_dict() for s in sightings.get(event.id, [])]
            records.append(record)
        return records


def _iso(seconds: int | np.integer[Any]) -> str:
    return format_time(datetime.fromtimestamp(int(seconds), UTC))


def _source(observation: Observation) -> str:
    kind = observation.platform.type
    if kind == "observation-post":
        return "post"
    if kind == "patrol":
        return "patrol"
    return "drone"


def _rng(seed: int, stream: str) -> np.random.Generator:
    return np.random.default_rng([seed, STREAMS[stream]])


def check_request(mission: Mission, hours: float, start: datetime) -> None:
    """Refuse a period the simulator cannot run (a ValueError saying why)."""
    if not 0 < hours <= MAX_HOURS:
        raise ValueError(f"hours must be more than 0 and at most {MAX_HOURS}")
    if start.tzinfo is None:
        raise ValueError("start must carry a time zone")
    period = mission.config.period
    end = start + timedelta(hours=hours)
    if start < period.start or (period.end is not None and end > period.end):
        raise ValueError("the simulated period must lie within the mission's period")


def simulate(
    mission: Mission,
    hours: float = 24.0,
    seed: int = 1,
    start: datetime | None = None,
    progress: Progress | None = None,
    preset: Preset | str = QUIET,
) -> Scenario:
    """Simulate ``hours`` of monitoring from ``start`` (default :data:`DEFAULT_START`), as
    busy as ``preset`` says (:data:`~ceasefire.sim.presets.PRESETS`)."""
    if isinstance(preset, str):
        preset = PRESETS[preset]
    start = (start or DEFAULT_START).astimezone(UTC)
    check_request(mission, hours, start)
    step = progress or (lambda _stage: None)
    enricher = Enricher(mission)
    projection = Projection(enricher.crs)
    book = LineBook(mission, projection)
    if book.at(start) is None:
        raise ValueError("no line of contact is valid at the start")
    lo = int(start.timestamp())
    hi = lo + round(hours * 3600)
    contingents, parties = mission.contingent_ids(), mission.party_ids()

    step("flights")
    sorties = plan_sorties(fleets_for(mission, book, start), book, lo, hi, _rng(seed, "flights"))
    observers = place_posts(mission, book, lo, hi)
    observers += plan_patrols(mission, book, lo, hi, _rng(seed, "ground"))

    step("events")
    events_rng = _rng(seed, "events")
    placer = Placer(
        book, enricher, events_rng, preset.hotspots, preset.hotspot_share, preset.hotspot_sd_m
    )
    events = generate_events(placer, parties, lo, hi, events_rng, preset)
    launches_rng = _rng(seed, "launches")
    launched = fire_from(
        events,
        Placer(book, enricher, launches_rng),
        launches_rng,
        preset.launch_share,
        preset.direction_share,
        lo,
    )

    step("sensing")
    sensing_rng = _rng(seed, "sensing")
    reports = sense_drones(events, sorties, projection, lo, hi, sensing_rng)
    reports += sense_ground(events, observers, projection, lo, hi, sensing_rng)
    # Launches after the rest, from a stream of their own: the rest is seen as without them.
    seen_rng = _rng(seed, "launch_sensing")
    reports += sense_drones(launched, sorties, projection, lo, hi, seen_rng)
    reports += sense_ground(launched, observers, projection, lo, hi, seen_rng)
    say_directions(reports, events, seen_rng)
    reports += resent(reports, preset, _rng(seed, "duplicates"))

    step("complaints")
    complaints_rng = _rng(seed, "complaints")
    said, claims = complaints(
        events,
        Placer(book, enricher, complaints_rng),
        parties,
        contingents,
        lo,
        hi,
        complaints_rng,
    )
    reports += said

    step("records")
    period = mission.config.period
    earliest = int(period.start.timestamp())
    latest = int(period.end.timestamp()) - 1 if period.end is not None else None
    for report in reports:
        _clamp(report.record, earliest, latest)
    observations, complaint_records, sightings, complaint_ids = _number(reports, contingents)
    return Scenario(
        mission=mission,
        seed=seed,
        start=start,
        hours=hours,
        sorties=sorties,
        observers=observers,
        events=events + launched,
        claims=claims,
        observations=observations,
        complaints=complaint_records,
        sightings=sightings,
        complaint_ids=complaint_ids,
        preset=preset,
    )


def _clamp(record: dict[str, Any], earliest: int, latest: int | None) -> None:
    """Keep reported times inside the mission's period (an error must not push a report
    out of it: the center refuses such records)."""
    for name in ("observed_at", "observed_until"):
        if name in record:
            moment = int(datetime.fromisoformat(record[name].replace("Z", "+00:00")).timestamp())
            clamped = (
                max(moment, earliest) if latest is None else min(max(moment, earliest), latest)
            )
            if clamped != moment:
                record[name] = _iso(clamped)


def _number(
    reports: list[Report], contingents: list[str]
) -> tuple[dict[str, list[Observation]], list[Observation], list[Sighting], dict[str, list[str]]]:
    """Give every report its id, per contingent in time order: ``RU-000001``, ..."""
    observations: dict[str, list[Observation]] = {c: [] for c in contingents}
    said: list[Observation] = []
    sightings: list[Sighting] = []
    complaint_ids: dict[str, list[str]] = {}
    for contingent in contingents:
        mine = [r for r in reports if r.contingent == contingent]
        mine.sort(
            key=lambda r: (
                r.observed_at,
                SOURCES.index(r.source),
                r.record["platform"]["id"],
                r.event_id,
                r.record.get("remarks", ""),
            )
        )
        for n, report in enumerate(mine, start=1):
            identifier = f"{contingent}-{n:06d}"
            observation = parse_observation({"id": identifier, **report.record})
            if report.source == "complaint":
                said.append(observation)
                complaint_ids.setdefault(report.event_id, []).append(identifier)
            else:
                observations[contingent].append(observation)
            if report.sighting is not None:
                report.sighting.observation_id = identifier
                sightings.append(report.sighting)
    said.sort(key=lambda o: (o.observed_at, o.contingent, o.id))
    sightings.sort(key=lambda s: (s.event_id, s.seen_at, s.observation_id))
    return observations, said, sightings, complaint_ids


def write_scenario(
    scenario: Scenario, out: Path, progress: Callable[[str, int], None] | None = None
) -> dict[str, Any]:
    """Write the scenario's files under ``out``; return what ``scenario.json`` holds.

    ``progress(file, records)`` is called after each file.
    """
    done = progress or (lambda _name, _n: None)
    out.mkdir(parents=True, exist_ok=True)
    lo, hi = scenario.window()
    files: list[str] = []
    for contingent in scenario.mission.contingent_ids():
        folder = out / contingent
        folder.mkdir(exist_ok=True)
        records = scenario.observations.get(contingent, [])
        with (folder / "observations.jsonl").open("w", encoding="utf-8", newline="\n") as f:
            write_jsonl(records, f)
        done(f"{contingent}/observations.jsonl", len(records))
        with (folder / "observations.cot").open("wb") as fb:
            for observation in records:
                fb.write(observation_to_cot(observation) + b"\n")
        done(f"{contingent}/observations.cot", len(records))
        points = sorted(
            (
                p
                for s in scenario.sorties
                if s.contingent == contingent
                for p in s.track_points(lo, hi)
            ),
            key=lambda p: (p.time, p.platform_id),
        )
        with (folder / "tracks.cot").open("wb") as fb:
            for point in points:
                fb.write(track_to_cot(point) + b"\n")
        done(f"{contingent}/tracks.cot", len(points))
        files += [
            f"{contingent}/observations.jsonl",
            f"{contingent}/observations.cot",
            f"{contingent}/tracks.cot",
        ]
    with (out / "complaints.jsonl").open("w", encoding="utf-8", newline="\n") as f:
        write_jsonl(scenario.complaints, f)
    done("complaints.jsonl", len(scenario.complaints))
    truth = scenario.truth()
    with (out / "truth.jsonl").open("w", encoding="utf-8", newline="\n") as f:
        for record in truth:
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    done("truth.jsonl", len(truth))
    files += ["complaints.jsonl", "truth.jsonl", "scenario.json"]
    summary = {
        "generator": f"ceasefire {__version__}",
        "mission": scenario.mission.id,
        "preset": scenario.preset.name,
        "seed": scenario.seed,
        "start": format_time(scenario.start),
        "end": format_time(scenario.end),
        "hours": scenario.hours,
        "counts": scenario.counts(),
        "sorties": [
            {
                "id": s.id,
                "contingent": s.contingent,
                "platform": s.platform_id,
                "platform_type": s.spec.type,
                "base": s.base.name,
                "takeoff": _iso(s.takeoff),
                "landing": _iso(s.landing),
            }
            for s in scenario.sorties
        ],
        "ground_observers": [
            {
                "platform": o.platform_id,
                "platform_type": o.spec.type,
                "contingent": o.contingent,
                "from": _iso(max(int(o.path.times[0]), lo)),
                "until": _iso(min(int(o.path.times[-1]), hi)),
            }
            for o in scenario.observers
        ],
        "files": files,
    }
    (out / "scenario.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    done("scenario.json", 1)
    return summary

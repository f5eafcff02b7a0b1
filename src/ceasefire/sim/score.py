"""Scoring incidents against the simulator's ground truth.

The truth file names, for every true event, the observations that saw it (`seen_by`, by the
contingents' sensors) and the complaints about it. So each stored observation knows its true
event, and each incident its majority event. An event counts as found when an incident's
majority event is it; a second incident of the same event (a split) and an incident of no real
event are false positives; an event seen by some sensor but found by no incident is a miss.
Events no sensor saw are left out: correlation cannot find what was not observed.

Besides precision, recall and F1 (overall and per category), it reports the median distance from
an incident's fused location to the event, the median delay from the event to the incident's
first observation, and how often the incident lies on the side of the line of the party that
acted (the side, never an attribution: that only a joint finding makes).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from statistics import median
from typing import Any

from sqlalchemy import Engine, select

from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.incidents.tables import incidents
from ceasefire.store.schema import observations


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


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _ref(observation_id: str, contingent: str | None = None) -> str:
    return f"{contingent or observation_id.split('-', 1)[0]}/{observation_id}"


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


def score(engine: Engine, truth: list[TrueEvent]) -> dict[str, Any]:
    event_of: dict[str, TrueEvent] = {}
    for event in truth:
        for ref in event.refs | event.complaints:
            event_of[ref] = event
    with engine.connect() as db:
        members: dict[str, list[str]] = {}
        for incident_id, contingent, source in db.execute(
            select(observations.c.incident_id, observations.c.contingent, observations.c.source_id)
        ):
            members.setdefault(incident_id, []).append(f"{contingent}/{source}")
        rows = {
            r.id: r
            for r in db.execute(select(incidents).where(incidents.c.kind == "event"))
            if r.corroboration != "party_complaint_only" and r.status != "superseded"
        }
    observed = [e for e in truth if e.refs]
    found: dict[str, Any] = {}  # event id -> incident row
    false_positives: list[str] = []
    fp_by_category: Counter[str] = Counter()
    for incident_id, row in sorted(rows.items(), key=lambda kv: kv[1].started_at):
        votes = Counter(event_of[r].id for r in members.get(incident_id, []) if r in event_of)
        if not votes:
            false_positives.append(incident_id)
            fp_by_category[row.category] += 1
            continue
        event_id = votes.most_common(1)[0][0]
        if event_id in found:
            false_positives.append(incident_id)  # the same event split in two
            fp_by_category[row.category] += 1
        else:
            found[event_id] = row
    true_positives = [e for e in observed if e.id in found]
    result = _figures(len(true_positives), len(false_positives), len(observed))
    errors = [_metres(e.lat, e.lon, found[e.id].lat, found[e.id].lon) for e in true_positives]
    delays = [(found[e.id].started_at - e.time).total_seconds() for e in true_positives]
    sided = [e for e in true_positives if e.party and found[e.id].line_side]
    result.update(
        {
            "events": len(truth),
            "events_observed": len(observed),
            "incidents": len(rows),
            "median_location_error_m": round(median(errors), 1) if errors else None,
            "median_delay_s": round(median(delays), 1) if delays else None,
            "side_of_line_accuracy": round(
                sum(found[e.id].line_side == e.party for e in sided) / len(sided), 3
            )
            if sided
            else None,
            "missed": sorted(e.id for e in observed if e.id not in found),
            "false_positives": false_positives,
            "per_category": {},
        }
    )
    for category in sorted({e.category for e in observed} | set(fp_by_category)):
        events = [e for e in observed if e.category == category]
        tp = sum(e.id in found for e in events)
        result["per_category"][category] = _figures(tp, fp_by_category[category], len(events))
    return result


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

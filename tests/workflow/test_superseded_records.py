"""Releases and notices made on an incident that correlation later replaced say what replaced
it, alike for every reader; a bundle made afterwards proves it with the logged entry."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from ceasefire.dissemination.notices import list_notices
from ceasefire.dissemination.outbox import notify
from ceasefire.dissemination.recipients import INCIDENT
from ceasefire.geo.engine import Enricher
from ceasefire.incidents.holds import held
from ceasefire.incidents.tables import incidents
from ceasefire.ingest.pipeline import Intake
from ceasefire.ledger.bundle import verify_bundle
from ceasefire.ledger.keys import init_keys, load_keys, origin_of
from ceasefire.ledger.release import write_release
from ceasefire.ledger.tables import ledger
from ceasefire.mission import Mission
from ceasefire.observations import Observation
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.workflow import decisions
from ceasefire.workflow.assessments import submit, visible
from ceasefire.workflow.blindness import lift
from ceasefire.workflow.releases import incident_selections, readable, released_incidents
from ceasefire.workflow.roles import User, add_user

T0 = datetime(2021, 2, 1, 10, 0, tzinfo=UTC)


def obs(i: int, contingent: str, minutes: float) -> Observation:
    platform = {
        "RU": {"id": "orlan-10-07", "type": "orlan-10"},
        "TR": {"id": "tb2-03", "type": "bayraktar-tb2"},
    }
    return Observation.model_validate(
        {
            "id": f"{contingent}-{i:04d}",
            "contingent": contingent,
            "platform": platform[contingent],
            "observed_at": (T0 + timedelta(minutes=minutes)).isoformat(),
            "category": "explosion",
            "location": {"lat": 39.93, "lon": 46.83, "ce_m": 80},
            "sensed_by": "drone-eo",
        }
    )


def test_releases_and_notices_name_the_incident_that_replaced_theirs(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher, tmp_path: Path, cli: Any
) -> None:
    # Incidents merge only where a mission chose single linkage: such a mission, here.
    config = demo_mission.config.correlation.model_copy(update={"linkage": "single"})
    m = dataclasses.replace(
        demo_mission, config=demo_mission.config.model_copy(update={"correlation": config})
    )
    stored, _ = save_mission(engine, m)
    intake = Intake(engine, m, mission_row(engine, stored), enricher=demo_enricher)
    intake.feed([obs(1, "RU", 0), obs(2, "RU", 18)], "first")  # 18 min apart: two incidents
    with engine.connect() as db:
        first, second = db.execute(select(incidents.c.id).order_by("started_at")).scalars()
    with engine.begin() as db:
        ru = add_user(db, m, "ru-duty", "duty_officer", "RU")
        tr = add_user(db, m, "tr-duty", "duty_officer", "TR")
        officers: list[User] = [ru, tr]
        for officer in officers:  # both assessed both: each holds its id (blind no longer)
            for incident_id in (second, first):
                submit(db, m, officer, incident_id, violation="no", clauses=[], attribution="AZ")
        notified = notify(
            db, m, kind=INCIDENT, cause="DEC-T1", at=datetime.now(UTC), incident_id=second
        ).ids
    init_keys(tmp_path / "keys", origin_of(m.id), m.contingent_ids())
    ring = load_keys(tmp_path / "keys", origin_of(m.id), m.contingent_ids())
    for party in ("AM", "AZ"):  # parity: both parties got the incident
        write_release(
            engine,
            ring,
            tmp_path / f"{party}.json",
            party,
            incident_selections(engine, second),
            incidents=[second],
        )

    intake.feed([obs(3, "TR", 9)], "late")  # links both: one event, the later gives way
    with engine.connect() as db:
        status = db.execute(select(incidents.c.status).where(incidents.c.id == second)).scalar()
        assert status == "superseded"
        # every reader of either release sees what replaced the incident it released
        rows = readable(db, ru)
        listed = released_incidents(db, [r.ledger_index for _id, r in rows])
        notices = list_notices(db, incident_id=second)
    assert [public_id for public_id, _r in rows] == ["AM-1", "AZ-1"]
    for _id, r in rows:
        assert listed[r.ledger_index] == [
            {"id": second, "superseded_by": first, "successors": [first]}
        ]
    assert sorted(n.id for n in notices) == sorted(notified) and len(notices) >= 2
    assert {n.record()["superseded_by"] for n in notices} == {first}  # for every recipient

    # Released after it gave way: the bundle proves what replaced it, and says so.
    later = tmp_path / "AZ-2.json"
    write_release(
        engine, ring, later, "AZ", incident_selections(engine, second), incidents=[second]
    )
    bundle = json.loads(later.read_text())
    assert bundle["incidents"] == [second]
    report = verify_bundle(bundle)
    assert report.superseded == {second: first}
    shown = cli("verify", "--bundle", str(later))  # what the party reads, offline
    assert shown.code == 0, shown.err
    assert f"incident {second} was superseded by {first} before this release" in shown.out


@pytest.mark.parametrize(("side", "other"), [("RU", "TR"), ("TR", "RU")])
def test_one_sides_blind_assessment_does_not_show_in_how_correlation_merges(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher, side: str, other: str
) -> None:
    """Two events alike, each two explosions 18 minutes apart (two incidents) that a late
    report between them merges: in the first, ``side`` alone has assessed the later incident
    (blind: ``other`` has not); in the second, nobody has. ``other`` sends the late reports
    itself (its analysts may ingest its own, with any time in the mission's period) and reads
    what correlation did with each. Blindness asks that it cannot tell the two events apart:
    the same id survives in both, and the one that gave way is kept alike in both, saying the
    same things. Mirrored: RU assesses and TR probes, then the other way round."""
    config = demo_mission.config.correlation.model_copy(update={"linkage": "single"})
    m = dataclasses.replace(
        demo_mission, config=demo_mission.config.model_copy(update={"correlation": config})
    )
    stored, _ = save_mission(engine, m)
    intake = Intake(engine, m, mission_row(engine, stored), enricher=demo_enricher)
    intake.feed([obs(1, side, 0), obs(2, side, 18), obs(11, side, 180), obs(12, side, 198)], "one")
    with engine.connect() as db:
        a1, a2, b1, b2 = db.execute(select(incidents.c.id).order_by("started_at")).scalars()
    with engine.begin() as db:
        assessor = add_user(db, m, f"{side.lower()}-duty", "duty_officer", side)
        prober = add_user(db, m, f"{other.lower()}-duty", "duty_officer", other)
        submit(db, m, assessor, a2, violation="yes", clauses=["1"], attribution="AZ")
    intake.feed([obs(3, other, 9), obs(13, other, 189)], "late")  # the other's own, late
    with engine.connect() as db:
        rows = {r.id: r for r in db.execute(select(incidents).order_by("started_at"))}
        logged = {
            r.ref: r.entry
            for r in db.execute(
                select(ledger.c.ref, ledger.c.entry).where(ledger.c.kind == "superseded")
            )
        }
        prober_reads = visible(db, m, prober, a2)
        assessor_reads = visible(db, m, assessor, a2)
    shown = [i for i, r in rows.items() if r.status != "superseded"]
    assert shown == [a1, b1]  # the blind one gives way as nobody's does: the earlier id stays
    gave_way = {i: (r.status, json.loads(r.detail)) for i, r in rows.items() if i in (a2, b2)}
    assert gave_way == {
        a2: ("superseded", {"superseded_by": a1, "status_before": "open"}),
        b2: ("superseded", {"superseded_by": b1, "status_before": "open"}),
    }
    records = {ref: json.loads(entry)["record"] for ref, entry in logged.items()}
    assert {ref: r["superseded_by"] for ref, r in records.items()} == {a2: a1, b2: b1}
    # Nothing is lost: the assessment stays on the incident it was made on, blind to the other.
    assert prober_reads == [] and [a.contingent for a in assessor_reads] == [side]


def test_an_incident_is_held_once_its_blind_period_ends(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher
) -> None:
    """The hold that keeps an incident's id through merges comes when its records become
    everyone's: the last side's assessment, or the last head's key that lifts blindness; an
    urgent decision taken while blind does not hold it."""
    stored, _ = save_mission(engine, demo_mission)
    intake = Intake(engine, demo_mission, mission_row(engine, stored), enricher=demo_enricher)
    intake.feed([obs(1, "RU", 0), obs(11, "RU", 180)], "one")
    with engine.connect() as db:
        first, second = db.execute(select(incidents.c.id).order_by("started_at")).scalars()
    m = demo_mission
    with engine.begin() as db:
        ru = add_user(db, m, "ru-duty", "duty_officer", "RU")
        tr = add_user(db, m, "tr-duty", "duty_officer", "TR")
        heads = [add_user(db, m, f"{c.lower()}-head", "head", c) for c in ("RU", "TR")]
        submit(db, m, ru, first, violation="yes", clauses=["1"], attribution="AZ")
        submit(db, m, ru, second, violation="yes", clauses=["1"], attribution="AZ")
        decisions.propose(db, m, ru, second, "notify_peacekeepers", urgent=True)
    with engine.connect() as db:
        assert held(db, [first, second]) == set()  # blind: nobody's hold yet
    with engine.begin() as db:
        submit(db, m, tr, first, violation="no", clauses=[], attribution="AZ")
        lift(db, m, heads[0], second)
    with engine.connect() as db:
        assert held(db, [first, second]) == {first}  # one key of two: still blind
    with engine.begin() as db:
        lift(db, m, heads[1], second)
    with engine.connect() as db:
        assert held(db, [first, second]) == {first, second}

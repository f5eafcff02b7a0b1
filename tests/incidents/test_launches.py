"""An impact related to the launches it is consistent with, never merged with them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from ceasefire.geo.engine import Enricher
from ceasefire.incidents.launches import possible_launches
from ceasefire.incidents.queries import get_incident
from ceasefire.incidents.tables import incidents
from ceasefire.mission import Mission
from ceasefire.observations import Observation
from ceasefire.store import open_database
from centers import intake_of

T0 = datetime(2021, 2, 1, 10, 0, tzinfo=UTC)
IMPACT = (39.85, 46.85)
KM_LAT = 1 / 111.32  # degrees of latitude in a kilometre


def _obs(n: int, seconds: float, north_km: float, category: str, **said: Any) -> Observation:
    data = {
        "id": f"TR-L{n:03d}",
        "contingent": "TR",
        "platform": {"id": f"tb2-{n}", "type": "bayraktar-tb2"},
        "observed_at": (T0 + timedelta(seconds=seconds)).isoformat(),
        "location": {"lat": IMPACT[0] + north_km * KM_LAT, "lon": IMPACT[1], "ce_m": 30},
        "category": category,
        "qualifiers": said,
        "sensed_by": "drone-eo",
    }
    return Observation.model_validate(data)


def _incident_of(engine: Engine, mission: Mission, source: str) -> dict[str, Any]:
    with engine.connect() as db:
        (incident_id,) = db.execute(
            select(incidents.c.id).where(incidents.c.id.in_(_ids(engine, source)))
        ).one()
    found = get_incident(engine, mission, incident_id)
    assert found is not None
    return found


def _ids(engine: Engine, source: str) -> list[str]:
    from ceasefire.store.schema import observations

    with engine.connect() as db:
        return list(
            db.execute(
                select(observations.c.incident_id).where(observations.c.source_id == source)
            ).scalars()
        )


def test_an_impact_lists_the_launches_consistent_with_it(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher
) -> None:
    mortar = {"weapon": "mortar", "calibre_mm": 120.0}
    records = [
        _obs(1, 0, 0, "explosion", explosion="impact", **mortar),  # the impact
        _obs(2, -40, 5, "muzzle_flash", weapon="mortar"),  # 5 km north, 40 s before: yes
        _obs(3, -30, -4, "explosion", explosion="outgoing"),  # 4 km south, weapon unknown: yes
        _obs(4, -35, -6, "muzzle_flash", weapon="tank"),  # a tank's flash: another weapon
        _obs(5, -60, 20, "explosion", explosion="outgoing"),  # 20 km: beyond a mortar's reach
        _obs(6, 600, 3, "muzzle_flash"),  # 10 min after the impact
        _obs(7, -900, 3, "muzzle_flash"),  # 15 min before: no shell flies 3 km so slowly
        _obs(8, -20, 2, "explosion", explosion="impact"),  # another impact, not a launch
    ]
    intake_of(engine, demo_mission, demo_enricher).feed(records, "x")
    impact = _incident_of(engine, demo_mission, "TR-L001")
    assert len(impact["observations"]) == 1  # related, never merged
    found = possible_launches(engine, impact, "en")
    launches = {f["incident"]: f for f in found}
    flash, outgoing = _ids(engine, "TR-L002")[0], _ids(engine, "TR-L003")[0]
    assert set(launches) == {flash, outgoing}
    assert launches[flash]["weapon"] == "mortar"
    assert 4_900 < launches[flash]["distance_m"] < 5_100
    assert launches[flash]["bearing_deg"] < 1 or launches[flash]["bearing_deg"] > 359
    assert launches[flash]["seconds_before"] == 40
    assert 175 < launches[outgoing]["bearing_deg"] < 185
    assert (
        "5.0 km away at a bearing of 0 degrees, 40 s before the impact"
        in (launches[flash]["sentence"])
    )
    # A launch is no impact: it lists nothing; nor does an incident of another kind.
    assert possible_launches(engine, _incident_of(engine, demo_mission, "TR-L002")) == []
    # Said in Russian.
    russian = possible_launches(engine, impact, "ru")
    assert "км" in russian[0]["sentence"]


def test_the_direction_the_fire_came_from_narrows_the_launches(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher
) -> None:
    records = [
        _obs(1, 0, 0, "explosion", explosion="impact", direction_deg=180.0),
        _obs(2, -40, 5, "muzzle_flash"),  # north: not where the crater says it came from
        _obs(3, -30, -4, "muzzle_flash"),  # south
    ]
    intake_of(engine, demo_mission, demo_enricher).feed(records, "x")
    impact = _incident_of(engine, demo_mission, "TR-L001")
    found = possible_launches(engine, impact)
    assert [f["incident"] for f in found] == _ids(engine, "TR-L003")


def test_the_command_line_shows_the_possible_launches(
    demo_mission: Mission, demo_enricher: Enricher, cli: Any, tmp_path: Path
) -> None:
    db = str(tmp_path / "launch.db")
    engine = open_database(db)
    records = [
        _obs(1, 0, 0, "explosion", explosion="impact", weapon="mortar"),
        _obs(2, -40, 5, "muzzle_flash", weapon="mortar"),
    ]
    intake_of(engine, demo_mission, demo_enricher).feed(records, "x")
    impact = _ids(engine, "TR-L001")[0]
    engine.dispose()
    shown = cli("incident", impact, "--db", db, "--lang", "en")
    assert shown.code == 0, shown.err
    assert "Possible launches" in shown.out and "40 s before the impact" in shown.out
    assert "within the reach of the weapon said (mortar: 8 km)" in shown.out
    data = cli("incident", impact, "--db", db, "--format", "json").json()
    assert [f["seconds_before"] for f in data["possible_launches"]] == [40]
    assert data["possible_impacts"] == []
    launch = data["possible_launches"][0]["incident"]
    other = cli("incident", launch, "--db", db, "--lang", "en")
    assert "Possible impacts of this launch" in other.out and impact in other.out
    assert "40 s later" in other.out


def test_the_relation_follows_the_incidents_when_they_merge_and_change_their_id(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher
) -> None:
    """Worked out from the stored incidents, the relation names the incidents as they are:
    when an earlier report gives the impact, then the launch, another id, the old ids are
    gone from it (the store keeps them as superseded), never left dangling."""
    from ceasefire.incidents.launches import every_relation

    intake = intake_of(engine, demo_mission, demo_enricher)
    intake.feed(
        [
            _obs(1, 0, 0, "explosion", explosion="impact", weapon="mortar"),
            _obs(2, -40, 5, "muzzle_flash", weapon="mortar"),
        ],
        "x",
    )
    impact, launch = _ids(engine, "TR-L001")[0], _ids(engine, "TR-L002")[0]
    assert {i: [f["incident"] for f in found] for i, found in every_relation(engine).items()} == {
        impact: [launch]
    }
    intake.feed([_obs(3, -5, 0.02, "explosion", explosion="impact")], "x")  # the impact, earlier
    intake.feed([_obs(4, -45, 5.02, "muzzle_flash")], "x")  # the launch, earlier
    merged_impact, merged_launch = _ids(engine, "TR-L001")[0], _ids(engine, "TR-L002")[0]
    assert _ids(engine, "TR-L003") == [merged_impact] and _ids(engine, "TR-L004") == [merged_launch]
    assert merged_impact != impact and merged_launch != launch  # ids from the earliest report
    related = every_relation(engine)
    assert {i: [f["incident"] for f in found] for i, found in related.items()} == {
        merged_impact: [merged_launch]
    }
    shown = possible_launches(engine, _incident_of(engine, demo_mission, "TR-L001"))
    assert [f["incident"] for f in shown] == [merged_launch]
    # Spans -5..0 s and -45..-40 s: 35 to 45 s apart, 35 the nearest to a typical flight (20 s).
    assert shown[0]["seconds_before"] == 35 and shown[0]["seconds_off"] == 0
    with engine.connect() as db:  # the old ids stay, each pointing at what followed it
        old = db.execute(
            select(incidents.c.id, incidents.c.status, incidents.c.detail).where(
                incidents.c.id.in_([impact, launch])
            )
        ).all()
    assert {r.id: (r.status, json.loads(r.detail)["superseded_by"]) for r in old} == {
        impact: ("superseded", merged_impact),
        launch: ("superseded", merged_launch),
    }


def test_an_explosion_not_said_to_be_an_impact_may_be_one(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher
) -> None:
    """A post hears an explosion it cannot tell: it may be an impact, and is related; one said
    to be outgoing is a launch, and never an impact. With no weapon said, the reach is tube
    artillery's."""
    intake_of(engine, demo_mission, demo_enricher).feed(
        [
            _obs(1, 0, 0, "explosion", explosion="undetermined"),
            _obs(2, -30, 6, "muzzle_flash"),
            _obs(3, -60, -45, "explosion", explosion="outgoing"),  # beyond a gun's 40 km
        ],
        "x",
    )
    unsaid = possible_launches(engine, _incident_of(engine, demo_mission, "TR-L001"))
    assert [f["incident"] for f in unsaid] == _ids(engine, "TR-L002")
    assert possible_launches(engine, _incident_of(engine, demo_mission, "TR-L003")) == []

"""The releases page says what replaced an incident a release named, once correlation merged
it away: alike for the party it went to and for both contingents, in the reader's language."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from web_support import password, signed_in

from ceasefire.api import create_app
from ceasefire.incidents.tables import incidents
from ceasefire.ingest.pipeline import Intake
from ceasefire.ledger.keys import init_keys, load_keys, origin_of
from ceasefire.ledger.release import write_release
from ceasefire.mission import Mission
from ceasefire.observations import Observation
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.workflow.assessments import submit
from ceasefire.workflow.releases import incident_selections
from ceasefire.workflow.roles import add_user, set_password

T0 = datetime(2021, 2, 1, 10, 0, tzinfo=UTC)
PLATFORMS = {
    "RU": {"id": "orlan-10-07", "type": "orlan-10"},
    "TR": {"id": "tb2-03", "type": "bayraktar-tb2"},
}


def obs(i: int, contingent: str, minutes: float) -> Observation:
    return Observation.model_validate(
        {
            "id": f"{contingent}-{i:04d}",
            "contingent": contingent,
            "platform": PLATFORMS[contingent],
            "observed_at": (T0 + timedelta(minutes=minutes)).isoformat(),
            "category": "explosion",
            "location": {"lat": 39.93, "lon": 46.83, "ce_m": 80},
            "sensed_by": "drone-eo",
        }
    )


def test_the_releases_page_names_the_incident_that_replaced_the_released_one(
    engine: Engine, demo_mission: Mission, demo_enricher: Any, tmp_path: Path
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
    with engine.begin() as db:  # both assessed by both: each keeps its id (no longer blind)
        ru = add_user(db, m, "ru-duty", "duty_officer", "RU")
        tr = add_user(db, m, "tr-duty", "duty_officer", "TR")
        for officer in (ru, tr):
            for incident_id in (second, first):
                submit(db, m, officer, incident_id, violation="no", clauses=[], attribution="AZ")
    init_keys(tmp_path / "keys", origin_of(m.id), m.contingent_ids())
    ring = load_keys(tmp_path / "keys", origin_of(m.id), m.contingent_ids())
    write_release(
        engine, ring, tmp_path / "AZ.json", "AZ", incident_selections(engine, second),
        incidents=[second],
    )  # fmt: skip
    readers = [("az-liaison", "party_liaison", "AZ"), ("ru-analyst", "analyst", "RU")]
    readers.append(("tr-analyst", "analyst", "TR"))
    with engine.begin() as db:
        for name, role, affiliation in readers:
            add_user(db, m, name, role, affiliation)
            set_password(db, name, password(name))
    app = create_app(engine, m, enricher=demo_enricher)

    def shown(name: str, lang: str = "en") -> list[str]:
        page = signed_in(app, name).get("/releases", headers={"Accept-Language": lang})
        assert page.status_code == 200, page.text
        cells = re.findall(r'<div data-incident="([^"]+)">([^<]*)</div>', page.text)
        return [f"{i}: {text}" for i, text in cells]

    before = {name: shown(name) for name, _r, _a in readers}
    assert before["az-liaison"] == [f"{second}: {second}"]
    intake.feed([obs(3, "TR", 9)], "late")  # links both: one event, the later gives way
    after = [f"{second}: incident {second} superseded by {first}"]
    for name, _role, _affiliation in readers:  # the party and both contingents alike
        assert shown(name) == after, name
    assert shown("az-liaison", "ru") == [f"{second}: инцидент {second} заменён инцидентом {first}"]
    assert shown("tr-analyst", "tr") == [f"{second}: {second} olayının yerini {first} aldı"]
    assert shown("ru-analyst", "az") == [f"{second}: {second} hadisəsini {first} əvəz edib"]
    assert shown("az-liaison", "hy") == [f"{second}: {second} միջադեպը փոխարինվել է {first}-ով"]

"""A decision taken by a process that never imports ``ceasefire.center`` (a script, a bench)
still reaches both parties and the force: the decision leaves its effect, and a dispatcher run
apart, in another process that does not import the center either, writes and sends the
notices. Before issue 11's last step the notices were written by a hook only the center's
import wired, and such a decision sent nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import sqlalchemy as sa

from ceasefire.dissemination.tables import deliveries, effect_notices, notices

SETUP = """
import asyncio, json, sys
from datetime import UTC, datetime, timedelta
import sqlalchemy as sa
from ceasefire.mission import load_mission
from ceasefire.store import open_database

T0 = datetime(2021, 2, 1, 10, 0, tzinfo=UTC)
engine = open_database(sys.argv[1])
mission = load_mission("karabakh-2020")
"""

CHECK = """
assert "ceasefire.center" not in sys.modules, "the script imported the center"
engine.dispose()
print("ok")
"""

DECIDE = """
from ceasefire.incidents.tables import incidents
from ceasefire.store.missions import save_mission, mission_row
from ceasefire.workflow import assessments, decisions
from ceasefire.workflow.roles import add_user

stored, _ = save_mission(engine, mission)
key = mission_row(engine, stored)
with engine.begin() as db:
    db.execute(sa.insert(incidents).values(
        id="INC-1", mission=key, status="open", kind="event", category="explosion",
        categories='["explosion"]', started_at=T0, ended_at=T0, lat=39.78, lon=46.73,
        ce_m=150.0, count=1, observation_count=2, contingents='["RU", "TR"]',
        platforms='["orlan-10-07", "tb2-03"]', corroboration="both_contingents", rules="[]",
        zones="[]", settlement_id="shusha-shushi", settlement_distance_m=2600.0,
        settlement_bearing_deg=320.0, updated_at=T0))
    staff = {n: add_user(db, mission, n, r, a, at=T0) for n, r, a in (
        ("ru-do", "duty_officer", "RU"), ("tr-do", "duty_officer", "TR"),
        ("ru-head", "head", "RU"), ("tr-head", "head", "TR"))}
    for officer in ("ru-do", "tr-do"):
        assessments.submit(db, mission, staff[officer], "INC-1", violation="yes",
                           clauses=["1"], attribution="AZ", severity="high", at=T0)
with engine.begin() as db:  # both keys
    d = decisions.propose(db, mission, staff["ru-head"], "INC-1", "notify_both_parties", at=T0)
    d = decisions.approve(db, mission, staff["tr-head"], d.id, at=T0)
assert d.state == "approved", d
with engine.connect() as db:
    assert db.execute(sa.text("SELECT count(*) FROM notices")).scalar() == 0
print(json.dumps({"decision": d.id}))
"""

DISPATCH = """
from ceasefire.dissemination.dispatcher import Dispatcher

sent = []

class Line:
    def __init__(self, name):
        self.name = name

    async def send(self, outgoing):
        sent.append([outgoing.recipient, outgoing.notice_id, self.name])

lines = {name: Line(name) for name in ("email", "http", "tak", "file")}
counts = asyncio.run(Dispatcher(engine, lines, mission=mission).drain())
print(json.dumps({"sent": sorted(sent), "delivered": counts.delivered}))
"""


def run(script: str, url: str) -> dict[str, object]:
    """``script`` after :data:`SETUP` in a fresh interpreter; the JSON line it printed."""
    code = SETUP + textwrap.dedent(script) + CHECK
    done = subprocess.run(
        [sys.executable, "-c", code, url], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "ok", done.stdout
    found: dict[str, object] = json.loads(lines[-2])
    return found


def test_a_decision_without_the_center_reaches_both_parties_and_the_force(
    engine: sa.Engine, database_url: str
) -> None:
    decided = run(DECIDE, database_url)
    with engine.connect() as db:
        assert db.execute(sa.select(sa.func.count()).select_from(notices)).scalar() == 0
    dispatched = run(DISPATCH, database_url)
    with engine.connect() as db:
        rows = list(db.execute(sa.select(notices)))
        marked = list(db.execute(sa.select(effect_notices)))
        pending = db.execute(
            sa.select(sa.func.count())
            .select_from(deliveries)
            .where(deliveries.c.status != "delivered")
        ).scalar()
    assert {r.recipient: r.role for r in rows} == {
        "AM": "addressee",
        "AZ": "addressee",
        "PK": "copy",
    }
    assert {r.cause for r in rows} == {decided["decision"]}
    # parity: one batch, the same facts, the same moment (the decision's) for everyone
    assert len({r.batch for r in rows}) == 1 and len({r.content_hash for r in rows}) == 1
    assert len({r.created_at for r in rows}) == 1
    assert [(m.decision_id, m.batch) for m in marked] == [(decided["decision"], rows[0].batch)]
    sent = dispatched["sent"]
    assert isinstance(sent, list)
    assert sorted(recipient for recipient, _id, _channel in sent) == ["AM", "AZ", "PK"]
    assert {notice for _r, notice, _c in sent} == {r.id for r in rows}
    assert pending == 0
    # a second dispatcher finds nothing more to write
    again = run(DISPATCH, database_url)
    assert again["sent"] == []
    with engine.connect() as db:
        assert db.execute(sa.select(sa.func.count()).select_from(notices)).scalar() == 3

"""The work pages without a browser: the queue, an incident's two blind assessments, a two-key
decision, the edit lock, a stale page, bad fields and an ended session."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from web_support import build_center, csrf_of, sighting, signed_in

from api.api_support import bearer
from ceasefire.incidents.tables import incidents
from ceasefire.mission import Mission
from ceasefire.web import mapdata
from ceasefire.workflow import assessments, decisions, locks
from ceasefire.workflow.roles import get_user, issue_token


@pytest.fixture
def center(engine: Engine, demo_mission: Mission, demo_enricher: Any) -> tuple[FastAPI, list[str]]:
    return build_center(engine, demo_mission, demo_enricher)


def stamp_of(html: str) -> str:
    found = re.search(r'name="stamp" value="([^"]+)"', html)
    assert found
    return found.group(1)


def assess(client: TestClient, incident: str, **fields: Any) -> Any:
    page = client.get(f"/incidents/{incident}")
    data = {"csrf": csrf_of(page.text), "stamp": stamp_of(page.text), **fields}
    return client.post(f"/incidents/{incident}/assessment", data=data, follow_redirects=False)


def test_the_queue_puts_the_work_first_and_filters(center: tuple[FastAPI, list[str]]) -> None:
    app, ids = center
    client = signed_in(app, "tr-duty-officer")
    page = client.get("/queue")
    assert page.status_code == 200
    assert all(i in page.text for i in ids)
    both = client.get("/queue?corroboration=both_contingents").text
    assert ids[1] in both and ids[0] not in both
    early = client.get("/queue?until=2020-11-30").text
    assert ids[2] in early and ids[0] not in early


def test_assessments_stay_blind_until_both_have_submitted(
    center: tuple[FastAPI, list[str]],
) -> None:
    app, ids = center
    incident = ids[1]
    ru, tr = signed_in(app, "ru-duty-officer"), signed_in(app, "tr-duty-officer")
    sent = assess(
        ru,
        incident,
        violation="yes",
        clauses="1",
        attribution="not_attributed",
        severity="high",
        remarks="RU's secret view",
    )
    assert sent.status_code == 303, sent.text
    assert "RU&#39;s secret view" in ru.get(f"/incidents/{incident}").text
    seen_by_tr = tr.get(f"/incidents/{incident}").text
    assert "secret view" not in seen_by_tr and 'data-hidden="RU"' in seen_by_tr
    auditor = signed_in(app, "auditor").get(f"/incidents/{incident}").text
    assert "secret view" not in auditor
    assert (
        assess(
            tr,
            incident,
            violation="yes",
            clauses="1",
            attribution="not_attributed",
            severity="medium",
        ).status_code
        == 303
    )
    after = tr.get(f"/incidents/{incident}").text
    assert "RU&#39;s secret view" in after and 'data-finding="finding"' in after


@pytest.mark.parametrize(("side", "other"), [("ru", "tr"), ("tr", "ru")])
def test_the_other_side_s_page_does_not_go_stale_when_one_side_assesses(
    center: tuple[FastAPI, list[str]], side: str, other: str
) -> None:
    """A page's stamp changes with what its reader sees only: were it to count the other
    side's blind assessment, the other side's form would be refused as stale, telling it that
    this side has just assessed."""
    app, ids = center
    incident = ids[1]
    first, second = signed_in(app, f"{side}-duty-officer"), signed_in(app, f"{other}-duty-officer")
    opened = second.get(f"/incidents/{incident}")
    assert (
        assess(first, incident, violation="yes", attribution="AZ", clauses="1").status_code == 303
    )
    assert stamp_of(second.get(f"/incidents/{incident}").text) == stamp_of(opened.text)
    late = second.post(
        f"/incidents/{incident}/assessment",
        data={
            "csrf": csrf_of(opened.text),
            "stamp": stamp_of(opened.text),
            "violation": "yes",
            "clauses": "1",
            "attribution": "AZ",
        },
        follow_redirects=False,
    )
    assert late.status_code == 303, late.text
    # Once both views are given, the page has moved on.
    assert stamp_of(second.get(f"/incidents/{incident}").text) != stamp_of(opened.text)


@pytest.mark.parametrize(("side", "other"), [("ru", "tr"), ("tr", "ru")])
def test_the_queue_and_the_map_move_for_nobody_when_one_side_assesses(
    center: tuple[FastAPI, list[str]],
    engine: Engine,
    demo_mission: Mission,
    side: str,
    other: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The queue (sorted by status) and the map's incidents (coloured by status, or counted
    by status in the server's clusters) read the same to the other side and the auditor
    before and after one side assesses an incident."""
    app, ids = center
    readers = {r: signed_in(app, r) for r in (f"{other}-duty-officer", "auditor")}
    monkeypatch.setattr(mapdata, "CLUSTER_ABOVE", 1)  # the two of 2021-02-01: one cluster
    day = "/map/incidents.json?at=2021-02-01T23:00:00Z&hours=24&zoom=4"
    paths = ["/queue", "/queue?status=assessing", "/map/incidents.json", day]
    paths.append(f"{day}&status=assessing")
    assert signed_in(app, "auditor").get(day).json()["clusters"][0]["count"] == 2

    def seen() -> dict[tuple[str, str], str]:
        return {(r, p): c.get(p).text for r, c in readers.items() for p in paths}

    before = seen()
    with engine.begin() as db:
        assessments.submit(
            db, demo_mission, get_user(db, f"{side}-duty-officer"), ids[1], violation="yes",
            clauses=["1"], attribution="AZ",
        )  # fmt: skip
    after = seen()
    assert [k for k in before if before[k] != after[k]] == []


def test_bad_fields_are_told_beside_them_in_the_user_s_language(
    center: tuple[FastAPI, list[str]],
) -> None:
    app, ids = center
    client = signed_in(app, "ru-head")
    page = client.get("/map")
    client.post("/language", data={"lang": "ru", "next": "/map", "csrf": csrf_of(page.text)})
    answer = assess(client, ids[0], violation="yes", attribution="nobody", remarks="keep me")
    assert answer.status_code == 422
    assert (
        'id="err-assessment-clauses"' in answer.text
        and 'id="err-assessment-attribution"' in answer.text
    )
    assert "keep me" in answer.text  # what was typed comes back
    assert 'lang="ru"' in answer.text and "violation" not in re.findall(
        r"err-assessment-\w+", answer.text
    )


def test_a_stale_page_is_not_applied(center: tuple[FastAPI, list[str]]) -> None:
    app, ids = center
    ru, ru2 = signed_in(app, "ru-duty-officer"), signed_in(app, "ru-head")
    old = ru.get(f"/incidents/{ids[0]}")
    assert assess(ru2, ids[0], violation="no", attribution="not_attributed").status_code == 303
    late = ru.post(
        f"/incidents/{ids[0]}/assessment",
        data={
            "csrf": csrf_of(old.text),
            "stamp": stamp_of(old.text),
            "violation": "undetermined",
            "attribution": "not_attributed",
            "remarks": "typed on an old page",
        },
    )
    assert late.status_code == 409 and "changed since you opened the page" in late.text
    assert "typed on an old page" in late.text


def test_a_two_key_decision_from_the_pages(center: tuple[FastAPI, list[str]]) -> None:
    app, ids = center
    ru, tr = signed_in(app, "ru-head"), signed_in(app, "tr-head")
    for client in (ru, tr):  # a decision on a blind incident waits for both assessments
        done = assess(client, ids[1], violation="yes", clauses="1", attribution="not_attributed")
        assert done.status_code == 303
    page = ru.get(f"/incidents/{ids[1]}")
    proposed = ru.post(
        f"/incidents/{ids[1]}/decisions",
        data={
            "csrf": csrf_of(page.text),
            "stamp": stamp_of(page.text),
            "reaction": "notify_both_parties",
        },
        follow_redirects=False,
    )
    assert proposed.status_code == 303, proposed.text
    listed = tr.get("/decisions").text
    decision = re.search(r'data-decision="(DEC-[^"]+)" data-state="proposed"', listed)
    assert decision, listed
    tr.post(
        f"/decisions/{decision.group(1)}/approve",
        data={"csrf": csrf_of(listed), "back": f"/incidents/{ids[1]}"},
    )
    after = tr.get(f"/incidents/{ids[1]}").text
    assert f'data-decision="{decision.group(1)}" data-state="approved"' in after


def test_the_lock_is_shown_to_the_other_side_expires_and_a_head_takes_over(
    center: tuple[FastAPI, list[str]],
    engine: Engine,
) -> None:
    app, ids = center
    ru, ru_head, tr = (signed_in(app, n) for n in ("ru-duty-officer", "ru-head", "tr-analyst"))
    page = ru.get(f"/incidents/{ids[0]}")
    ru.post(f"/incidents/{ids[0]}/lock", data={"csrf": csrf_of(page.text), "action": "take"})
    assert 'data-lock="RU" data-holder="ru-duty-officer"' in tr.get(f"/incidents/{ids[0]}").text
    assert 'data-lock="RU">RU: ru-duty-officer' in tr.get("/queue").text
    # another RU officer's write waits for the lock; the head takes it over, logged
    refused = assess(ru_head, ids[0], violation="no", attribution="not_attributed")
    assert refused.status_code == 409 and "ru-duty-officer works on this incident" in refused.text
    head_page = ru_head.get(f"/incidents/{ids[0]}")
    ru_head.post(
        f"/incidents/{ids[0]}/lock",
        data={"csrf": csrf_of(head_page.text), "action": "take_over", "reason": "shift ended"},
    )
    assert 'data-holder="ru-head"' in tr.get(f"/incidents/{ids[0]}").text
    with engine.connect() as db:
        from ceasefire.ledger import log

        [entry] = log.entries_of(db, locks.KIND_LOCK, [f"{ids[0]}/RU"])
        assert '"from":"ru-duty-officer"' in entry.entry and "shift ended" in entry.entry
        # a lock not renewed expires
        later = datetime.now(UTC) + timedelta(minutes=locks.LOCK_MINUTES + 1)
        assert locks.live_locks(db, [ids[0]], at=later) == {}
        assert (
            locks.take(db, get_user(db, "ru-duty-officer"), ids[0], at=later).holder
            == "ru-duty-officer"
        )


def test_an_ended_session_goes_back_to_the_log_in(center: tuple[FastAPI, list[str]]) -> None:
    app, ids = center
    client = signed_in(app, "ru-duty-officer")
    page = client.get(f"/incidents/{ids[0]}")
    client.cookies.set("cf_session", "cf_00_expired", domain="testserver.local")
    client.cookies.clear()
    client.cookies.set("cf_session", "cf_0000_gone")
    sent = client.post(
        f"/incidents/{ids[0]}/assessment",
        data={"csrf": csrf_of(page.text), "violation": "no"},
        headers={"referer": f"https://testserver/incidents/{ids[0]}"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/login?next=/incidents/{ids[0]}&expired=1"


def test_a_browser_gets_pages_and_a_program_problem_details(
    center: tuple[FastAPI, list[str]],
) -> None:
    app, _ids = center
    client = TestClient(app, base_url="https://testserver")
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    page = client.get("/nothing-here", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "<html" in page.text
    assert client.get("/nothing-here").headers["content-type"] == "application/problem+json"


def test_a_party_liaison_sees_only_its_releases(center: tuple[FastAPI, list[str]]) -> None:
    app, ids = center
    liaison = signed_in(app, "am-liaison")
    assert liaison.get("/releases").status_code == 200
    assert liaison.get(f"/incidents/{ids[0]}").status_code == 403
    assert liaison.get("/queue").status_code == 403


def test_the_shift_board_and_a_handover_both_sides_confirm(
    center: tuple[FastAPI, list[str]], engine: Engine, demo_mission: Mission
) -> None:
    from ceasefire.workflow import shifts

    app, _ids = center
    now = datetime.now(UTC)
    with engine.begin() as db:
        ru_officer = get_user(db, "ru-duty-officer")
        shift = shifts.add_shift(
            db,
            demo_mission,
            ru_officer,
            now - timedelta(hours=2),
            now + timedelta(hours=6),
            "night",
        )
        shifts.assign(db, demo_mission, ru_officer, shift.id, "ru-duty-officer")
    ru, tr = signed_in(app, "ru-duty-officer"), signed_in(app, "tr-duty-officer")
    board = tr.get("/shifts").text
    assert "flagged: no officer of TR" in board
    # TR puts its officer on; both confirm; each confirmation is the record of its side
    tr.post(f"/shifts/{shift.id}/assign", data={"csrf": csrf_of(board)})
    for client in (ru, tr):
        page = client.get("/shifts").text
        answer = client.post(f"/shifts/{shift.id}/handover", data={"csrf": csrf_of(page)})
        assert answer.status_code == 200, answer.text
    board = ru.get("/shifts").text
    assert 'data-confirmed="RU"' in board and 'data-confirmed="TR"' in board
    # nobody confirms twice, and the auditor sees the board but has no button
    again = ru.post(f"/shifts/{shift.id}/handover", data={"csrf": csrf_of(board)})
    assert again.status_code == 409
    auditor = signed_in(app, "auditor").get("/shifts").text
    assert "/handover" not in auditor and "Put me on it" not in auditor


def test_an_impact_s_page_shows_its_possible_launches_alike_to_both_sides(
    center: tuple[FastAPI, list[str]], engine: Engine, demo_mission: Mission, demo_enricher: Any
) -> None:
    """The incident both saw (an impact) relates to a muzzle flash 5 km north 40 s before it;
    the launch's page names the impact. Worked out from the incidents: the same for both."""
    from sqlalchemy import select

    from ceasefire.observations import parse_observation
    from ceasefire.store.schema import observations
    from centers import intake_of

    app, ids = center
    flash = sighting("TR", 9, "2021-02-01T09:59:20Z", "khankendi")
    flash["location"]["lat"] += 5 / 111.32
    flash.update(category="muzzle_flash", qualifiers={"weapon": "mortar"})
    intake_of(engine, demo_mission, demo_enricher).feed([parse_observation(flash)], "web")
    with engine.connect() as db:
        launch = db.execute(
            select(observations.c.incident_id).where(observations.c.source_id == "TR-W009")
        ).scalar_one()
    impact = ids[1]
    pages = {
        name: signed_in(app, name).get(f"/incidents/{impact}").text
        for name in ("ru-duty-officer", "tr-duty-officer")
    }
    for page in pages.values():
        related = page[page.index('id="related"') : page.index('id="obs-h"')]
        assert f'data-related="launch" data-incident="{launch}"' in related
        assert "40 s before the impact" in related and "not a finding" in related
    assert pages["ru-duty-officer"].count(launch) == pages["tr-duty-officer"].count(launch)
    other = signed_in(app, "ru-duty-officer").get(f"/incidents/{launch}").text
    assert f'data-related="impact" data-incident="{impact}"' in other
    assert 'id="related"' not in signed_in(app, "ru-duty-officer").get(f"/incidents/{ids[0]}").text

    # RU alone assesses the impact and reacts at once (blind): what TR and the auditor read of
    # the relation (both pages' sections, the launch's whole page, the API's incident records)
    # does not move
    readers = {name: signed_in(app, name) for name in ("tr-duty-officer", "auditor")}
    with engine.begin() as db:
        tokens = {name: issue_token(db, name, "test") for name in readers}

    def related(client: TestClient, incident: str) -> str:
        page = client.get(f"/incidents/{incident}").text
        return page[page.index('id="related"') : page.index('id="obs-h"')]

    def seen() -> dict[tuple[str, str], str]:
        found = {}
        for name, client in readers.items():
            found[(name, "impact")] = related(client, impact)
            found[(name, "launch")] = related(client, launch)
            found[(name, "launch page")] = client.get(f"/incidents/{launch}").text
        api = TestClient(app)
        for name, token in tokens.items():
            for incident in (impact, launch):
                answer = api.get(f"/api/v1/incidents/{incident}", headers=bearer(token))
                found[(name, f"api {incident}")] = answer.text
        return found

    before = seen()
    with engine.begin() as db:
        ru = get_user(db, "ru-duty-officer")
        assessments.submit(
            db, demo_mission, ru, impact, violation="yes", clauses=["1"], attribution="AZ"
        )
        decisions.propose(db, demo_mission, ru, impact, "notify_peacekeepers", urgent=True)
    after = seen()
    assert [k for k in before if before[k] != after[k]] == []


def test_an_incident_that_gave_way_links_to_what_followed_it_alike_for_both_sides(
    center: tuple[FastAPI, list[str]], engine: Engine
) -> None:
    # RU alone assesses the incident only RU saw; TR then sends its own report of the same
    # explosion, a minute earlier and late: the incident takes TR's id, as any would.
    app, ids = center
    incident = ids[0]  # seen by RU alone, at Aghdam at 13:00
    ru, tr = signed_in(app, "ru-duty-officer"), signed_in(app, "tr-duty-officer")
    sent = assess(
        ru, incident, violation="yes", clauses="1", attribution="not_attributed", severity="high"
    )
    assert sent.status_code == 303, sent.text
    with engine.begin() as db:
        token = issue_token(db, "tr-duty-officer", "late report")
    late = sighting("TR", 2, "2021-02-01T12:59:00Z", "aghdam")
    posted = TestClient(app).post("/api/v1/observations", json=[late], headers=bearer(token))
    assert posted.json()["accepted"] == 1, posted.text
    with engine.connect() as db:
        current = db.execute(select(incidents.c.id).where(incidents.c.status != "superseded"))
        followed = [i for i in current.scalars() if i not in ids]
    assert len(followed) == 1
    pages = {
        side: client.get(f"/incidents/{incident}").text for side, client in (("RU", ru), ("TR", tr))
    }
    for side, page in pages.items():
        link = re.search(r'data-testid="superseded-by"><a href="/incidents/([^"]+)"', page)
        assert link and link.group(1) == followed[0], side
    # RU's view stays on the incident it was given on, still blind to TR.
    assert 'data-hidden="RU"' in pages["TR"] and 'data-hidden="RU"' not in pages["RU"]

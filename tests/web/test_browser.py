"""The pages in a real browser: Debian's Chromium, headless, driven by Playwright.

One live center (SQLite, 127.0.0.1, a free port) serves the module; each test opens its own
browser context, so sessions never leak between tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from web_support import build_center, password, sighting

from api.api_support import staff_of
from ceasefire.geo import Enricher
from ceasefire.mission import Mission, load_mission
from ceasefire.store import open_database
from web.browser import chromium, log_in, log_in_here, serious_violations, serving, shot

pytestmark = pytest.mark.slow


ENGINES: dict[str, Any] = {}


def live_engine(live: tuple[str, list[str], Mission]) -> Any:
    return ENGINES[live[0]]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str], Mission]]:
    mission = load_mission("karabakh-2020")
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('web') / 'center.db'}")
    app, ids = build_center(engine, mission, Enricher(mission))
    with serving(app) as base:
        ENGINES[base] = engine
        yield base, ids, mission
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB")
    yield context.new_page()
    context.close()


def test_every_role_logs_in_and_lands_on_its_start_page(
    live: tuple[str, list[str], Mission], browser: Any
) -> None:
    base, _ids, mission = live
    for name, role, _affiliation in staff_of(mission):
        context = browser.new_context()
        page = context.new_page()
        log_in(page, base, name, password(name))
        expected = "/releases" if role in ("liaison", "party_liaison") else "/map"
        assert page.url.split("?")[0].endswith(expected), (name, page.url)
        assert page.locator("[data-user]").get_attribute("data-user") == name
        assert page.get_by_test_id("disclaimer").is_visible()
        context.close()


def test_the_map_shows_the_incidents_and_replays_aghdam_s_handover(
    live: tuple[str, list[str], Mission], page: Any
) -> None:
    base, _ids, _mission = live
    log_in(page, base, "ru-duty-officer", password("ru-duty-officer"))
    page.goto(f"{base}/map?at=2021-02-01T23:00:00Z&hours=24")
    page.wait_for_function("document.getElementById('map').dataset.incidents === '2'")
    page.wait_for_function(
        "(document.getElementById('map').dataset.zones || '').includes('az-aghdam')"
    )
    shot(page, "map-2021-02-01")
    # back to before the handover: Aghdam district held by the Armenian side
    page.evaluate("window.ceasefireMap.setTime('2020-11-15T12:00:00Z')")
    page.wait_for_function(
        "(document.getElementById('map').dataset.zones || '').includes('am-aghdam')"
    )
    zones = page.locator("#map").get_attribute("data-zones") or ""
    assert "az-aghdam" not in zones.split()
    page.wait_for_function("document.getElementById('map').dataset.incidents === '1'")
    shot(page, "map-2020-11-15-before-aghdam-handover")
    # the slider, moved from the keyboard, replays forward
    page.focus("#at-slider")
    page.keyboard.press("End")
    page.wait_for_function(
        "(document.getElementById('map').dataset.zones || '').includes('az-aghdam')"
    )
    assert page.get_by_test_id("disclaimer").is_visible()


def test_a_wide_view_s_clusters_zoom_in_from_the_keyboard(
    live: tuple[str, list[str], Mission], page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With clustering from two incidents on (the live center is in this process), the two
    of 2021-02-01 make one cluster of the server at zoom 5; Enter on it zooms in until they
    come one by one. axe finds nothing serious with the cluster drawn."""
    from ceasefire.web import mapdata

    monkeypatch.setattr(mapdata, "CLUSTER_ABOVE", 1)
    base, _ids, _mission = live
    log_in(page, base, "tr-duty-officer", password("tr-duty-officer"))
    page.goto(f"{base}/map?at=2021-02-01T23:00:00Z&hours=24")
    page.wait_for_function("document.getElementById('map').dataset.incidents === '2'")
    page.evaluate("() => { window.ceasefireMap.map.setZoom(5); }")
    page.wait_for_function("document.getElementById('map').dataset.clusters === '1'")
    cluster = page.locator(".cf-cluster[role=button]")
    assert cluster.inner_text() == "2"
    assert "2 incidents here" in (cluster.get_attribute("title") or "")
    assert "2 incidents" in page.locator("#counts").inner_text()
    shot(page, "map-clusters-zoom-5")
    assert serious_violations(page) == []
    cluster.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.getElementById('map').dataset.clusters === '0'"
        " && window.ceasefireMap.map.getZoom() > 5"
    )
    assert page.locator("#map").get_attribute("data-incidents") == "2"
    # the map's filters narrow the same view, as the queue's do
    page.select_option("#status", "open")
    page.wait_for_function("new URL(location.href).searchParams.get('status') === 'open'")
    shot(page, "map-clusters-zoomed-in")


def test_the_map_page_has_no_serious_accessibility_violation(
    live: tuple[str, list[str], Mission], page: Any
) -> None:
    base, _ids, _mission = live
    page.goto(f"{base}/login")
    assert serious_violations(page) == []
    log_in(page, base, "tr-head", password("tr-head"))
    page.goto(f"{base}/map")
    page.wait_for_function("document.getElementById('map').dataset.incidents !== undefined")
    assert serious_violations(page) == []


def test_blind_assessments_then_a_two_key_decision_in_two_browsers(
    live: tuple[str, list[str], Mission], browser: Any
) -> None:
    base, ids, _mission = live
    incident = ids[1]
    pages = {}
    for name in ("ru-head", "tr-head"):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        pages[name] = context.new_page()
        log_in(pages[name], base, name, password(name))
        pages[name].goto(f"{base}/incidents/{incident}")
    ru, tr = pages["ru-head"], pages["tr-head"]
    ru.select_option("#violation", "yes")
    ru.check("input[name=clauses][value='1']")
    ru.select_option("#severity", "high")
    ru.fill("#remarks", "seen from two drones")
    ru.click("text=Submit our assessment")
    ru.wait_for_selector("[data-assessment='RU']")
    tr.reload()
    assert tr.locator("[data-hidden='RU']").is_visible()
    assert "seen from two drones" not in tr.content()
    shot(tr, "incident-blind-for-the-other-side")
    tr.select_option("#violation", "yes")
    tr.check("input[name=clauses][value='1']")
    tr.click("text=Submit our assessment")
    tr.wait_for_selector("[data-assessment='RU']")
    assert "seen from two drones" in tr.content()
    assert tr.locator("[data-finding='finding']").is_visible()
    # two keys: RU's head proposes, TR's head approves
    ru.reload()
    ru.select_option("#reaction", "notify_both_parties")
    ru.click("#decisions button:has-text('Propose')")
    ru.wait_for_selector("[data-state='proposed']")
    tr.goto(f"{base}/decisions")
    tr.locator("[data-state='proposed'] button:has-text('Give our key')").first.click()
    tr.goto(f"{base}/incidents/{incident}")
    tr.wait_for_selector("[data-state='approved']")
    shot(tr, "incident-joint-finding-and-two-key-decision")
    assert serious_violations(tr) == []
    for page in pages.values():
        page.context.close()


def test_a_lock_is_shown_to_the_other_side_and_expires(
    live: tuple[str, list[str], Mission], browser: Any
) -> None:
    base, ids, _mission = live
    incident = ids[2]
    ru = browser.new_context().new_page()
    tr = browser.new_context().new_page()
    log_in(ru, base, "ru-duty-officer", password("ru-duty-officer"))
    log_in(tr, base, "tr-duty-officer", password("tr-duty-officer"))
    ru.goto(f"{base}/incidents/{incident}")
    ru.click("#work button[value=take]")
    ru.wait_for_selector("[data-lock='RU'][data-holder='ru-duty-officer']")
    tr.goto(f"{base}/queue?status=all")
    assert tr.locator(f"[data-incident='{incident}'] [data-lock='RU']").inner_text() == (
        "RU: ru-duty-officer"
    )
    tr.goto(f"{base}/incidents/{incident}")
    assert tr.locator("[data-lock='RU']").get_attribute("data-holder") == "ru-duty-officer"
    shot(tr, "lock-shown-to-the-other-side")
    # nobody renews it: past its time it is free again
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from ceasefire.workflow.tables import edit_locks

    with live_engine(live).begin() as db:
        db.execute(update(edit_locks).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    tr.reload()
    assert tr.locator("[data-lock='RU']").get_attribute("data-holder") == ""
    ru.context.close()
    tr.context.close()


def test_five_languages_and_the_keyboard(live: tuple[str, list[str], Mission], page: Any) -> None:
    base, _ids, mission = live
    log_in(page, base, "tr-analyst", password("tr-analyst"))
    page.goto(f"{base}/queue")
    for lang in ("ru", "tr", "az", "hy", "en"):
        page.locator(f".langs button[value={lang}]").focus()
        page.keyboard.press("Enter")
        page.wait_for_selector(f"html[lang={lang}]")
        assert mission.disclaimer(lang) in page.get_by_test_id("disclaimer").inner_text()
        assert mission.name(lang) in page.locator(".brand").inner_text()
        shot(page, f"queue-{lang}")
    # the keyboard reaches the queue's first incident
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert serious_violations(page) == []


def test_a_party_liaison_sees_only_its_own_releases(
    live: tuple[str, list[str], Mission], page: Any
) -> None:
    base, ids, _mission = live
    log_in(page, base, "az-liaison", password("az-liaison"))
    assert page.url.endswith("/releases")
    assert page.locator("nav a[href='/queue']").count() == 0
    page.goto(f"{base}/incidents/{ids[0]}")
    assert "Not allowed" in page.content()
    page.goto(f"{base}/releases")
    assert serious_violations(page) == []
    shot(page, "releases-party-liaison")


def test_the_map_updates_live_when_an_observation_arrives(
    live: tuple[str, list[str], Mission], page: Any
) -> None:
    import httpx

    base, _ids, _mission = live
    log_in(page, base, "tr-analyst", password("tr-analyst"))
    page.goto(f"{base}/map?at=2021-02-01T23:00:00Z&hours=24")
    page.wait_for_function("document.getElementById('map').dataset.incidents !== undefined")
    before = int(page.locator("#map").get_attribute("data-incidents") or 0)
    session = httpx.post(
        f"{base}/api/v1/session",
        json={"name": "tr-duty-officer", "password": password("tr-duty-officer")},
    ).json()
    sent = httpx.post(
        f"{base}/api/v1/observations",
        json=[
            sighting("TR", 90, "2021-02-01T20:00:00Z", "khankendi")
            | {"category": "fortification", "qualifiers": {}}
        ],
        headers={"Authorization": f"Bearer {session['token']}"},
    )
    assert sent.json()["accepted"] == 1, sent.text
    page.wait_for_function(
        f"Number(document.getElementById('map').dataset.incidents) === {before + 1}", timeout=20_000
    )


def test_an_ended_session_keeps_what_was_typed(
    live: tuple[str, list[str], Mission], page: Any
) -> None:
    base, ids, _mission = live
    log_in(page, base, "tr-duty-officer", password("tr-duty-officer"))
    page.goto(f"{base}/incidents/{ids[0]}")
    page.fill("#remarks", "typed before the session ended")
    page.context.clear_cookies()
    page.click("text=Submit our assessment")
    page.wait_for_url(lambda url: "/login" in url)
    log_in_here(page, "tr-duty-officer", password("tr-duty-officer"))
    page.wait_for_url(lambda url: f"/incidents/{ids[0]}" in url)
    assert page.input_value("#remarks") == "typed before the session ended"


def test_the_work_pages_have_no_serious_accessibility_violation(
    live: tuple[str, list[str], Mission], page: Any
) -> None:
    base, ids, _mission = live
    log_in(page, base, "ru-duty-officer", password("ru-duty-officer"))
    for path, name in (
        ("/queue?status=all", "queue"),
        (f"/incidents/{ids[2]}", "incident"),
        ("/decisions?pending=false", "decisions"),
        ("/shifts", "shifts"),
    ):
        page.goto(base + path)
        shot(page, f"page-{name}")
        assert serious_violations(page) == [], path

"""`bench web`: the map with 10,000 incidents, measured in Chromium.

What is measured, in one run on one SQLite file of N incidents spread over the demo mission's
line of contact and 30 days, with the center (API and pages) served on 127.0.0.1 in this
process and Debian's Chromium driven by Playwright (headless):

- the first map render: from the start of the navigation to ``/map`` until every incident of
  the window is a marker in the clustered layer (the page's ``cf:incidents`` event); the
  median of a few loads;
- one map view: the page's own request for the visible box, window and zoom
  (``/map/incidents.json``; a wide view is answered with clusters, ``web.mapdata``), timed
  in the browser from the request to the parsed answer, over a series of views (zoomed in
  and out, panned): p50 and p99; ``map_view_incidents`` counts the incidents the views stood
  for (clustered or not), ``map_view_clustered`` the views answered with clusters and
  ``map_view_features`` the markers and clusters sent;
- the peer, in the same browser, for the same views: what a skilled client without the map
  endpoint asks the center's standard interface for each view, OGC API - Features
  ``GET /api/v1/ogc/collections/incidents/items?bbox=<the view's box>&datetime=<the
  window>&limit=10000`` (the largest page it serves), following ``next`` until the view's
  incidents are all in; timed like a map view, p50 and p99. (Until 2026-12-06 the peer paged
  the whole window's incidents by 1,000 for every view, whatever the box: a pass over all
  10,000 against one box's answer, which made the ratio say little.)

``rate`` is map views per second at the p50, ``baseline_rate`` the peer's views per second;
absolute times depend on the machine's load, ratios less so.
"""

from __future__ import annotations

import random
import resource
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import insert

from ceasefire.incidents.tables import incidents
from ceasefire.mission.model import Mission
from ceasefire.served import listening, settle
from ceasefire.store import open_database
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.web.mapdata import zoom_for
from ceasefire.workflow.roles import add_user, issue_token

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
STATUSES = ("open", "assessing", "finding", "disputed")
CATEGORIES = ("explosion", "small_arms_fire", "movement_vehicle", "uav_flight", "fortification")
END = datetime(2021, 2, 1, tzinfo=UTC)
DAYS = 30


def sample_incidents(mission: Mission, row: int, count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` incidents within 15 km of the line of contact, over the last ``DAYS`` days."""
    rng = random.Random(seed)
    lines = [z.geometry for z in mission.zones if z.kind == "line_of_contact" and z.valid_at(END)]
    points = [c for line in lines for part in getattr(line, "geoms", [line]) for c in part.coords]
    made = []
    for n in range(count):
        lon, lat = rng.choice(points)
        started = END - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        made.append(
            {
                "id": f"INC-bench{n:07d}",
                "mission": row,
                "status": rng.choice(STATUSES),
                "kind": "event",
                "category": (category := rng.choice(CATEGORIES)),
                "categories": f'["{category}"]',
                "started_at": started,
                "ended_at": started + timedelta(minutes=rng.randint(0, 30)),
                "lat": lat + rng.gauss(0, 0.05),
                "lon": lon + rng.gauss(0, 0.05),
                "ce_m": 100.0,
                "count": 1,
                "observation_count": 1,
                "contingents": '["RU", "TR"]' if rng.random() < 0.4 else '["RU"]',
                "platforms": "[]",
                "corroboration": rng.choice(("both_contingents", "single_source")),
                "rules": "[]",
                "severity": rng.choice(("low", "medium", "high")),
                "zones": "[]",
                "updated_at": started,
            }
        )
    return made


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


RENDER_HOOK = """
window.__rendered = null;
window.addEventListener("cf:incidents", (e) => {
  if (window.__rendered === null) window.__rendered = {ms: performance.now(), n: e.detail};
});
"""

VIEWS = """async ([views, query]) => {
  const times = [];
  let count = 0, clustered = 0, features = 0;
  for (const [box, zoom] of views) {
    const t0 = performance.now();
    const url = `/map/incidents.json?bbox=${box}&zoom=${zoom}&${query}`;
    const data = await (await fetch(url)).json();
    times.push(performance.now() - t0);
    if (!data.rows) throw new Error("no rows");
    count += data.count;
    clustered += data.clusters.length ? 1 : 0;
    features += data.rows.length + data.clusters.length;
  }
  return {times, count, clustered, features};
}"""

PEER = """async ([token, views, window]) => {
  const times = [];
  let count = 0;
  for (const box of views) {
    const t0 = performance.now();
    let url = `/api/v1/ogc/collections/incidents/items?bbox=${box}&datetime=${window}&limit=10000`;
    while (url) {
      const page = await (await fetch(url, {headers: {Authorization: `Bearer ${token}`}})).json();
      if (!page.features) throw new Error("no features");
      count += page.features.length;
      const next = (page.links || []).find((l) => l.rel === "next");
      url = next ? next.href.replace(/^https?:\\/\\/[^/]+/, "") : null;
    }
    times.push(performance.now() - t0);
  }
  return {times, count};
}"""


def run(
    mission: Mission, count: int, views: int, loads: int, seed: int, progress: Console
) -> dict[str, Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as missing:  # the [dev] or [bench] extra
        raise RuntimeError("bench web needs Playwright: pip install -e '.[bench]'") from missing
    import uvicorn

    from ceasefire.api import create_app

    with tempfile.TemporaryDirectory(prefix="ceasefire-bench-web-") as tmp:
        engine = open_database(f"sqlite:///{Path(tmp) / 'web.db'}")
        stored, _new = save_mission(engine, mission, note="bench web")
        row = mission_row(engine, stored)
        with progress.status(f"storing {count:,} incidents"), engine.begin() as db:
            rows = sample_incidents(mission, row, count, seed)
            for start in range(0, len(rows), 2000):
                db.execute(insert(incidents), rows[start : start + 2000])
            add_user(db, mission, "bench", "analyst", mission.contingent_ids()[0], "bench-web")
            token = issue_token(db, "bench", "bench web")
        app = create_app(engine, mission, correlate="off")  # with the pages (a capability)
        settle()  # as `ceasefire serve` does before it serves
        sock = listening()  # TCP_NODELAY: no delayed-ACK wait in the figures
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        at = END.strftime("%Y-%m-%dT%H:%M:%SZ")
        since = (END - timedelta(days=DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.add_init_script(RENDER_HOOK)
                page.goto(f"{base}/login")
                page.fill("#name", "bench")
                page.fill("#password", "bench-web")
                page.locator("form[action='/login'] button[type=submit]").click()
                page.wait_for_url(lambda url: "/login" not in url)
                renders = []
                shown = 0
                with progress.status("first map renders"):
                    for _load in range(loads):
                        page.goto(f"{base}/map?at={at}&hours=720")
                        page.wait_for_function("window.__rendered !== null", timeout=120_000)
                        done = page.evaluate("window.__rendered")
                        renders.append(float(done["ms"]))
                        shown = int(done["n"])
                area = mission.config.area
                rng = random.Random(seed)
                boxes: list[str] = []
                zooms: list[int] = []
                for _n in range(views):
                    span = rng.uniform(0.2, 1.0)
                    w = area[0] + rng.uniform(0, 1 - span) * (area[2] - area[0])
                    s = area[1] + rng.uniform(0, 1 - span) * (area[3] - area[1])
                    box = (w, s, w + span * (area[2] - area[0]), s + span * (area[3] - area[1]))
                    boxes.append(",".join(f"{v:.4f}" for v in box))
                    # the zoom the page asks with: the box across the page's 1,400 pixels
                    zooms.append(zoom_for(box, 1400))
                with progress.status(f"{views} map views"):
                    viewed = page.evaluate(
                        VIEWS, [list(zip(boxes, zooms, strict=True)), f"at={at}&hours=720"]
                    )
                    view_ms = viewed["times"]
                with progress.status("the peer: the same views through OGC API - Features"):
                    peer = page.evaluate(PEER, [token, boxes, f"{since}/{at}"])
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()
            engine.dispose()
    p50 = statistics.median(view_ms)
    peer_p50 = statistics.median(peer["times"])
    return {
        "name": "web",
        "incidents": count,
        "shown_on_first_render": shown,
        "first_render_ms": round(statistics.median(renders), 1),
        "first_render_ms_all": [round(r, 1) for r in renders],
        "map_view_p50_ms": round(p50, 1),
        "map_view_p99_ms": round(_percentile(view_ms, 0.99), 1),
        "views": len(view_ms),
        "map_view_incidents": viewed["count"],
        "map_view_clustered": viewed["clustered"],
        "map_view_features": viewed["features"],
        "rate": round(1000 / p50, 2),
        "baseline": "OGC API - Features items of the same box and window (limit 10,000, "
        "following next), for each view",
        "baseline_p50_ms": round(peer_p50, 1),
        "baseline_p99_ms": round(_percentile(peer["times"], 0.99), 1),
        "baseline_incidents": peer["count"],
        "baseline_rate": round(1000 / peer_p50, 2),
        "ratio": round(peer_p50 / p50, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }

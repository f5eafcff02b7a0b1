"""Statistics of incidents: counts by day, area, category, corroboration, finding and
attribution, as tables and matplotlib charts (``ceasefire stats``, ``GET /api/v1/stats``,
the daily report).

- day: the incident's start, as a date in the mission's time zone;
- area: the most specific area zone (controlled area, peacekeeping zone, corridor, handover
  area) the incident lies in, valid at its time (its enrichment); the smallest of them wins
  ("Aghdam district, held by ..." over "Area held by ...");
- category: the incident's main category; corroboration as stored;
- finding: the joint result (``finding`` or ``disputed``) or ``none`` while not every
  contingent has assessed; attribution only from a joint finding (a party, ``not_attributed``,
  or ``none``). No count ever rests on one contingent's assessment (blindness).

``violation`` counts the incidents a rule of the agreement applies to (a candidate violation,
as the SMM counted ceasefire violations before any attribution).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from ceasefire.i18n import _, language, pgettext
from ceasefire.labels import label
from ceasefire.mission.model import Mission
from ceasefire.reports.rows import Selection, incident_rows
from ceasefire.reports.scope import EVERYTHING, Scope

DIMENSIONS = ("day", "area", "category", "corroboration", "finding", "attribution")
AREA_KINDS = frozenset({"controlled_area", "peacekeeping_zone", "corridor", "handover_area"})
NONE = "none"


@dataclass(frozen=True)
class Fact:
    """What the statistics know of one incident."""

    id: str
    day: str
    area: str
    category: str
    corroboration: str
    finding: str
    attribution: str
    violation: bool


def area_of(mission: Mission, zones: Iterable[str]) -> str:
    """The most specific area zone among ``zones`` (ids), or ``none``."""
    by_id = {z.id: z for z in mission.zones}
    areas = [by_id[z] for z in zones if z in by_id and by_id[z].kind in AREA_KINDS]
    if not areas:
        return NONE
    return min(areas, key=lambda z: (z.geometry.area, z.id)).id


def facts(
    engine: Engine,
    mission: Mission,
    since: datetime | None,
    until: datetime | None,
    scope: Scope = EVERYTHING,
) -> list[Fact]:
    """One fact per incident that starts in [since, until)."""
    tz = ZoneInfo(mission.config.timezone)
    found = []
    for row in incident_rows(engine, mission, Selection(since=since, until=until), "en", scope):
        if since is not None and row["started_at"] < since:
            continue  # overlapping the window, but started before it: counted in its own day
        finding = row["finding"] or NONE
        found.append(
            Fact(
                id=row["id"],
                day=row["started_at"].astimezone(tz).date().isoformat(),
                area=area_of(mission, (row["zones"] or "").split(",")),
                category=row["category"],
                corroboration=row["corroboration"],
                finding=finding,
                attribution=(row["attribution"] or NONE) if finding == "finding" else NONE,
                violation=bool(row["rules"]),
            )
        )
    return found


def name_of(mission: Mission, dimension: str, key: str, lang: str) -> str:
    """What a key of a dimension is called in ``lang``."""
    with language(lang):
        if key == NONE:
            return {
                "area": _("outside the mapped areas"),
                "finding": _("no joint finding yet"),
                "attribution": _("not attributed jointly"),
            }.get(dimension, key)
        if dimension == "area":
            zone = next((z for z in mission.zones if z.id == key), None)
            return (zone.names.get(lang) or zone.names.get("en") or key) if zone else key
        if dimension == "category":
            return label("category", key)
        if dimension == "corroboration":
            return label("corroboration", key)
        if dimension == "finding":
            return label("incident_status", key)
        if dimension == "attribution":
            if key == "not_attributed":
                return pgettext("attribution", "could not be attributed")
            party = next((p for p in mission.config.parties if p.id == key), None)
            return (party.names.get(lang) or key) if party else key
        return key


def table(
    mission: Mission, found: list[Fact], by: str, lang: str, violations_only: bool = False
) -> list[dict[str, Any]]:
    """Rows ``{"key", "label", "incidents", "violations"}`` of one dimension, by key."""
    if by not in DIMENSIONS:
        raise ValueError(by)
    chosen = [f for f in found if f.violation] if violations_only else found
    counts = Counter(getattr(f, by) for f in chosen)
    violations = Counter(getattr(f, by) for f in chosen if f.violation)
    return [
        {
            "key": key,
            "label": name_of(mission, by, key, lang),
            "incidents": counts[key],
            "violations": violations[key],
        }
        for key in sorted(counts)
    ]


def cross(mission: Mission, found: list[Fact], lang: str) -> dict[str, Any]:
    """Violations per area and category: ``{"categories": [...], "rows": [{"area", "label",
    "counts": {category: n}, "total"}]}`` (the daily report's summary table)."""
    chosen = [f for f in found if f.violation]
    categories = sorted({f.category for f in chosen})
    rows = []
    for area in sorted({f.area for f in chosen}):
        counts = Counter(f.category for f in chosen if f.area == area)
        rows.append(
            {
                "area": area,
                "label": name_of(mission, "area", area, lang),
                "counts": {c: counts[c] for c in categories},
                "total": sum(counts.values()),
            }
        )
    return {
        "categories": [
            {"key": c, "label": name_of(mission, "category", c, lang)} for c in categories
        ],
        "rows": rows,
    }


def chart_png(rows: list[dict[str, Any]], title: str, count: str = "incidents") -> bytes:
    """A horizontal bar chart of one table (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    height = 1.2 + 0.35 * max(len(rows), 1)
    figure, axes = plt.subplots(figsize=(7.0, height), dpi=110)
    try:
        labels = [r["label"] for r in rows][::-1]
        values = [r[count] for r in rows][::-1]
        axes.barh(labels, values, color="#2c5a7a")
        axes.set_title(title, fontsize=11)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        for spine in ("top", "right"):
            axes.spines[spine].set_visible(False)
        return png_of(figure)
    finally:
        plt.close(figure)


def png_of(figure: Any) -> bytes:
    """A drawn matplotlib figure as PNG bytes, laid out tight."""
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


__all__ = [
    "DIMENSIONS",
    "Fact",
    "area_of",
    "chart_png",
    "cross",
    "facts",
    "name_of",
    "png_of",
    "table",
]

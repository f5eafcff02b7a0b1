"""The daily report, in the manner of the OSCE SMM's: a fixed cut-off, a summary, each incident
located and attributed to how it was seen, restrictions and interference listed, a map and
charts; HTML and PDF in each working language.

:func:`render` is the one function that makes a report for a language (the direct lines send
it too); :mod:`ceasefire.reports.signing` has both heads sign it and logs its hash.

The report covers the 24 hours up to the mission's ``[reports] daily_cutoff`` (mission time)
of its date. Blindness: an incident shows its joint finding or the recorded disagreement (both
exist only once every contingent has assessed), else "not yet jointly assessed"; the reactions
of an incident are listed only once :func:`ceasefire.workflow.blindness.is_blind` no longer
holds for it, since a reaction proposed earlier could reveal one side's view.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_date, format_datetime
from sqlalchemy import Engine, select

from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _, language, ngettext, pgettext
from ceasefire.labels import label
from ceasefire.mission.model import Mission
from ceasefire.reports import stats
from ceasefire.reports.rows import Selection, incident_rows, observation_rows
from ceasefire.reports.scope import EVERYTHING, Scope
from ceasefire.workflow import blindness
from ceasefire.workflow.tables import decisions, findings

FORMATS = ("html", "pdf")
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
REACTED = ("approved", "taken", "confirmed", "escalated")
LISTED = ("movement_restriction", "monitoring_interference")


@dataclass(frozen=True)
class Period:
    day: date
    start: datetime
    end: datetime
    """UTC; the report covers [start, end)."""


def period_of(mission: Mission, day: date) -> Period:
    """The 24 hours up to the cut-off of ``day`` (mission time); refused before the ceasefire."""
    tz = ZoneInfo(mission.config.timezone)
    hours, minutes = (int(p) for p in mission.config.reports.daily_cutoff.split(":"))
    end = datetime.combine(day, time(hours, minutes), tz).astimezone(UTC)
    start = end - timedelta(days=1)
    ceasefire = mission.config.period.start.astimezone(UTC)
    if end <= ceasefire:
        raise InputError(
            Problem(
                file="report",
                field="--date",
                record=day.isoformat(),
                reason=_("the ceasefire began on {start}: there is no report before it").format(
                    start=ceasefire.astimezone(tz).date().isoformat()
                ),
            )
        )
    return Period(day, max(start, ceasefire), end)


def _when(mission: Mission, moment: datetime, lang: str) -> str:
    tz = ZoneInfo(mission.config.timezone)
    local = format_datetime(moment, "d MMM y, HH:mm", tzinfo=tz, locale=lang)
    utc = format_datetime(moment, "HH:mm", tzinfo=UTC, locale=lang)
    return f"{local} ({utc} UTC)"


def _party(mission: Mission, party: str | None, lang: str) -> str:
    if party is None:
        return ""
    if party == "not_attributed":
        return pgettext("attribution", "could not be attributed")
    for p in mission.config.parties:
        if p.id == party:
            return p.names.get(lang) or p.id
    return party


def _finding(mission: Mission, record: dict[str, Any] | None, lang: str) -> dict[str, Any]:
    if record is None:
        return {"state": "none", "text": _("not yet jointly assessed"), "views": []}
    clauses = ", ".join(record.get("clauses") or [])
    if record["outcome"] == "finding":
        text = label("violation", record["violation"])
        if clauses:
            text += " (" + _("clauses {ids}").format(ids=clauses) + ")"
        if record["violation"] == "yes":
            text += "; " + _("attribution: {party}").format(
                party=_party(mission, record["attribution"], lang)
            )
        return {"state": "finding", "text": text, "views": []}
    views = []
    for contingent in mission.contingents_for(lang):
        view = record.get("views", {}).get(contingent.id)
        if view is None:
            continue
        said = label("violation", view["violation"])
        if view["violation"] == "yes":
            said += ", " + _party(mission, view["attribution"], lang)
        views.append(f"{contingent.names.get(lang, contingent.id)}: {said}")
    return {"state": "disputed", "text": _("recorded disagreement"), "views": views}


def _joint(
    engine: Engine, mission: Mission, ids: list[str]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The latest joint result of each incident, and the reactions taken on each (only where
    the library's blindness rule no longer hides the contingents' views)."""
    results: dict[str, Any] = {}
    reactions: dict[str, list[str]] = {}
    if not ids:
        return results, reactions
    with engine.connect() as db:
        for incident_id, record in db.execute(
            select(findings.c.incident_id, findings.c.record)
            .where(findings.c.incident_id.in_(ids))
            .order_by(findings.c.incident_id, findings.c.version)
        ):
            results[incident_id] = json.loads(record)
        for incident_id, reaction in db.execute(
            select(decisions.c.incident_id, decisions.c.reaction)
            .where(decisions.c.incident_id.in_(ids), decisions.c.state.in_(REACTED))
            .order_by(decisions.c.proposed_at)
        ):
            if not blindness.is_blind(db, mission, incident_id):
                reactions.setdefault(incident_id, []).append(label("reaction", reaction))
    return results, reactions


def _observed(engine: Engine, mission: Mission, period: Period, scope: Scope, lang: str) -> Any:
    """The period's observations by incident, and those listed on their own."""
    by_incident: dict[str, list[dict[str, Any]]] = {}
    listed = []
    window = Selection(since=period.start, until=period.end)
    for row in observation_rows(engine, mission, window, lang, scope):
        if row["incident_id"]:
            by_incident.setdefault(row["incident_id"], []).append(row)
        if row["category"] in LISTED:
            listed.append(row)
    return by_incident, listed


def _how(mission: Mission, rows: list[dict[str, Any]], lang: str) -> str:
    """ "Orlan-10 (drone, daylight camera), Russian contingent; ...", in the locale's order."""
    parts = []
    for contingent in mission.contingents_for(lang):
        mine = [r for r in rows if r["contingent"] == contingent.id]
        if not mine:
            continue
        platforms = sorted({r["platform_type"] for r in mine})
        sensed = sorted({label("sensed_by", r["sensed_by"]) for r in mine})
        parts.append(
            f"{contingent.names.get(lang, contingent.id)}: "
            f"{', '.join(platforms)} ({', '.join(sensed)})"
        )
    return "; ".join(parts)


def _what(rows: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["category"]] = max(counts.get(r["category"], 0), r["count"])
    return ", ".join(f"{label('category', c)} ({n})" for c, n in sorted(counts.items()))


def _listed_line(mission: Mission, row: dict[str, Any], lang: str) -> dict[str, Any]:
    qualifiers = json.loads(row["qualifiers"] or "{}")
    details = ", ".join(
        f"{k.replace('_', ' ')}: {v}" for k, v in sorted(qualifiers.items()) if v not in ("", None)
    )
    contingent = next(
        (c.names.get(lang, c.id) for c in mission.config.contingents if c.id == row["contingent"]),
        row["contingent"],
    )
    return {
        "when": _when(mission, row["observed_at"], lang),
        "what": label("category", row["category"]),
        "where": row["phrase"] or "",
        "who": contingent,
        "details": details,
        "remarks": row["remarks"] or "",
    }


def content(
    engine: Engine, mission: Mission, day: date, lang: str, scope: Scope = EVERYTHING
) -> dict[str, Any]:
    """Everything the report says, in ``lang`` (no markup)."""
    period = period_of(mission, day)
    with language(lang):
        found = stats.facts(engine, mission, period.start, period.end, scope)
        before = stats.facts(engine, mission, period.start - timedelta(days=1), period.start, scope)
        since = stats.facts(engine, mission, mission.config.period.start, period.end, scope)
        violations = sum(f.violation for f in found)
        previous = sum(f.violation for f in before)
        window = Selection(since=period.start, until=period.end)
        items = [
            r
            for r in incident_rows(engine, mission, window, lang, scope)
            if r["started_at"] >= period.start
        ]
        joint, reactions = _joint(engine, mission, [r["id"] for r in items])
        observed, listed = _observed(engine, mission, period, scope, lang)
        entries = []
        for number, r in enumerate(items, start=1):
            members = observed.get(r["id"], [])
            entries.append(
                {
                    "number": number,
                    "id": r["id"],
                    "when": _when(mission, r["started_at"], lang),
                    "where": r["phrase"] or f"{r['lat']:.4f}, {r['lon']:.4f}",
                    "controlled_by": _party(mission, r["controlled_by"], lang)
                    or _("no party's control"),
                    "what": _what(members) or label("category", r["category"]),
                    "how": _how(mission, members, lang),
                    "corroboration": label("corroboration", r["corroboration"]),
                    "violation": bool(r["rules"]),
                    "finding": _finding(mission, joint.get(r["id"]), lang),
                    "reactions": reactions.get(r["id"], []),
                    "lon": r["lon"],
                    "lat": r["lat"],
                }
            )
        change = violations - previous
        by_category = stats.table(mission, found, "category", lang)
        return {
            "lang": lang,
            "center": mission.name(lang),
            "contingents": [c.names.get(lang, c.id) for c in mission.contingents_for(lang)],
            "heads": [c.head.get(lang, c.id) for c in mission.contingents_for(lang)],
            "title": _("Daily report"),
            "date": format_date(day, "long", locale=lang),
            "day": day.isoformat(),
            "period": _("from {start} to {end}").format(
                start=_when(mission, period.start, lang), end=_when(mission, period.end, lang)
            ),
            "summary": {
                "violations": violations,
                "incidents": len(found),
                "previous": previous,
                "change": f"{change:+d}",
                "since_ceasefire": sum(f.violation for f in since),
                "sentence": ngettext(
                    "The center recorded {n} ceasefire violation in this period",
                    "The center recorded {n} ceasefire violations in this period",
                    violations,
                ).format(n=violations)
                + " "
                + _("({change} against the previous period; {total} since the ceasefire).").format(
                    change=f"{change:+d}", total=sum(f.violation for f in since)
                ),
            },
            "cross": stats.cross(mission, found, lang),
            "by_category": by_category,
            "incidents": entries,
            "listed": [_listed_line(mission, row, lang) for row in listed],
            "chart": _data_uri(stats.chart_png(by_category, _("Incidents by category")))
            if by_category
            else None,
            "map": _data_uri(map_png(mission, entries, period.end, lang)),
            "disclaimer": mission.disclaimer(lang),
            "generated": _when(mission, datetime.now(UTC), lang),
        }


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def map_png(mission: Mission, entries: list[dict[str, Any]], at: datetime, lang: str) -> bytes:
    """The day's incidents, numbered, over the zones valid at ``at`` (from the mission's own
    data: no tiles, no network)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(7.0, 5.6), dpi=110)
    try:
        tints = ("#f2d7b6", "#cfe3f0", "#e0d7f0", "#d7f0dc")
        colours = {p.id: tints[n % 4] for n, p in enumerate(mission.config.parties)}
        for zone in mission.zones:
            if not zone.valid_at(at):
                continue
            geometry = zone.geometry
            parts = getattr(geometry, "geoms", [geometry])
            for part in parts:
                if part.geom_type == "Polygon":
                    x, y = part.exterior.xy
                    if zone.kind == "controlled_area":
                        axes.fill(x, y, color=colours.get(zone.party or "", "#eeeeee"), lw=0)
                    elif zone.kind == "peacekeeping_zone":
                        axes.plot(x, y, color="#3a7d44", lw=1.0, ls="--")
                elif part.geom_type == "LineString":
                    x, y = part.xy
                    width = 1.6 if zone.kind == "line_of_contact" else 0.8
                    colour = "#b03a2e" if zone.kind == "line_of_contact" else "#7f8c8d"
                    axes.plot(x, y, color=colour, lw=width)
        min_lon, min_lat, max_lon, max_lat = mission.config.area
        big = sorted(mission.settlements, key=lambda s: -(s.population or 0))[:12]
        for place in big:
            axes.plot(place.lon, place.lat, "s", color="#555555", ms=2.5)
            axes.annotate(
                mission.settlement_name(place, lang),
                (place.lon, place.lat),
                fontsize=6,
                color="#333333",
                xytext=(3, 2),
                textcoords="offset points",
            )
        for entry in entries:
            colour = "#c0392b" if entry["violation"] else "#34495e"
            axes.plot(entry["lon"], entry["lat"], "o", color=colour, ms=6, mec="white", mew=0.8)
            axes.annotate(
                str(entry["number"]),
                (entry["lon"], entry["lat"]),
                fontsize=7,
                fontweight="bold",
                xytext=(4, -3),
                textcoords="offset points",
            )
        axes.set_xlim(min_lon, max_lon)
        axes.set_ylim(min_lat, max_lat)
        axes.set_aspect(1 / 0.766)  # a degree of longitude is cos(40°) of one of latitude here
        axes.tick_params(labelsize=6)
        return stats.png_of(figure)
    finally:
        plt.close(figure)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ceasefire.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_, ngettext=ngettext, pgettext=pgettext, newstyle=True
    )
    return env


def to_html(report: dict[str, Any]) -> str:
    with language(report["lang"]):
        return _environment().get_template("daily.html.j2").render(r=report)


def to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def render(
    engine: Engine,
    mission: Mission,
    day: date,
    lang: str,
    fmt: str = "pdf",
    scope: Scope = EVERYTHING,
) -> bytes:
    """The daily report of ``day`` in ``lang`` as HTML or PDF bytes (unsigned)."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    html = to_html(content(engine, mission, day, lang, scope))
    return html.encode("utf-8") if fmt == "html" else to_pdf(html)


__all__ = ["FORMATS", "MEDIA_TYPES", "Period", "content", "map_png", "period_of", "render"]

"""`ceasefire incidents`, `ceasefire incident ID`, `ceasefire correlate`."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from ceasefire.cli import common
from ceasefire.cli.common import (
    DB_OPTION,
    LANG_OPTION,
    MISSION_OPTION,
    Format,
    console,
    print_json,
)
from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _, current_language, language, ngettext
from ceasefire.incidents.coverage import coverage as line_coverage
from ceasefire.incidents.launches import possible_impacts, possible_launches
from ceasefire.incidents.queries import (
    IncidentFilter,
    explain,
    get_incident,
    list_incidents,
    to_geojson,
)
from ceasefire.labels import label
from ceasefire.observations.record import format_time
from ceasefire.sim.score import ambiguity, baselines, read_scope, read_truth
from ceasefire.sim.score import score as score_incidents
from ceasefire.timeutil import parse_time, shown, shown_text


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    geojson = "geojson"


def incidents(
    since: str = common.SINCE_OPTION,
    until: str = common.UNTIL_OPTION,
    status: str = typer.Option(None, "--status", help="open, assessing, disputed, ..."),
    category: str = typer.Option(None, "--category", help="An observation category."),
    limit: int = typer.Option(None, "--limit", min=1),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format"),
    lang: str = LANG_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """The incidents: observations of one event fused, with rules and corroboration."""
    center = common.center(db=db, mission=mission)
    m = center.mission
    lang = lang or current_language()
    tz = m.config.timezone
    start, end = common.period(since, until, tz)
    where = IncidentFilter(
        since=start,
        until=end,
        status=status,
        category=category,
        limit=limit,
    )
    found = list_incidents(center.engine, m, where, lang)
    if fmt is ListFormat.json:
        print_json(found)
        return
    if fmt is ListFormat.geojson:
        print_json(to_geojson(found))
        return
    with language(lang):
        table = Table()
        table.add_column(_("incident"), no_wrap=True)
        for column in (_("start"), _("category"), _("obs."), _("seen by"), _("rules"), _("where")):
            table.add_column(column)
        for r in found:
            table.add_row(
                r["id"],
                shown_text(r["started_at"], tz),
                label("category", r["category"]),
                str(len(r["observation_ids"])),
                label("corroboration", r["corroboration"]),
                ", ".join(r["rules"]),
                r["phrase"] or "",
            )
        console.print(table)
        console.print(ngettext("{n} incident", "{n} incidents", len(found)).format(n=len(found)))


def incident(
    incident_id: str = typer.Argument(..., help="The incident id, e.g. INC-3dcd3a1ea278."),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format"),
    lang: str = LANG_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """One incident with its observations and why each rule applies."""
    center = common.center(db=db, mission=mission)
    m = center.mission
    lang = lang or current_language()
    found = get_incident(center.engine, m, incident_id, lang)
    if found is None:
        raise InputError(
            Problem(
                file="incident",
                field="ID",
                reason=_("no such incident: {id}").format(id=incident_id),
            )
        )
    explain(m, found, lang)
    found["possible_launches"] = possible_launches(center.engine, found, lang)
    found["possible_impacts"] = possible_impacts(center.engine, found, lang)
    if fmt is not ListFormat.table:
        print_json(to_geojson([found]) if fmt is ListFormat.geojson else found)
        return
    tz = m.config.timezone
    with language(lang):
        category = label("category", found["category"])
        console.print(f"[bold]{found['id']}[/bold]  {category}  {found['phrase']}")
        n = len(found["observations"])
        console.print(
            _("{start} to {end}; {observations}; {corroboration}; status: {status}").format(
                start=shown_text(found["started_at"], tz),
                end=shown_text(found["ended_at"], tz),
                observations=ngettext("{n} observation", "{n} observations", n).format(n=n),
                corroboration=label("corroboration", found["corroboration"]),
                status=label("incident_status", found["status"]),
            )
        )
        for record in found["observations"]:
            console.print(
                f"  {record['contingent']}/{record['id']}  "
                f"{shown_text(record['observed_at'], tz)}  "
                f"{record['platform']['id']}  {label('category', record['category'])}"
            )
            if "joined" in record:
                console.print("    " + _("joined") + f" {record['joined']['sentence']}")
            for sentence in record["why"]:
                console.print(f"    → {sentence}")
        if found["possible_launches"]:
            console.print(
                _("Possible launches (consistent in range and time: to verify, not a finding):")
            )
            for launch in found["possible_launches"]:
                console.print(f"  {launch['sentence']}")
                for reason in launch["why"]:
                    console.print(f"    → {reason}")
        if found["possible_impacts"]:
            console.print(_("Possible impacts of this launch (to verify, not a finding):"))
            for impact in found["possible_impacts"]:
                console.print(f"  {impact['sentence']}")


def correlate(
    since: str = common.SINCE_OPTION,
    until: str = common.UNTIL_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Correlate a period again (after a correction of geometry or thresholds)."""
    center = common.center(db=db, mission=mission)
    tz = center.mission.config.timezone
    n = center.correlate(*common.period(since, until, tz))
    console.print(
        ngettext("{n} incident in the period", "{n} incidents in the period", n).format(n=n)
    )


def coverage(
    since: str = typer.Option(..., "--since", help="ISO 8601; without offset: mission time."),
    until: str = typer.Option(None, "--until", help="ISO 8601 (default: 24 h after --since)."),
    gap_hours: float = typer.Option(6.0, "--gap-hours", min=0.1, help="Report gaps longer."),
    fmt: Format = typer.Option(Format.text, "--format"),
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Which stretches of the line of contact each contingent's drones watched."""
    center = common.center(db=db, mission=mission)
    m = center.mission
    tz = m.config.timezone
    start = parse_time(since, tz, field="--since")
    end = parse_time(until, tz, field="--until") if until else start + timedelta(hours=24)
    found = line_coverage(center.engine, m, start, end, timedelta(hours=gap_hours))
    if fmt is Format.json:
        print_json(found)
        return
    console.print(
        _("Line of contact {km} km, {since} to {until}").format(
            km=found["line_km"], since=shown(start, tz), until=shown(end, tz)
        )
    )
    for contingent, figures in found["contingents"].items():
        console.print(
            _("  {c}: {share:.0%} of the line watched; {n} stretches unwatched over {h} h").format(
                c=contingent,
                share=figures["covered_share"],
                n=len(figures["gaps"]),
                h=found["gap_threshold_h"],
            )
        )
    console.print(
        _("  any contingent: {any:.0%}; every contingent: {all:.0%}").format(
            any=found["covered_share_any"], all=found["covered_share_all"]
        )
    )
    for gap in found["gaps"]:
        console.print(
            _("  unwatched: km {a} to {b} ({length} km), longest gap {h} h").format(
                a=gap["from_km"], b=gap["to_km"], length=gap["length_km"], h=gap["longest_gap_h"]
            )
        )


def score(
    truth: Path = typer.Option(..., "--truth", exists=True, dir_okay=False, help="truth.jsonl"),
    db: str = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Score the simulation's own incidents (its period, area and files) against its truth."""
    center = common.center(db=db)
    engine, events, scope = center.engine, read_truth(truth), read_scope(truth)
    result = score_incidents(engine, events, scope)
    result["baselines"] = baselines(engine, events, scope)
    result["both_ambiguous"] = ambiguity(engine, events, scope, center.mission, center.enricher)
    if as_json:
        print_json(result)
        return
    console.print(
        _(
            "{events} true events, {observed} seen by a sensor; {incidents} incidents: "
            "precision {p:.3f}, recall {r:.3f}, F1 {f1:.3f}"
        ).format(
            events=result["events"],
            observed=result["events_observed"],
            incidents=result["incidents"],
            p=result["precision"],
            r=result["recall"],
            f1=result["f1"],
        )
    )
    naive = result["baselines"]
    console.print(
        _(
            "naive baselines on the same observations: one incident per observation F1 {one:.3f} "
            "({n1} incidents); single linkage as before F1 {single:.3f} ({n2} incidents)"
        ).format(
            one=naive["one_incident_per_observation"]["f1"],
            n1=naive["one_incident_per_observation"]["incidents"],
            single=naive["single_linkage_before"]["f1"],
            n2=naive["single_linkage_before"]["incidents"],
        )
    )
    counts = result["counts"]
    console.print(
        _(
            "of {listed} incidents `ceasefire incidents` lists, not scored: {crossings} line "
            "crossings, {complaints} of a complaint alone, {other} of other data, {outside} "
            "outside the simulation's period or area"
        ).format(
            listed=counts.get("listed", 0),
            crossings=counts.get("line_crossings", 0),
            complaints=counts.get("party_complaint_only", 0),
            other=counts.get("other_data", 0),
            outside=counts.get("outside_period_or_area", 0),
        )
    )
    errors, delays, both = result["location_error_m"], result["delay_s"], result["both_contingents"]
    console.print(
        _(
            "location error p50 {e50} m, p90 {e90} m; delay from the event to its first "
            "observation p50 {d50} s, p90 {d90} s; side of the line right {a}"
        ).format(
            e50=errors["p50"],
            e90=errors["p90"],
            d50=delays["p50"],
            d90=delays["p90"],
            a=result["side_of_line_accuracy"],
        )
    )
    console.print(
        _(
            "seen by both contingents: {n} events, {tagged} tagged both ({share}); both "
            "within p50 {c50} s of the first observation"
        ).format(
            n=both["events"],
            tagged=both["tagged_both"],
            share=both["share"],
            c50=both["corroboration_delay_s"]["p50"],
        )
    )
    bound = result["both_ambiguous"]
    console.print(
        _(
            "  {own} of them with their own observations of both; {beyond} beyond every gate, "
            "{ambiguous} ambiguous within it ({fits} fit their own best): at most {by_fit} "
            "choosing the better fit, {by_chance} choosing at random"
        ).format(
            own=both["tagged_with_its_own"],
            beyond=bound["beyond_gate"],
            ambiguous=bound["ambiguous"],
            fits=bound["own_fits_best"],
            by_fit=bound["bound_by_fit"],
            by_chance=bound["bound_by_chance"],
        )
    )
    launches = result["launch_relations"]
    best, listed = launches["best"], launches["listed"]
    console.print(
        _(
            "impacts related to launches: {pairs} true pairs seen; the first launch listed "
            "precision {p} recall {r}; any listed precision {lp} recall {lr}; an impact whose "
            "launch was seen lists it first {share}"
        ).format(
            pairs=launches["true_pairs_seen"],
            p=best["precision"],
            r=best["recall"],
            lp=listed["precision"],
            lr=listed["recall"],
            share=launches["best_is_its_launch"],
        )
    )
    table = Table()
    for column in (_("category"), "P", "R", "F1", "TP", "FP"):
        table.add_column(column)
    for category, f in result["per_category"].items():
        table.add_row(
            label("category", category),
            f"{f['precision']:.2f}",
            f"{f['recall']:.2f}",
            f"{f['f1']:.2f}",
            str(f["true_positives"]),
            str(f["false_positives"]),
        )
    console.print(table)
    table = Table()
    for column in (_("corroboration"), _("incidents"), "TP", "FP", "P"):
        table.add_column(column)
    for kind, f in result["per_corroboration"].items():
        table.add_row(
            kind,
            str(f["incidents"]),
            str(f["true_positives"]),
            str(f["false_positives"]),
            f"{f['precision']:.2f}" if f["precision"] is not None else "-",
        )
    console.print(table)


def quarantine(
    fmt: Format = typer.Option(Format.text, "--format"),
    limit: int = typer.Option(1000, "--limit", min=1, help="At most this many, newest first."),
    db: str = DB_OPTION,
) -> None:
    """Observations correlation failed on and set aside, with the reason (none: all is well)."""
    found = common.center(db=db).quarantined(limit)
    for entry in found:
        entry["observed_at"] = format_time(entry["observed_at"])
        entry["quarantined_at"] = format_time(entry["quarantined_at"])
    if fmt is Format.json:
        print_json({"quarantined": found})
        return
    if not found:
        console.print(_("No observation is quarantined."))
        return
    for entry in found:
        console.print(
            f"{entry['contingent']}/{entry['id']}  {entry['observed_at']}  {entry['category']}  "
            f"{entry['stage']}  {entry['quarantined_at']}"
        )
        console.print(f"  → {entry['reason']}", markup=False)

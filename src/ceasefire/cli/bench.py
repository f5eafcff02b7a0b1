"""`ceasefire bench NAME`: our speed as a ratio against a named peer in the same run."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from ceasefire.bench.correlate import run as run_correlate
from ceasefire.bench.e2e import RATES
from ceasefire.bench.enrich import run as run_enrich
from ceasefire.cli.common import MISSION_OPTION, console, console_err, print_json
from ceasefire.i18n import _
from ceasefire.mission import load_mission

app = typer.Typer(help="Benchmarks, each against a peer in the same run.", no_args_is_help=True)


def _versus(result: dict[str, Any]) -> dict[str, Any]:
    """The figures a bench's line names beside its own: our rate, the peer's name and rate,
    the ratio, and the peak RSS."""
    return {
        "rate": result["rate"],
        "baseline": result["baseline"],
        "base": result["baseline_rate"],
        "ratio": result["ratio"],
        "rss": result["peak_rss_mb"],
    }


@app.command()
def enrich(
    points: int = typer.Option(1_000_000, "--points", min=1000, help="Random points to enrich."),
    baseline_points: int = typer.Option(
        None, "--baseline-points", help="Points for the GeoPandas run (default: the same)."
    ),
    seed: int = typer.Option(1, "--seed"),
    mission: str = MISSION_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Batch enrichment against the obvious GeoPandas way (sjoin + distance + sjoin_nearest)."""
    result = run_enrich(
        load_mission(mission), points, baseline_points or points, seed, progress=console_err
    )
    if as_json:
        print_json(result)
        return
    console.print(
        _(
            "enrich: {rate:,.0f} points/s; {baseline}: {base:,.0f} points/s; ratio {ratio:.1f}x; "
            "peak RSS {rss:.0f} MB; answers agree on {agree} of {checked} sampled points"
        ).format(
            **_versus(result),
            agree=result["agreement"]["agree"],
            checked=result["agreement"]["checked"],
        )
    )


@app.command("correlate")
def correlate_bench(
    observations: int = typer.Option(1_000_000, "--observations", min=100),
    sample: int = typer.Option(
        1_000_000,
        "--baseline-sample",
        min=100,
        help="Observations for DBSCAN: the first ones in time of the same data (default: all).",
    ),
    seed: int = typer.Option(1, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Correlation of a year of observations against scikit-learn's DBSCAN on the same data."""
    with console_err.status("correlating"):
        result = run_correlate(observations, sample, seed)
    if as_json:
        print_json(result)
        return
    console.print(
        _(
            "correlate: {n:,} observations in {s:.1f} s ({rate:,.0f}/s) into {inc:,} incidents; "
            "{baseline}: {base:,.0f}/s; ratio {ratio:.1f}x; peak RSS {rss:.0f} MB"
        ).format(
            n=result["observations"],
            s=result["seconds"],
            inc=result["incidents"],
            **_versus(result),
        )
    )


@app.command()
def ledger(
    records: int = typer.Option(200_000, "--records", min=100, help="Records to append."),
    batch: int = typer.Option(10_000, "--batch", min=1, help="Records per transaction."),
    directory: Path = typer.Option(
        None, "--dir", help="Where the SQLite files go (default $TMPDIR); they are removed."
    ),
    load_seconds: float = typer.Option(
        3.0, "--load-seconds", min=0.0, help="How long checkpoints are made under load."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Durable batched ledger appends, proofs and cosigned checkpoints, against pymerkle."""
    from ceasefire.bench.ledger import run as run_ledger  # pymerkle loads only when asked

    result = run_ledger(records, batch, directory, console_err, load_seconds)
    if as_json:
        print_json(result)
        return
    console.print(
        _(
            "ledger: {rate:,.0f} records/s appended durably in batches of {batch:,}; "
            "{baseline}: {base:,.0f} records/s; ratio {ratio:.2f}x; roots agree: {agree}; "
            "inclusion proof p50 {p50:.1f} µs, p99 {p99:.1f} µs (pymerkle p50 {bp50:,.0f} µs); "
            "checkpoint cosigned by every contingent under load: p50 {cp50:.0f} ms, "
            "max {cpmax:.0f} ms ({n} checkpoints, {load:,.0f} records/s appended meanwhile); "
            "peak RSS {rss:.0f} MB"
        ).format(
            **_versus(result),
            batch=result["batch"],
            agree=result["roots_agree"],
            p50=result["proof_p50_us"],
            p99=result["proof_p99_us"],
            bp50=result["baseline_proof_p50_us"],
            cp50=result["checkpoint_p50_ms"],
            cpmax=result["checkpoint_max_ms"],
            n=result["checkpoints"],
            load=result["append_rate_under_load"],
        ),
        soft_wrap=True,
    )


@app.command("ingest")
def ingest_bench(
    records: int = typer.Option(20_000, "--records", min=100, help="Records for each run."),
    batch: int = typer.Option(1000, "--batch", min=1, help="Records per HTTP request."),
    seed: int = typer.Option(1, "--seed"),
    rounds: int = typer.Option(
        3, "--rounds", min=1, help="Postings of the records to each server; the best counts."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """HTTP batch intake and CoT over TCP, end to end, against a plain FastAPI service and
    taky."""
    from ceasefire.bench.ingest import run as run_ingest

    with console_err.status("ingesting"):
        result = run_ingest(records, batch, seed, rounds)
    if as_json:
        print_json(result)
        return
    console.print(
        _(
            "ingest: {rate:,.0f} observations/s over HTTP; {baseline}: {base:,.0f}/s; "
            "ratio {ratio:.2f}x; validation and durable write alone: {floor:,.0f}/s; "
            "CoT over TCP, stored: {cot:,.0f} events/s; {cot_peer}: {cot_base:,.0f}/s; ratio "
            "{cot_ratio:.2f}x; incidents caught up {lag:.1f} s after the last record; "
            "peak RSS {rss:.0f} MB"
        ).format(
            cot_peer=result["cot_tcp_baseline"],
            cot_base=result["cot_tcp_baseline_rate"],
            cot_ratio=result["cot_tcp_ratio"],
            floor=result["floor_rate"],
            lag=result["correlation_lag_s"],
            cot=result["cot_tcp_rate"],
            **_versus(result),
        )
    )


@app.command("ogc")
def ogc_bench(
    observations: int = typer.Option(5_000_000, "--observations", min=100),
    page: int = typer.Option(1000, "--page", min=1, max=10_000, help="Items in the page."),
    depth: float = typer.Option(0.9, "--depth", min=0.0, max=1.0, help="Where the page starts."),
    rounds: int = typer.Option(20, "--rounds", min=1, help="Times each page is read."),
    postgres: str = typer.Option(
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "--postgres",
        help="A PostgreSQL server's admin URL: a throwaway database is made there ('' skips).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """A deep page of the OGC API's observations by keyset, against OFFSET paging."""
    from ceasefire.bench.reports import run_ogc

    result = run_ogc(observations, page, depth, rounds, postgres or None, progress=console_err)
    if as_json:
        print_json(result)
        return
    for engine in result["engines"]:
        console.print(
            _(
                "ogc ({engine}): a page of {page:,} at item {position:,} of {n:,}: keyset p50 "
                "{p50:.3f} s, p99 {p99:.3f} s; OFFSET p50 {bp50:.3f} s, p99 {bp99:.3f} s"
            ).format(
                engine=engine["engine"],
                page=result["page"],
                position=engine["position"],
                n=engine["observations"],
                p50=engine["p50_s"],
                p99=engine["p99_s"],
                bp50=engine["baseline_p50_s"],
                bp99=engine["baseline_p99_s"],
            )
        )


@app.command("export")
def export_bench(
    observations: int = typer.Option(5_000_000, "--observations", min=100),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Observations to GeoPackage and CSV, streamed, against GeoPandas to_file."""
    from ceasefire.bench.reports import run_export

    result = run_export(observations, progress=console_err)
    if as_json:
        print_json(result)
        return
    for fmt, figures in result["formats"].items():
        console.print(
            _(
                "export {format}: {rate:,.0f} observations/s, peak RSS {rss:.0f} MB; GeoPandas "
                "{base:,.0f}/s, peak RSS {brss:.0f} MB"
            ).format(
                format=fmt,
                rate=figures["rate"],
                rss=figures["peak_rss_mb"],
                base=figures["baseline_rate"],
                brss=figures["baseline_peak_rss_mb"],
            )
        )


@app.command("web")
def web_bench(
    incidents: int = typer.Option(10_000, "--incidents", min=100, help="Incidents on the map."),
    views: int = typer.Option(100, "--views", min=5, help="Map views to time."),
    loads: int = typer.Option(3, "--loads", min=1, help="Page loads to time the first render."),
    seed: int = typer.Option(1, "--seed"),
    mission: str = MISSION_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """The map in Chromium: first render of N incidents, and one map view's p50/p99 against
    paging the incidents API over the same window."""
    from ceasefire.web.bench import run as run_web

    result = run_web(load_mission(mission), incidents, views, loads, seed, console_err)
    if as_json:
        print_json(result)
        return
    console.print(
        _(
            "web: first map render of {n:,} incidents {first:,.0f} ms; a map view p50 {p50:,.0f} "
            "ms, p99 {p99:,.0f} ms; {baseline}: p50 {bp50:,.0f} ms; ratio {ratio:.1f}x; peak "
            "RSS {rss:.0f} MB"
        ).format(
            n=result["shown_on_first_render"],
            first=result["first_render_ms"],
            p50=result["map_view_p50_ms"],
            p99=result["map_view_p99_ms"],
            baseline=result["baseline"],
            bp50=result["baseline_p50_ms"],
            ratio=result["ratio"],
            rss=result["peak_rss_mb"],
        )
    )


@app.command("e2e")
def e2e(
    transports: str = typer.Option(
        "direct,http,nats",
        "--transports",
        help="Comma-separated: direct (the baseline), http, nats.",
    ),
    stores: str = typer.Option("sqlite,postgresql", "--stores", help="sqlite, postgresql."),
    rates: str = typer.Option(
        ",".join(str(r) for r in RATES), "--rates", help="Offered records/s, rising."
    ),
    seconds: float = typer.Option(5.0, "--seconds", min=1.0, help="Seconds at each rate."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Two nodes, the transport, the center, the ledger and the follower at rising rates: the
    highest rate sustained and the latencies to the commit and to the incident, beside the
    center's own HTTP intake."""
    from ceasefire.bench.e2e import run as run_e2e

    result = run_e2e(
        [t.strip() for t in transports.split(",") if t.strip()],
        [s.strip() for s in stores.split(",") if s.strip()],
        [float(r) for r in rates.split(",") if r.strip()],
        seconds,
        console_err,
    )
    if as_json:
        print_json(result)
        return
    for r in result["runs"]:
        console.print(
            _(
                "e2e {transport} on {store}: sustained {rate:,.0f} records/s; p99 to the "
                "incident {p99} s; CPU per record {cpu}"
            ).format(
                transport=r["transport"],
                store=r["store"],
                rate=r["sustained_rate"],
                p99="-"
                if r["incident_p99_s_at_sustained"] is None
                else f"{r['incident_p99_s_at_sustained']:.2f}",
                cpu=", ".join(f"{k} {v:,.0f} µs" for k, v in r["cpu_us_per_record"].items()),
            ),
            soft_wrap=True,
        )


class NoticesAt(StrEnum):
    """Where bench notify's deciding side writes a decision's notices."""

    after = "after"
    inline = "inline"


@app.command("notify")
def notify_bench(
    decisions: int = typer.Option(1000, "--decisions", min=1, help="Decisions to notify."),
    baseline_decisions: int = typer.Option(
        20, "--baseline-decisions", min=1, help="Decisions for the naive inline sender."
    ),
    slow: float = typer.Option(2.0, "--slow", min=0.1, help="Seconds the slow receiver takes."),
    db: str = typer.Option(None, "--db", help="Database URL (default: a scratch SQLite file)."),
    mission: str = MISSION_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    notices: NoticesAt = typer.Option(
        NoticesAt.inline,
        "--notices",
        help="Where our deciding side writes a decision's notices: inline (in the decision's "
        "transaction, in a savepoint, as the center does) or after (a transaction of their "
        "own once it committed, as the center did before).",
    ),
    deciders: int = typer.Option(
        None,
        "--deciders",
        min=1,
        help="Processes deciding at once, each with its own connection to the store, as the "
        "API's workers do (default: the machine's cores on PostgreSQL, 1 on SQLite; 1: one "
        "after another in the bench's process).",
    ),
) -> None:
    """Decisions to notices delivered over webhooks, one receiver slow or failing, against a
    naive sender posting each notice inline in the decision's request."""
    from ceasefire.bench.notify import run as run_notify

    result = run_notify(
        load_mission(mission),
        decisions,
        baseline_decisions,
        slow,
        db,
        say=lambda text: console_err.print(text),
        notices=notices.value,
        deciders=deciders,
    )
    if as_json:
        print_json(result)
        return
    for name, scenario in result["scenarios"].items():
        for who in ("ours", "baseline"):
            r = scenario.get(who)
            if r is None:  # the dispatcher alone has no baseline
                continue
            console.print(
                _(
                    "{scenario} {who}: {delivered}/{notices} delivered, {rate:,.0f} deliveries/s; "
                    "parties' latency p50 {p50} ms p99 {p99} ms; all p99 {all99} ms; "
                    "skew p50 {s50} ms p99 {s99} ms"
                ).format(
                    scenario=name,
                    who=who,
                    delivered=r["delivered"],
                    notices=r["notices"],
                    rate=r["rate"],
                    p50=r["party_latency_p50_ms"],
                    p99=r["party_latency_p99_ms"],
                    all99=r["latency_p99_ms"],
                    s50=r["skew_p50_ms"],
                    s99=r["skew_p99_ms"],
                )
            )

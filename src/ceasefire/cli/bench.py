"""`ceasefire bench NAME`: our speed as a ratio against a named peer in the same run."""

from __future__ import annotations

import typer

from ceasefire.bench.enrich import run as run_enrich
from ceasefire.cli.common import MISSION_OPTION, console, console_err, print_json
from ceasefire.i18n import _
from ceasefire.mission import load_mission

app = typer.Typer(help="Benchmarks, each against a peer in the same run.", no_args_is_help=True)


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
            rate=result["rate"],
            baseline=result["baseline"],
            base=result["baseline_rate"],
            ratio=result["ratio"],
            rss=result["peak_rss_mb"],
            agree=result["agreement"]["agree"],
            checked=result["agreement"]["checked"],
        )
    )

"""`bench ogc` and `bench export`: the reports' read paths against their peers, same rows.

Both fill a fresh store with the observations of ``tools/many_observations.py`` (four years of
both contingents over the area of the line), written straight into the observations table in
large batches: what is measured is reading them back, not the intake.

- ``bench ogc``: one page of 1,000 items deep in the collection (at 90 % of it), as the OGC API
  builds it (:func:`ceasefire.reports.ogc.items`: keyset on the store key), against OFFSET
  paging of the same query building the same features (what pygeoapi's SQL providers do), on
  SQLite and on PostgreSQL. Both must return the same items.
- ``bench export``: the observations to GeoPackage and to CSV with our streaming writers,
  against GeoPandas writing the same rows as a skilled user writes millions of them: a chunk
  at a time into a GeoDataFrame built column by column, appended through pyogrio with Arrow
  (``to_file(engine="pyogrio", use_arrow=True)``), and pandas' ``to_csv``; each run in a
  process of its own (its imports before the clock), so its peak RSS is its own.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from rich.console import Console
from rich.progress import Progress

from ceasefire import served
from ceasefire.bench.ingest import drone_record
from ceasefire.i18n import _
from ceasefire.mission import Mission, load_mission
from ceasefire.reports import ogc
from ceasefire.reports.export import feature, write_csv, write_ogr
from ceasefire.reports.rows import (
    OBSERVATION_COLUMNS,
    OBSERVATION_FIELDS,
    Selection,
    observation_row,
    observation_rows,
    places_of,
)
from ceasefire.reports.scope import EVERYTHING
from ceasefire.store import open_database
from ceasefire.store.bulk import insert_rows
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.store.schema import observations

START = datetime(2020, 11, 11, tzinfo=UTC)
SPAN_S = 4 * 365 * 86400
MOVEMENT = 2  # the index of the movement category in CATEGORIES
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def many_observations(n: int, seed: int = 3) -> Iterator[dict[str, Any]]:
    """The records of ``tools/many_observations.py`` (which writes these as JSON Lines)."""
    rng = random.Random(seed)
    for i in range(n):
        contingent = "RU" if i % 2 == 0 else "TR"
        index = MOVEMENT if rng.random() < 0.01 else rng.choice((0, 1, 3))
        when = START + timedelta(seconds=int(i / n * SPAN_S) + rng.randrange(600))
        yield drone_record(rng, f"{contingent}-Y{i:08d}", contingent, index, when)


def fill(engine: sa.Engine, mission: Mission, n: int, progress: Console | None = None) -> None:
    """``n`` observations straight into the table, 20,000 a transaction."""
    stored, _new = save_mission(engine, mission)
    key = mission_row(engine, stored)
    now = datetime.now(UTC)
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        with engine.begin() as db:
            insert_rows(db, observations, batch)
        batch.clear()

    with Progress(console=progress, disable=progress is None, transient=True) as bar:
        task = bar.add_task("filling the store", total=n)
        for record in many_observations(n):
            text = orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode()
            where = record["location"]
            batch.append(
                {
                    "contingent": record["contingent"],
                    "source_id": record["id"],
                    "digest": hashlib.sha256(text.encode()).hexdigest(),
                    "record": text,
                    "platform_id": record["platform"]["id"],
                    "platform_type": record["platform"]["type"],
                    "observed_at": datetime.fromisoformat(record["observed_at"]),
                    "lat": where["lat"],
                    "lon": where["lon"],
                    "ce_m": float(where["ce_m"]),
                    "category": record["category"],
                    "count": 1,
                    "count_approx": False,
                    "sensed_by": record["sensed_by"],
                    "received_at": now,
                    "source": "bench",
                    "mission": key,
                    "zones": "[]",
                }
            )
            if len(batch) >= 20_000:
                bar.advance(task, len(batch))
                flush()
        if batch:
            bar.advance(task, len(batch))
            flush()


def _fill_niced(url: str, n: int) -> None:
    os.nice(19)
    engine = open_database(url)
    try:
        fill(engine, load_mission("karabakh-2020"), n)
    finally:
        engine.dispose()


def _filled(url: str, n: int, progress: Console | None = None) -> None:
    """Fill the store at ``url`` in a process of its own at the lowest CPU priority: the
    filling (minutes for millions of rows) yields to whatever else runs on the machine, and
    the timings after it run at the bench's own priority (a page timed in a process at nice
    19 on a loaded machine measures the scheduler: rounds of 0.2 s to 290 s were seen)."""
    if progress is not None:
        progress.print(_("filling the store with {n:,} observations (at nice 19)").format(n=n))
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        pool.apply(_fill_niced, (url, n))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(
    call: Callable[[], list[str]], rounds: int
) -> tuple[list[float], list[float], list[str]]:
    """Wall times, this process's CPU times (not the database server's), the last ids."""
    times: list[float] = []
    cpu: list[float] = []
    ids: list[str] = []
    for _round in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        ids = call()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return times, cpu, ids


def _p(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def page_timings(
    engine: sa.Engine, mission: Mission, page: int, depth: float, rounds: int
) -> dict[str, Any]:
    """One deep page by keyset and by OFFSET, ``rounds`` times each; their times."""
    with engine.connect() as db:
        total = int(db.execute(sa.select(sa.func.count()).select_from(observations)).scalar_one())
        skip = min(int(total * depth), max(total - page, 0))
        after = (
            db.execute(
                sa.select(observations.c.id).order_by(observations.c.id).offset(skip).limit(1)
            ).scalar_one()
            - 1
        )  # the key just before the page: what a next link carries
    query = ogc.Query(limit=page, after=after)
    places = places_of(mission)

    def answer(features: list[dict[str, Any]]) -> list[str]:
        # encoded as the API answers it: the page is not served until it is JSON
        ogc.encode({"type": "FeatureCollection", "features": features})
        return [f["id"] for f in features]

    def keyset() -> list[str]:
        features, _next = ogc.items(engine, mission, "observations", query, EVERYTHING, "en")
        return answer(features)

    def offset() -> list[str]:
        select = (
            sa.select(*OBSERVATION_COLUMNS).order_by(observations.c.id).offset(skip).limit(page + 1)
        )
        with engine.connect() as db:
            rows = db.execute(select).all()[:page]
        return answer(
            [
                feature(observation_row(r, mission, places, "en"), OBSERVATION_FIELDS, False)
                for r in rows
            ]
        )

    # one untimed round each first: the first read of freshly written pages sets their hint
    # bits (PostgreSQL: EXPLAIN (ANALYZE, BUFFERS) shows them dirtied), once in a store's life
    keyset()
    offset()
    # and, as `ceasefire serve` does before it answers, start-up's objects frozen out of the
    # collector's way: a full collection walking them fell in a round now and then (SQLite
    # p99 0.093 s against p50 0.014 s on a quiet machine), the same for both ways of paging
    served.settle()
    ours, ours_cpu, ours_ids = _timed(keyset, rounds)
    peer, peer_cpu, peer_ids = _timed(offset, rounds)
    if ours_ids != peer_ids:
        raise AssertionError("keyset and OFFSET pages differ")
    return {
        "engine": engine.dialect.name,
        "observations": total,
        "position": skip,
        "load_average": os.getloadavg()[0],
        "p50_s": statistics.median(ours),
        "p99_s": _p(ours, 0.99),
        "baseline_p50_s": statistics.median(peer),
        "baseline_p99_s": _p(peer, 0.99),
        # the bench's own CPU per page (building and encoding it, and SQLite's query; the
        # PostgreSQL server's work is not in it): on a loaded machine the wall time is this
        # stretched by the scheduler
        "cpu_p50_s": statistics.median(ours_cpu),
        "baseline_cpu_p50_s": statistics.median(peer_cpu),
        "rounds_s": [round(t, 4) for t in ours],
    }


def run_ogc(
    n: int,
    page: int = 1000,
    depth: float = 0.9,
    rounds: int = 20,
    postgres: str | None = PG_ADMIN,
    progress: Console | None = None,
) -> dict[str, Any]:
    """The ``bench ogc`` result: SQLite, and PostgreSQL unless ``postgres`` is None."""
    mission = load_mission("karabakh-2020")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        _filled(url, n, progress)
        engine = open_database(url)
        try:
            results.append(page_timings(engine, mission, page, depth, rounds))
        finally:
            engine.dispose()
    if postgres is not None:
        with TemporaryPostgres(postgres) as url:
            _filled(url, n, progress)
            engine = open_database(url)
            try:
                # what an operator does after a bulk load: without it autovacuum starts on the
                # new rows during the timed rounds (its pages' hint bits and visibility map);
                # then a checkpoint, so the fill's dirty pages are not written out under the
                # timed rounds (the server would do it within checkpoint_timeout anyway)
                with engine.connect() as db:
                    settle = db.execution_options(isolation_level="AUTOCOMMIT")
                    settle.exec_driver_sql("VACUUM (ANALYZE) observations")
                    settle.exec_driver_sql("CHECKPOINT")
                results.append(page_timings(engine, mission, page, depth, rounds))
            finally:
                engine.dispose()
    first = results[0]
    rate = page / first["p50_s"]
    baseline_rate = page / first["baseline_p50_s"]
    return {
        "name": "ogc",
        "rate": rate,
        "baseline": "OFFSET paging of the same query building the same features "
        "(as pygeoapi's SQL providers page)",
        "baseline_rate": baseline_rate,
        "ratio": rate / baseline_rate,
        "peak_rss_mb": _peak_rss_mb(),
        "page": page,
        "depth": depth,
        "rounds": rounds,
        "engines": results,
    }


class TemporaryPostgres:
    """A throwaway PostgreSQL database on the server of ``admin`` (dropped afterwards)."""

    def __init__(self, admin: str) -> None:
        self.admin = sa.create_engine(
            admin.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
        )
        self.name = f"ceasefire_bench_{uuid.uuid4().hex[:10]}"

    def __enter__(self) -> str:
        with self.admin.connect() as db:
            db.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        return self.admin.url.set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *exc: object) -> None:
        with self.admin.connect() as db:
            db.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()


# -- export ---------------------------------------------------------------------------------


Timing = tuple[float, float, int]
"""Seconds, peak RSS in MB, rows written."""


def _ours(url: str, fmt: str, out: str) -> Timing:
    import pyarrow  # noqa: F401  (loaded before the clock starts, as the peer's are)
    import pyogrio  # noqa: F401

    mission = load_mission("karabakh-2020")
    engine = open_database(url)
    start = time.perf_counter()
    rows = observation_rows(engine, mission, Selection(), "en")
    if fmt == "csv":
        with open(out, "w", encoding="utf-8", newline="") as stream:
            count = write_csv(rows, OBSERVATION_FIELDS, stream)
    else:
        count = write_ogr(rows, OBSERVATION_FIELDS, Path(out), "GPKG", "observations")
    return time.perf_counter() - start, _peak_rss_mb(), count


PEER_CHUNK = 100_000
"""Rows per GeoDataFrame the peer writes (appending), so its memory stays bounded too."""


def _geopandas(url: str, fmt: str, out: str) -> Timing:
    """The peer: GeoPandas as a skilled user writes many rows: the same rows, a chunk at a
    time, each into a GeoDataFrame built column by column (``points_from_xy``, times as
    datetime64), appended with ``to_file(engine="pyogrio", use_arrow=True)``; the CSV with
    pandas' ``to_csv`` (lon, lat and the same fields as ours, no WKT)."""
    import itertools

    import geopandas as gpd
    import pandas as pd  # type: ignore[import-untyped]

    mission = load_mission("karabakh-2020")
    engine = open_database(url)
    names = [name for name, _kind in OBSERVATION_FIELDS]
    times = [name for name, kind in OBSERVATION_FIELDS if kind == "time"]
    start = time.perf_counter()
    rows = iter(observation_rows(engine, mission, Selection(), "en"))
    count = 0
    while chunk := list(itertools.islice(rows, PEER_CHUNK)):
        frame = pd.DataFrame.from_records(chunk, columns=["lon", "lat", *names])
        for name in times:
            frame[name] = pd.to_datetime(frame[name], utc=True)
        if fmt == "csv":
            frame.to_csv(out, mode="a" if count else "w", header=not count, index=False)
        else:
            geo = gpd.GeoDataFrame(
                frame[names],
                geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
                crs="EPSG:4326",
            )
            geo.to_file(
                out,
                layer="observations",
                driver="GPKG",
                engine="pyogrio",
                use_arrow=True,
                append=bool(count),
            )
        count += len(chunk)
    return time.perf_counter() - start, _peak_rss_mb(), count


def _in_process(call: Callable[..., Timing], *args: Any) -> Timing:
    """Run in a fresh process, so that its peak RSS is its own."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        result: Timing = pool.apply(call, args)
    return result


def _said(progress: Console | None, fmt: str, side: str, n: int, timing: Timing) -> None:
    if progress is not None:
        progress.print(
            _(
                "export {format}, {side}: {rate:,.0f} observations/s, peak RSS {rss:.0f} MB, "
                "load average {load:.1f}"
            ).format(
                format=fmt, side=side, rate=n / timing[0], rss=timing[1], load=os.getloadavg()[0]
            )
        )


def run_export(n: int, progress: Console | None = None) -> dict[str, Any]:
    formats: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        _filled(url, n, progress)
        for fmt in ("gpkg", "csv"):
            # each side's figures as they come: a run of millions takes an hour or more
            ours = _in_process(_ours, url, fmt, str(Path(folder) / f"ours.{fmt}"))
            _said(progress, fmt, _("ours"), n, ours)
            peer = _in_process(_geopandas, url, fmt, str(Path(folder) / f"peer.{fmt}"))
            _said(progress, fmt, "GeoPandas", n, peer)
            if ours[2] != peer[2] or ours[2] != n:
                raise AssertionError(f"{fmt}: {ours[2]} rows written, the peer {peer[2]}")
            formats[fmt] = {
                "rate": n / ours[0],
                "peak_rss_mb": ours[1],
                "baseline_rate": n / peer[0],
                "baseline_peak_rss_mb": peer[1],
            }
    first = formats["gpkg"]
    return {
        "name": "export",
        "rate": first["rate"],
        "baseline": f"GeoPandas {version('geopandas')} with pyogrio {version('pyogrio')}: the "
        f"same rows, {PEER_CHUNK:,} at a time, into a GeoDataFrame built column by column, "
        "appended with to_file(engine='pyogrio', use_arrow=True) (GeoPackage) and pandas "
        "to_csv (CSV); each run in a process of its own",
        "baseline_rate": first["baseline_rate"],
        "ratio": first["rate"] / first["baseline_rate"],
        "peak_rss_mb": max(f["peak_rss_mb"] for f in formats.values()),
        "baseline_peak_rss_mb": max(f["baseline_peak_rss_mb"] for f in formats.values()),
        "observations": n,
        "load_average": os.getloadavg()[0],
        "formats": formats,
    }


__all__ = ["fill", "many_observations", "page_timings", "run_export", "run_ogc"]

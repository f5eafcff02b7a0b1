"""`ceasefire bench enrich --json` prints the keys every benchmark promises."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ceasefire.bench import ingest


def test_bench_enrich_json(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("bench", "enrich", "--points", "2000", "--json")
    assert result.code == 0, result.err
    data = result.json()
    for key in ("name", "rate", "baseline", "baseline_rate", "ratio", "peak_rss_mb"):
        assert key in data
    assert data["name"] == "enrich" and "geopandas" in data["baseline"]
    assert data["ratio"] == data["rate"] / data["baseline_rate"]
    assert data["agreement"]["agree"] == data["agreement"]["checked"] == 2000


def test_bench_correlate_json(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "bench", "correlate", "--observations", "5000", "--baseline-sample", "2000", "--json"
    )
    assert result.code == 0, result.err
    data = result.json()
    for key in ("name", "rate", "baseline", "baseline_rate", "ratio", "peak_rss_mb"):
        assert key in data
    assert data["name"] == "correlate" and "DBSCAN" in data["baseline"]
    assert 0 < data["incidents"] < data["observations"]


def test_bench_ingest_json(cli) -> None:  # type: ignore[no-untyped-def]
    # one round: each round starts a center and taky afresh, and the shape is that of one
    result = cli("bench", "ingest", "--records", "300", "--batch", "100", "--rounds", "1", "--json")
    assert result.code == 0, result.err
    data = result.json()
    for key in (
        "name",
        "rate",
        "baseline",
        "baseline_rate",
        "ratio",
        "peak_rss_mb",
        "cot_tcp_rate",
        "floor",
        "floor_rate",
    ):
        assert key in data
    assert data["name"] == "ingest" and "FastAPI" in data["baseline"]
    assert (data["records"], data["rounds"]) == (300, 1)
    assert data["rate"] > 0 and data["cot_tcp_rate"] > 0
    assert data["cot_tcp_baseline"].startswith("taky 0.10") and data["cot_tcp_baseline_rate"] > 0
    assert data["cot_tcp_ratio"] == pytest.approx(
        data["cot_tcp_rate"] / data["cot_tcp_baseline_rate"]
    )


def test_the_floor_writes_what_the_intake_stores(tmp_path: Path) -> None:
    """The floor inserts the real intake's rows and log entries, all of them, and commits."""
    data = ingest.records(250, seed=3)
    rate = ingest._floor(data, 100, str(tmp_path))
    assert rate > 0
    observations = "SELECT contingent, source_id, digest, record, observed_at FROM observations"
    entries = "SELECT \"index\", entry, leaf_hash FROM ledger WHERE kind = 'observation'"
    with (
        sqlite3.connect(tmp_path / "rows.db") as made,
        sqlite3.connect(tmp_path / "floor.db") as floor,
    ):
        for query in (observations, entries):
            stored = sorted(floor.execute(query).fetchall())
            assert len(stored) == 250
            assert stored == sorted(made.execute(query).fetchall())


def _notify(cli, deciders: int, *db: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """A small run of bench notify, its counts checked: every decision made once, with its
    three notices (both parties' and the peacekeepers'), each delivered once, nothing lost."""
    result = cli(
        "bench",
        "notify",
        "--decisions",
        "10",
        "--baseline-decisions",
        "2",
        "--slow",
        "0.2",
        "--deciders",
        str(deciders),
        *db,
        "--json",
    )
    assert result.code == 0, result.err
    data = result.json()
    for key in ("name", "rate", "baseline", "baseline_rate", "ratio", "peak_rss_mb", "deciders"):
        assert key in data
    assert data["name"] == "notify" and "inline" in data["baseline"]
    assert data["deciders"] == deciders
    for scenario in ("slow", "flaky"):
        ours = data["scenarios"][scenario]["ours"]
        assert ours["deciders"] == deciders
        assert ours["decided"] == 10 and ours["decisions_doubled"] == 0
        assert ours["notices"] == ours["delivered"] == 30 and ours["lost"] == 0
        assert ours["decisions_missing_a_notice"] == ours["decisions_missing_a_party"] == 0
        assert ours["notices_doubled"] == ours["delivered_twice"] == 0
        assert ours["skew_p99_ms"] is not None and ours["party_latency_p99_ms"] is not None
        assert ours["cpu_ms_per_delivery_deciding"] > 0 and ours["decision_cpu_ms"] > 0
        # the last delivery waited at least the slow receiver's answer time after the decisions
        assert ours["after_deciding_s"] >= (0.2 if scenario == "slow" else 0.0)
    # each of the failing receiver's notices: its failures in a row, then the 204
    assert data["scenarios"]["flaky"]["ours"]["bad_receiver_most_requests"] >= 2
    assert data["scenarios"]["slow"]["ours"]["bad_receiver_most_requests"] == 1
    alone = data["scenarios"]["dispatcher"]["ours"]
    assert alone["notices"] == alone["delivered"] == 30 and alone["rate"] > 0
    assert alone["cpu_ms_per_delivery_sending"] is not None
    naive = data["scenarios"]["flaky"]["baseline"]
    assert naive["notices"] == 6 and naive["lost"] >= 1  # no retry: the failures are lost
    slow_naive = data["scenarios"]["slow"]["baseline"]  # as many inline senders as deciders
    assert f"{deciders} at once" in data["baseline"]
    assert slow_naive["notices"] == slow_naive["delivered"] == 6 and slow_naive["lost"] == 0
    return data  # type: ignore[no-any-return]


def test_bench_notify_json(cli) -> None:  # type: ignore[no-untyped-def]
    """One decider: decisions one after another in the bench's process (a scratch SQLite)."""
    _notify(cli, 1)


def test_bench_notify_deciders(cli, database_url: str) -> None:  # type: ignore[no-untyped-def]
    """Two deciders, each a process with its engine on the same store, deciding at once."""
    _notify(cli, 2, "--db", database_url)


def test_deciders_share_the_decisions() -> None:
    """Every decision to exactly one decider, none idle when there are enough decisions."""
    from ceasefire.bench.notify import _shares

    assert _shares(1000, 2) == [500, 500]
    assert _shares(10, 3) == [4, 3, 3]
    assert _shares(2, 4) == [1, 1]
    assert _shares(5, 1) == [5]

"""`ceasefire bench enrich --json` prints the keys every benchmark promises."""

from __future__ import annotations


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
    result = cli("bench", "ingest", "--records", "300", "--batch", "100", "--json")
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
    ):
        assert key in data
    assert data["name"] == "ingest" and "FastAPI" in data["baseline"]
    assert data["rate"] > 0 and data["cot_tcp_rate"] > 0

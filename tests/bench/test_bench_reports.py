"""`ceasefire bench ogc` and `bench export` at a tiny size: the keys every benchmark promises,
the same items from both ways of paging, the same rows written by both writers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ceasefire.bench.reports import many_observations
from databases import PG_ADMIN_URL

KEYS = ("name", "rate", "baseline", "baseline_rate", "ratio", "peak_rss_mb")
TOOL = Path(__file__).parents[2] / "tools" / "many_observations.py"


def test_the_tool_writes_the_benchmarks_records(tmp_path: Path) -> None:
    out = tmp_path / "few.jsonl"
    subprocess.run([sys.executable, str(TOOL), "50", str(out)], check=True)
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert written == list(many_observations(50))


@pytest.mark.postgres
def test_bench_ogc_json(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "bench",
        "ogc",
        "--observations",
        "3000",
        "--page",
        "100",
        "--rounds",
        "3",
        "--postgres",
        PG_ADMIN_URL,
        "--json",
    )
    assert result.code == 0, result.err
    data = result.json()
    assert all(key in data for key in KEYS) and data["name"] == "ogc"
    assert "OFFSET" in data["baseline"]
    assert [e["engine"] for e in data["engines"]] == ["sqlite", "postgresql"]
    assert all(e["position"] == 2700 and e["observations"] == 3000 for e in data["engines"])


@pytest.mark.slow
def test_bench_export_json(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("bench", "export", "--observations", "1500", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert all(key in data for key in KEYS) and data["name"] == "export"
    assert "GeoPandas" in data["baseline"] and set(data["formats"]) == {"gpkg", "csv"}
    assert data["peak_rss_mb"] > 0 and data["baseline_peak_rss_mb"] > 0

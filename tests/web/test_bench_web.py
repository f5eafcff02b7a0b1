"""`ceasefire bench web --json`: the map measured in Chromium against the same views through
OGC API - Features."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_bench_web_json(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("bench", "web", "--json", "--incidents", "300", "--views", "5", "--loads", "1")
    assert result.code == 0, result.err
    data = result.json()
    for key in ("name", "rate", "baseline", "baseline_rate", "ratio", "peak_rss_mb"):
        assert key in data
    assert data["name"] == "web" and data["shown_on_first_render"] == 300
    # The peer fetched, view by view, the incidents the map's views showed.
    assert data["baseline_incidents"] == data["map_view_incidents"] > 0
    assert data["map_view_p99_ms"] >= data["map_view_p50_ms"] > 0
    assert data["ratio"] == pytest.approx(
        data["baseline_p50_ms"] / data["map_view_p50_ms"], rel=0.05
    )

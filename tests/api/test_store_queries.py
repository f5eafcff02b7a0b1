"""The observation queries the API and the CLI share (ceasefire.store.observations)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from ceasefire.mission import Mission
from ceasefire.observations import Observation
from ceasefire.store import observations as store
from centers import intake_of


def test_cursor_round_trip_and_refusals() -> None:
    for key in (0, 1, 2**53):
        assert store.decode_cursor(store.encode_cursor(key)) == key
    for bad in ("", "!!!", "e30", "eyJ2IjoxLCJhZnRlciI6LTF9", "x" * 300, "eyJ2IjoyLCJhZnRlciI6MX0"):
        with pytest.raises(store.CursorError):
            store.decode_cursor(bad)


def test_queries_page_by_key_and_filter(
    engine: Engine, demo_mission: Mission, demo_enricher: Any
) -> None:
    intake = intake_of(engine, demo_mission, demo_enricher)
    for i in range(12):
        intake.add(
            Observation.model_validate(
                {
                    "id": f"RU-Q{i}",
                    "contingent": "RU",
                    "platform": {"id": "orlan-10-07", "type": "orlan-10"},
                    "observed_at": f"2021-02-{1 + i:02d}T00:00:00Z",
                    "location": {"lat": 39.8 + i * 0.01, "lon": 46.6 + i * 0.01, "ce_m": 50},
                    "category": "uav_flight",
                    "sensed_by": "drone-eo",
                }
            ),
            "q",
            i + 1,
        )
    intake.flush()
    keys: list[int] = []
    after = None
    while True:
        page = store.query_observations(engine, after=after, limit=5)
        keys += [o.key for o in page.items]
        if page.after is None:
            break
        after = page.after
    assert keys == sorted(keys) and len(set(keys)) == 12
    assert store.count_observations(engine) == 12

    since = store.ObservationFilter(since=datetime(2021, 2, 10, tzinfo=UTC))
    assert [o.record["id"] for o in store.query_observations(engine, since).items] == [
        "RU-Q9",
        "RU-Q10",
        "RU-Q11",
    ]
    # a box across the antimeridian holds nothing of this mission; its complement holds all
    across = store.ObservationFilter(bbox=(170.0, -90.0, -170.0, 90.0))
    assert store.count_observations(engine, across) == 0
    around = store.ObservationFilter(bbox=(-180.0, -90.0, 180.0, 90.0))
    assert store.count_observations(engine, around) == 12

    one = store.get_observation(engine, "RU", "RU-Q3")
    assert one is not None and one.record["id"] == "RU-Q3" and one.settlement_id
    assert store.get_observation(engine, "TR", "RU-Q3") is None
    assert store.counts_by_contingent(engine) == {"RU": 12}
    with pytest.raises(ValueError):
        store.query_observations(engine, limit=0)

"""The enrichment engine: known answers by hand, and agreement with plain GeoPandas."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from pyproj import Geod

from ceasefire.bench.enrich import compare, geopandas_enrich, random_points
from ceasefire.errors import InputError
from ceasefire.geo import Enricher
from ceasefire.mission import Mission

JAN = datetime(2021, 1, 15, tzinfo=UTC)
FEB = datetime(2021, 2, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def mini(mini_mission: Mission) -> Enricher:
    return Enricher(mini_mission)


def one(enricher: Enricher, lat: float, lon: float, when: datetime):  # type: ignore[no-untyped-def]
    return enricher.enrich([lat], [lon], [when])


def test_zones_and_control_follow_the_handover(mini: Enricher) -> None:
    before, after = one(mini, 45.1, 20.3, JAN), one(mini, 45.1, 20.3, FEB)
    assert before.zones_of(0) == ["east-b"] and before.party_of(0) == "BB"
    assert after.zones_of(0) == ["east-a"] and after.party_of(0) == "AA"
    west = one(mini, 45.15, 20.18, JAN)
    assert set(west.zones_of(0)) == {"west", "buffer"} and west.party_of(0) == "AA"


def test_before_the_mission_nothing_is_valid(mini: Enricher) -> None:
    result = one(mini, 45.1, 20.1, datetime(2020, 6, 1, tzinfo=UTC))
    assert result.zones_of(0) == [] and result.party_of(0) is None
    assert np.isnan(result.distance_to_line_m[0])


def test_signed_distance_and_side(mini: Enricher) -> None:
    geod = Geod(ellps="WGS84")
    west = one(mini, 45.1, 20.1, JAN)  # west of a north-going line: its left, party AA
    _, _, metres = geod.inv(20.1, 45.1, 20.2, 45.1)
    assert west.distance_to_line_m[0] < 0
    assert abs(abs(west.distance_to_line_m[0]) - metres) < 0.003 * metres  # UTM scale error
    assert west.parties[west.line_side[0]] == "AA"
    assert round(float(west.line_bearing_deg[0])) in (89, 90, 91)
    east = one(mini, 45.1, 20.3, JAN)
    assert east.distance_to_line_m[0] > 0 and east.parties[east.line_side[0]] == "BB"


@pytest.mark.parametrize(
    ("lat", "lon", "side"),
    [
        (45.10, 20.25, "AA"),  # inside the left turn, nearest the first segment
        (45.20, 20.25, "BB"),  # north of the westward segment: its right
        (45.10, 20.35, "BB"),  # east of the northward segment
        (45.20, 20.35, "BB"),  # beyond the vertex, outside the turn
        (45.14, 20.29, "AA"),  # close to the vertex, inside the turn
    ],
)
def test_side_at_a_bend(mini: Enricher, lat: float, lon: float, side: str) -> None:
    result = one(mini, lat, lon, FEB)
    assert result.parties[result.line_side[0]] == side


def test_nearest_settlement_bearing_is_true_north(mini: Enricher, mini_mission: Mission) -> None:
    geod = Geod(ellps="WGS84")
    lat, lon = 45.07, 20.09
    result = one(mini, lat, lon, JAN)
    place = mini_mission.settlements[result.settlement[0]]
    azimuth, _, metres = geod.inv(place.lon, place.lat, lon, lat)
    assert place.id == "alpha"
    assert abs((result.settlement_bearing_deg[0] - azimuth + 180) % 360 - 180) < 0.2
    assert abs(result.settlement_distance_m[0] - metres) < 0.003 * metres


def test_bad_coordinates_are_refused_with_record_and_field(mini: Enricher) -> None:
    with pytest.raises(InputError) as caught:
        mini.enrich([45.1, float("nan"), 45.0], [20.1, 20.1, 200.0], [JAN] * 3)
    text = str(caught.value)
    assert "record 2, lat" in text and "record 3, lon" in text


def test_times_of_many_kinds() -> None:
    from ceasefire.geo.engine import to_epoch_seconds

    expected = int(JAN.timestamp())
    assert to_epoch_seconds([JAN])[0] == expected
    assert to_epoch_seconds(np.array(["2021-01-15T00:00:00"], dtype="datetime64[s]"))[0] == expected
    assert to_epoch_seconds([expected])[0] == expected


@pytest.mark.parametrize("seed", [1, 2])
def test_agrees_with_geopandas_on_the_mini_mission(
    mini: Enricher, mini_mission: Mission, seed: int
) -> None:
    lat, lon, seconds = random_points(mini_mission, 5000, seed)
    # Points far outside the grid take the exact path: include some.
    lat[:50] += 1.5
    lon[50:100] -= 2.0
    ours = mini.enrich(lat, lon, seconds)
    peer = geopandas_enrich(mini_mission, lat, lon, seconds, mini.crs)
    result = compare(ours, peer, len(lat))
    assert result["agree"] == result["checked"], result["examples"]

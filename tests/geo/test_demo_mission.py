"""The demo mission answers the questions the foundation issue asks of it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ceasefire.bench.enrich import compare, geopandas_enrich, random_points
from ceasefire.geo import Enricher
from ceasefire.geo.locate import describe
from ceasefire.mission import Mission, check_mission


def at(day: str) -> datetime:
    return datetime.fromisoformat(day + "T12:00:00+04:00").astimezone(UTC)


def test_the_demo_mission_is_valid() -> None:
    mission, problems = check_mission("karabakh-2020")
    assert problems == [] and mission is not None
    assert {c.id for c in mission.config.contingents} == {"RU", "TR"}
    assert {p.id for p in mission.config.parties} == {"AM", "AZ"}
    assert mission.config.peacekeeping_force is not None
    assert mission.config.peacekeeping_force.id == "PK"
    assert len(mission.settlements) >= 40
    assert "ILLUSTRATIVE" in mission.disclaimer("en")


def test_each_contingent_names_its_own_side_first(demo_mission: Mission) -> None:
    assert demo_mission.name("tr").startswith("Türk-Rus")
    assert demo_mission.name("ru") == "Совместный российско-турецкий центр"
    assert [c.id for c in demo_mission.contingents_for("tr")] == ["TR", "RU"]
    assert [c.id for c in demo_mission.contingents_for("ru")] == ["RU", "TR"]
    assert [c.id for c in demo_mission.contingents_for("az")] == demo_mission.config.neutral_order
    assert [c.id for c in demo_mission.contingents_for("hy")] == demo_mission.config.neutral_order


@pytest.mark.parametrize(
    ("lang", "phrase"),
    [
        ("en", "4.2 km south-west of Aghdam"),
        ("ru", "в 4,2 км к юго-западу от н. п. Агдам"),
        ("tr", "Ağdam yerleşim yerinin 4,2 km güneybatısında"),
        ("az", "Ağdam yaşayış məntəqəsindən 4,2 km cənub-qərbdə"),
        ("hy", "Աղդամ բնակավայրից 4,2 կմ հարավ-արևմուտք"),
    ],
)
def test_the_phrase_in_each_language(demo_enricher: Enricher, lang: str, phrase: str) -> None:
    assert describe(demo_enricher, 39.96, 46.90, at("2021-02-01"), lang)["phrase"] == phrase


def test_both_parties_names_for_a_disputed_place(demo_enricher: Enricher) -> None:
    names = {
        lang: describe(demo_enricher, 39.8153, 46.7519, at("2021-02-01"), lang)["phrase"]
        for lang in ("en", "hy", "az")
    }
    assert "Khankendi" in names["en"] and "Stepanakert" in names["en"]
    assert "Ստեփանակերտ" in names["hy"] and "Xankəndi" in names["az"]


@pytest.mark.parametrize(
    ("lat", "lon", "day", "party", "zones_in", "zones_out"),
    [
        (39.991, 46.927, "2020-11-15", "AM", {"am-aghdam"}, set()),  # Aghdam before handover
        (39.991, 46.927, "2020-11-25", "AZ", {"az-aghdam"}, set()),  # and after
        (39.760, 46.750, "2021-02-01", "AZ", set(), {"lachin-corridor", "pk-zone"}),  # Shusha
        (39.8153, 46.7519, "2021-02-01", "AM", {"pk-zone"}, set()),  # Stepanakert
        (40.0, 46.0, "2020-11-20", "AM", {"am-kalbajar"}, set()),  # Kalbajar before 25 Nov
        (40.0, 46.0, "2020-11-26", "AZ", {"az-kalbajar"}, set()),  # and after
    ],
)
def test_where(
    demo_enricher: Enricher,
    lat: float,
    lon: float,
    day: str,
    party: str,
    zones_in: set[str],
    zones_out: set[str],
) -> None:
    answer = describe(demo_enricher, lat, lon, at(day), "en")
    assert answer["controlled_by"] == party
    assert zones_in <= set(answer["zones"])
    assert not zones_out & set(answer["zones"])
    assert answer["distance_to_line_m"] is not None
    assert answer["line_side"] == party
    assert answer["phrase"]


def test_where_cli_json_has_the_documented_keys(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "where", "39.991", "46.927", "--at", "2020-11-25T12:00:00+04:00", "--format", "json"
    )
    assert result.code == 0, result.err
    answer = result.json()
    for key in ("zones", "controlled_by", "distance_to_line_m", "nearest_settlement", "phrase"):
        assert key in answer
    assert answer["controlled_by"] == "AZ"
    assert answer["nearest_settlement"]["id"] == "aghdam"


def test_where_refuses_times_outside_the_period_and_bad_times(cli) -> None:  # type: ignore[no-untyped-def]
    early = cli("where", "39.9", "46.9", "--at", "2019-05-01")
    assert early.code == 1 and "--at" in early.err and "outside the mission's period" in early.err
    garbage = cli("where", "39.9", "46.9", "--at", "yesterday-ish")
    assert garbage.code == 1 and "--at" in garbage.err and "ISO 8601" in garbage.err
    far = cli("where", "95", "46.9")
    assert far.code == 1 and "lat" in far.err


def test_engine_and_geopandas_agree_on_a_sample_of_the_demo_mission(
    demo_enricher: Enricher, demo_mission: Mission
) -> None:
    lat, lon, seconds = random_points(demo_mission, 3000, seed=11)
    ours = demo_enricher.enrich(lat, lon, seconds)
    peer = geopandas_enrich(demo_mission, lat, lon, seconds, demo_enricher.crs)
    result = compare(ours, peer, len(lat))
    assert result["agree"] == result["checked"] == 3000, result["examples"]

"""Rules: category, qualifiers, zones, distance and side of the line, time windows."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ceasefire.geo import Enricher
from ceasefire.incidents.rules import Facts, evaluate, why
from ceasefire.mission import Mission, check_mission

JAN = int(datetime(2021, 1, 15, tzinfo=UTC).timestamp())
FEB = int(datetime(2021, 2, 15, tzinfo=UTC).timestamp())
MINI = Path(__file__).parents[1] / "fixtures" / "mini-mission"


@pytest.fixture(scope="module")
def mini(mini_mission: Mission) -> Enricher:
    return Enricher(mini_mission)


def triggered(enricher: Enricher, lat: float, lon: float, facts: Facts) -> list[str]:
    found = enricher.enrich([lat], [lon], [facts.seconds])
    return evaluate(enricher.mission, [facts], found)[0]


def test_distance_to_the_line(mini: Enricher) -> None:
    near = Facts("explosion", {"explosion": "impact"}, JAN)
    assert triggered(mini, 45.1, 20.18, near) == ["fire-near-line"]  # 1.6 km from the line
    assert triggered(mini, 45.1, 20.05, near) == []  # 12 km away
    assert triggered(mini, 45.1, 20.18, Facts("muzzle_flash", {}, JAN)) == []


def test_qualifiers_and_zone(mini: Enricher) -> None:
    artillery = Facts("movement_heavy_weapon", {"weapon": "artillery"}, JAN)
    assert triggered(mini, 45.15, 20.18, artillery) == ["heavy-in-buffer"]
    assert triggered(mini, 45.05, 20.18, artillery) == []  # outside the buffer
    tank = Facts("movement_heavy_weapon", {"weapon": "tank"}, JAN)
    assert triggered(mini, 45.15, 20.18, tank) == []


def test_time_window_control_and_side(mini: Enricher) -> None:
    # East of the bent line after 1 Feb: controlled by AA (handover), on BB's side of the line.
    work = Facts("fortification", {}, FEB)
    assert triggered(mini, 45.1, 20.35, work) == ["east-after-handover"]
    assert triggered(mini, 45.1, 20.35, Facts("fortification", {}, JAN)) == []  # before it
    assert triggered(mini, 45.1, 20.25, work) == []  # on AA's side


def test_the_sentence_says_why(mini_mission: Mission, mini: Enricher) -> None:
    rule = next(r for r in mini_mission.config.rules if r.id == "heavy-in-buffer")
    text = why(
        mini_mission,
        rule,
        "movement_heavy_weapon",
        {"weapon": "artillery", "calibre_mm": 152},
        1600.0,
        ["west", "buffer"],
        "en",
    )
    assert text == (
        "heavy weapons (152 mm artillery) 1.6 km from the line of contact, inside Buffer: "
        "clause 2. Heavy weapons in the buffer."
    )


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (
            'clause = "2"\nseverity = "medium"',
            'clause = "7"\nseverity = "medium"',
            "rules[1].clause",
        ),
        (
            'categories = ["movement_heavy_weapon"]',
            'categories = ["dragons"]',
            "rules[1].categories[0]",
        ),
        ('zones = ["buffer"]', 'zones = ["moon"]', "rules[1].zones[0]"),
        ('sides = ["BB"]', 'sides = ["QQ"]', "rules[2].sides[0]"),
        ("qualifiers = { weapon", "qualifiers = { colour", "rules[1].qualifiers.colour"),
    ],
)
def test_bad_rules_are_named(tmp_path: Path, old: str, new: str, field: str) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MINI, folder)
    toml = folder / "mission.toml"
    assert old in toml.read_text()
    toml.write_text(toml.read_text().replace(old, new))
    _mission, problems = check_mission(folder)
    assert problems and problems[0].field == field

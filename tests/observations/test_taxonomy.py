"""The taxonomy: categories, qualifiers, platform types, sensors, languages."""

from __future__ import annotations

import pytest

from ceasefire.observations import taxonomy
from ceasefire.observations.taxonomy import (
    CATEGORIES,
    PLATFORM_TYPES,
    SENSED_BY,
    check_qualifier,
    check_qualifiers,
    qualifier_from_text,
)


def test_categories_are_the_designs() -> None:
    assert tuple(CATEGORIES) == (
        "explosion",
        "projectile",
        "muzzle_flash",
        "illumination_flare",
        "small_arms_fire",
        "movement_personnel",
        "movement_vehicle",
        "movement_heavy_weapon",
        "fortification",
        "line_crossing",
        "uav_flight",
        "mine_uxo",
        "movement_restriction",
        "monitoring_interference",
        "civilian_damage",
        "civilian_casualty",
        "other",
    )
    assert tuple(CATEGORIES) == taxonomy.Category.__args__  # type: ignore[attr-defined]


def test_platforms_and_sensors_are_the_briefs() -> None:
    assert PLATFORM_TYPES == (
        "orlan-10",
        "forpost",
        "bayraktar-tb2",
        "fixed-camera",
        "observation-post",
        "patrol",
        "party-complaint",
        "other",
    )
    assert SENSED_BY == (
        "drone-eo",
        "drone-ir",
        "fixed-camera",
        "post",
        "patrol-seen",
        "patrol-heard",
        "party-complaint",
        "other",
    )
    assert taxonomy.PlatformType.__args__ == PLATFORM_TYPES  # type: ignore[attr-defined]
    assert taxonomy.SensedBy.__args__ == SENSED_BY  # type: ignore[attr-defined]


def test_explosion_qualifier() -> None:
    for value in ("impact", "outgoing", "airburst", "undetermined"):
        assert check_qualifier("explosion", "explosion", value) is None
    assert check_qualifier("explosion", "explosion", "boom") is not None


def test_heavy_weapon_classes_follow_the_withdrawal_clauses() -> None:
    weapons = CATEGORIES["movement_heavy_weapon"].qualifiers["weapon"].values
    assert {"artillery", "mlrs", "mortar", "tank", "air_defence"} <= set(weapons)


@pytest.mark.parametrize(
    ("category", "name", "value", "ok"),
    [
        ("explosion", "calibre_mm", 120, True),
        ("explosion", "calibre_mm", 0, False),
        ("explosion", "calibre_mm", float("nan"), False),
        ("explosion", "calibre_mm", True, False),
        ("projectile", "direction_deg", 0, True),
        ("projectile", "direction_deg", 359.999, True),
        ("projectile", "direction_deg", 360, False),
        ("projectile", "direction_deg", -0.1, False),
        ("civilian_casualty", "killed", 2, True),
        ("civilian_casualty", "killed", 2.5, False),
        ("civilian_casualty", "killed", -1, False),
        ("movement_restriction", "reason_given", "no permission", True),
        ("movement_restriction", "reason_given", "   ", False),
        ("movement_restriction", "reason_given", "x\x00", False),
        ("movement_restriction", "duration_min", 45, True),
        ("mine_uxo", "marked", False, True),
        ("mine_uxo", "marked", "no", False),
        ("mine_uxo", "marked", 1, False),
        ("explosion", "weapon", "mortar", True),
        ("explosion", "weapon", "Mortar", False),
        ("other", "anything", "text", True),
        ("other", "anything", 3.5, True),
        ("other", "anything", float("inf"), False),
        ("other", "Bad-Name", 1, False),
        ("other", "nested", {"a": 1}, False),
        ("fortification", "weapon", "mortar", False),
    ],
)
def test_qualifier_kinds(category: str, name: str, value: object, ok: bool) -> None:
    problem = check_qualifier(category, name, value)
    assert (problem is None) is ok, problem
    if problem is not None:
        assert f"qualifiers.{name}" in problem
    # the whole qualifiers (a known value of a list, a flag: checked at once) say the same
    assert check_qualifiers(category, {name: value}) == (
        [] if ok else [(f"qualifiers.{name}", problem)]
    )


def test_too_many_qualifiers() -> None:
    many = {f"k{i}": i for i in range(taxonomy.MAX_QUALIFIERS + 1)}
    assert check_qualifiers("other", many)[0][0] == "qualifiers"


def test_qualifier_from_text_types_by_kind() -> None:
    assert qualifier_from_text("explosion", "calibre_mm", "120") == 120
    assert qualifier_from_text("explosion", "calibre_mm", "82.5") == 82.5
    assert qualifier_from_text("explosion", "calibre_mm", "big") == "big"
    assert qualifier_from_text("mine_uxo", "marked", "yes") is True
    assert qualifier_from_text("mine_uxo", "marked", "0") is False
    assert qualifier_from_text("civilian_casualty", "injured", "3") == 3
    assert qualifier_from_text("movement_restriction", "restricted_by", "12") == "12"
    assert qualifier_from_text("other", "flag", "true") is True
    assert qualifier_from_text("other", "n", "7") == 7

"""The vocabulary of an observation: categories and their qualifiers, platforms, sensors, languages.

Categories follow the practice of the OSCE Special Monitoring Mission (DESIGN.md section 4).
Each category names the qualifiers it accepts; a qualifier has a kind that fixes what its value
may be:

=============  ===========================================================================
kind           value
=============  ===========================================================================
enum           one of a fixed list of words (``values``)
bearing        degrees clockwise from true north, 0 <= x < 360
positive       a finite number > 0 (``calibre_mm``)
non_negative   a finite number >= 0 (``altitude_m``, ``duration_min``)
whole          a whole number >= 0 (``killed``, ``injured``)
text           free text of at most ``max_length`` characters, no control characters
flag           true or false
=============  ===========================================================================

No qualifier is required: an observer writes what was seen, and an absent qualifier means
"not assessed". The category ``other`` accepts any qualifier whose name is a lower-case word
and whose value is text, a number or a flag, so that new practice can be recorded before the
taxonomy grows. Extend these tables, never rename an entry: stored records use the names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from ceasefire.i18n import _

QualifierKind = Literal["enum", "bearing", "positive", "non_negative", "whole", "text", "flag"]

Category = Literal[
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
]

PlatformType = Literal[
    "orlan-10",
    "forpost",
    "bayraktar-tb2",
    "fixed-camera",
    "observation-post",
    "patrol",
    "party-complaint",
    "other",
]
PLATFORM_TYPES: tuple[str, ...] = get_args(PlatformType)
DRONE_PLATFORM_TYPES: frozenset[str] = frozenset({"orlan-10", "forpost", "bayraktar-tb2"})

SensedBy = Literal[
    "drone-eo",
    "drone-ir",
    "fixed-camera",
    "post",
    "patrol-seen",
    "patrol-heard",
    "party-complaint",
    "other",
]
SENSED_BY: tuple[str, ...] = get_args(SensedBy)

LANGUAGES: tuple[str, ...] = (
    "en",
    "ru",
    "tr",
    "az",
    "hy",
    "uk",
    "ka",
    "fr",
    "de",
    "es",
    "ar",
    "fa",
    "zh",
)
"""ISO 639-1 codes accepted in ``lang``: the demo mission's working languages first, then the
languages of other monitoring missions (UN official languages, Ukrainian, Georgian, German,
Persian). Add a code here when a mission needs it."""

WEAPONS: tuple[str, ...] = (
    "small_arms",
    "heavy_machine_gun",
    "automatic_grenade_launcher",
    "anti_tank_weapon",
    "recoilless_gun",
    "mortar",
    "artillery",
    "mlrs",
    "tank",
    "air_defence",
    "uav_munition",
    "mine",
    "unknown",
)
"""Weapon classes as an observer can assess them (``artillery`` is a gun or howitzer; whether
it is 100 mm or more comes from ``calibre_mm``)."""

HEAVY_WEAPONS: tuple[str, ...] = (
    "artillery",
    "mlrs",
    "mortar",
    "tank",
    "air_defence",
    "anti_tank_weapon",
    "unknown",
)
"""Classes of heavy weapons whose movement the withdrawal clauses of agreements name."""


@dataclass(frozen=True)
class QualifierSpec:
    """What one qualifier of a category may hold."""

    kind: QualifierKind
    description: str
    values: tuple[str, ...] = ()
    max_length: int = 200


@dataclass(frozen=True)
class CategorySpec:
    """One category of observation and the qualifiers it accepts."""

    name: str
    description: str
    qualifiers: Mapping[str, QualifierSpec] = field(default_factory=dict)
    open_qualifiers: bool = False
    """True for ``other``: any lower-case qualifier name with a scalar value is accepted."""


def _enum(description: str, values: tuple[str, ...]) -> QualifierSpec:
    return QualifierSpec("enum", description, values)


_DIRECTION = QualifierSpec(
    "bearing", "direction of travel or of fire, degrees clockwise from true north"
)
_WEAPON = _enum("weapon class, where assessed", WEAPONS)
_CALIBRE = QualifierSpec("positive", "calibre in millimetres, where assessed")
_CAUSE = _enum(
    "what caused it, where assessed",
    ("explosion", "small_arms_fire", "mine", "fire", "unknown"),
)

CATEGORIES: Mapping[str, CategorySpec] = {
    spec.name: spec
    for spec in (
        CategorySpec(
            "explosion",
            "an explosion seen or heard",
            {
                "explosion": _enum(
                    "impact, outgoing (launch), airburst or undetermined",
                    ("impact", "outgoing", "airburst", "undetermined"),
                ),
                "weapon": _WEAPON,
                "calibre_mm": _CALIBRE,
                "direction_deg": _DIRECTION,
            },
        ),
        CategorySpec(
            "projectile",
            "a projectile in flight (shell, rocket, missile, tracer)",
            {
                "projectile": _enum(
                    "kind of projectile", ("shell", "rocket", "missile", "tracer", "unknown")
                ),
                "weapon": _WEAPON,
                "calibre_mm": _CALIBRE,
                "direction_deg": _DIRECTION,
            },
        ),
        CategorySpec(
            "muzzle_flash",
            "a muzzle flash",
            {"weapon": _WEAPON, "calibre_mm": _CALIBRE, "direction_deg": _DIRECTION},
        ),
        CategorySpec(
            "illumination_flare",
            "an illumination flare",
            {
                "colour": _enum("colour", ("white", "red", "green", "yellow", "other")),
                "direction_deg": _DIRECTION,
            },
        ),
        CategorySpec(
            "small_arms_fire",
            "bursts and shots of small arms and light weapons",
            {
                "fire": _enum("bursts, single shots or both", ("bursts", "shots", "mixed")),
                "weapon": _WEAPON,
                "calibre_mm": _CALIBRE,
                "direction_deg": _DIRECTION,
            },
        ),
        CategorySpec(
            "movement_personnel",
            "movement of armed personnel",
            {
                "armed": QualifierSpec("flag", "whether the personnel carried weapons"),
                "direction_deg": _DIRECTION,
            },
        ),
        CategorySpec(
            "movement_vehicle",
            "movement of vehicles",
            {
                "vehicle": _enum(
                    "vehicle class",
                    ("truck", "car", "apc", "ifv", "engineering", "ambulance", "other"),
                ),
                "military": QualifierSpec("flag", "whether the vehicles were military"),
                "direction_deg": _DIRECTION,
            },
        ),
        CategorySpec(
            "movement_heavy_weapon",
            "presence or movement of heavy weapons",
            {
                "weapon": _enum("heavy weapon class", HEAVY_WEAPONS),
                "calibre_mm": _CALIBRE,
                "direction_deg": _DIRECTION,
                "in_storage": QualifierSpec("flag", "seen at a declared storage site"),
            },
        ),
        CategorySpec(
            "fortification",
            "fortification or construction work",
            {
                "work": _enum(
                    "kind of work",
                    ("trench", "firing_position", "bunker", "barrier", "road", "other"),
                ),
                "machinery": QualifierSpec("flag", "whether machinery was used"),
            },
        ),
        CategorySpec(
            "line_crossing",
            "a crossing of the line of contact",
            {
                "crossing": _enum(
                    "who or what crossed",
                    ("personnel", "vehicle", "uav", "civilian", "livestock", "unknown"),
                ),
                "direction_deg": _DIRECTION,
            },
        ),
        CategorySpec(
            "uav_flight",
            "a flight of an unmanned aerial vehicle other than the monitors' own",
            {
                "uav": QualifierSpec("text", "type of UAV, where recognised", max_length=80),
                "altitude_m": QualifierSpec("non_negative", "estimated height above ground, m"),
                "direction_deg": _DIRECTION,
            },
        ),
        CategorySpec(
            "mine_uxo",
            "mines or unexploded ordnance",
            {
                "hazard": _enum(
                    "kind of hazard",
                    ("anti_personnel_mine", "anti_tank_mine", "uxo", "ied", "unknown"),
                ),
                "marked": QualifierSpec("flag", "whether the hazard was marked"),
            },
        ),
        CategorySpec(
            "movement_restriction",
            "a restriction of the monitors' freedom of movement",
            {
                "restricted_by": QualifierSpec("text", "who restricted the movement"),
                "reason_given": QualifierSpec("text", "the reason given", max_length=500),
                "outcome": _enum(
                    "what happened",
                    ("denied", "turned_back", "delayed", "escorted", "passed", "other"),
                ),
                "duration_min": QualifierSpec("non_negative", "duration in minutes"),
            },
        ),
        CategorySpec(
            "monitoring_interference",
            "interference with monitoring (jamming, fire at a drone, ...)",
            {
                "interference": _enum(
                    "kind of interference",
                    (
                        "gps_jamming",
                        "gps_spoofing",
                        "datalink_jamming",
                        "fire_at_uav",
                        "uav_downed",
                        "other",
                    ),
                ),
                "weapon": _WEAPON,
                "duration_min": QualifierSpec("non_negative", "duration in minutes"),
            },
        ),
        CategorySpec(
            "civilian_damage",
            "damage to civilian objects",
            {
                "object": _enum(
                    "damaged object",
                    (
                        "residential",
                        "school",
                        "medical",
                        "religious",
                        "infrastructure",
                        "vehicle",
                        "agricultural",
                        "other",
                    ),
                ),
                "cause": _CAUSE,
            },
        ),
        CategorySpec(
            "civilian_casualty",
            "civilian casualties",
            {
                "killed": QualifierSpec("whole", "number of civilians killed"),
                "injured": QualifierSpec("whole", "number of civilians injured"),
                "cause": _CAUSE,
            },
        ),
        CategorySpec("other", "anything else worth recording", open_qualifiers=True),
    )
}

CATEGORY_NAMES: tuple[str, ...] = tuple(CATEGORIES)

MAX_QUALIFIERS = 32
_QUALIFIER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_characters(text: str) -> bool:
    """True if ``text`` holds control characters other than tab, line feed and return."""
    return _CONTROL.search(text) is not None


def finite_number(value: object) -> float | None:
    """``value`` as a float if it is a finite int or float (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def check_qualifier(category: str, name: str, value: object) -> str | None:
    """The problem with one qualifier of a category, as a sentence; None when it is fine."""
    spec = CATEGORIES.get(category)
    where = f"qualifiers.{name}"
    if spec is None:
        return _("The field category is not known, so qualifiers cannot be checked.")
    qualifier = spec.qualifiers.get(name)
    if qualifier is None:
        if spec.open_qualifiers and _QUALIFIER_NAME.match(name):
            if isinstance(value, str):
                if len(value) > 200 or has_control_characters(value):
                    return _(
                        "The field {field} must be text of at most 200 characters without "
                        "control characters."
                    ).format(field=where)
                return None
            if isinstance(value, bool) or finite_number(value) is not None:
                return None
            return _("The field {field} must be text, a finite number, true or false.").format(
                field=where
            )
        allowed = ", ".join(spec.qualifiers) or _("none")
        return _(
            "The field {field} is not a qualifier of the category {category} (allowed: {allowed})."
        ).format(field=where, category=category, allowed=allowed)
    return _check_value(where, qualifier, value)


def _check_value(where: str, qualifier: QualifierSpec, value: object) -> str | None:
    kind = qualifier.kind
    if kind == "enum":
        if isinstance(value, str) and value in qualifier.values:
            return None
        return _("The field {field} must be one of: {values}.").format(
            field=where, values=", ".join(qualifier.values)
        )
    if kind == "flag":
        if isinstance(value, bool):
            return None
        return _("The field {field} must be true or false.").format(field=where)
    if kind == "text":
        if (
            isinstance(value, str)
            and value.strip()
            and len(value) <= qualifier.max_length
            and not has_control_characters(value)
        ):
            return None
        return _(
            "The field {field} must be non-empty text of at most {limit} characters without "
            "control characters."
        ).format(field=where, limit=qualifier.max_length)
    if kind == "whole":
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1_000_000:
            return None
        return _("The field {field} must be a whole number from 0 to 1000000.").format(field=where)
    # numeric kinds
    number = finite_number(value)
    if number is None:
        return _("The field {field} must be a finite number.").format(field=where)
    if kind == "bearing":
        if 0.0 <= number < 360.0:
            return None
        return _(
            "The field {field} must be a bearing in degrees from 0 up to (not including) 360."
        ).format(field=where)
    if kind == "positive":
        if 0.0 < number <= 1_000_000.0:
            return None
        return _("The field {field} must be a number greater than 0.").format(field=where)
    if 0.0 <= number <= 1_000_000.0:  # non_negative
        return None
    return _("The field {field} must be a number of at least 0.").format(field=where)


def check_qualifiers(category: str, qualifiers: Mapping[str, object]) -> list[tuple[str, str]]:
    """Every problem with the qualifiers of a category, as (field path, sentence) pairs."""
    spec = CATEGORIES.get(category)
    if spec is not None and len(qualifiers) <= MAX_QUALIFIERS:
        # The usual qualifiers, a known value of a list or a flag, checked here at once
        # (this runs for every record received); anything else the long way below.
        known = spec.qualifiers
        for name, value in qualifiers.items():
            qualifier = known.get(name)
            if qualifier is None:
                break
            kind = qualifier.kind
            if kind == "enum":
                if type(value) is not str or value not in qualifier.values:
                    break
            elif kind != "flag" or (value is not True and value is not False):
                break
        else:
            return []
    problems: list[tuple[str, str]] = []
    if len(qualifiers) > MAX_QUALIFIERS:
        problems.append(
            (
                "qualifiers",
                _("The field qualifiers must have at most {limit} entries.").format(
                    limit=MAX_QUALIFIERS
                ),
            )
        )
        return problems
    for name, value in qualifiers.items():
        problem = check_qualifier(category, name, value)
        if problem is not None:
            problems.append((f"qualifiers.{name}", problem))
    return problems


def qualifier_from_text(category: str, name: str, text: str) -> object:
    """Turn the text form of a qualifier (CSV ``key=value``) into its typed value.

    The kind of the qualifier decides: numbers for numeric kinds, true/false for flags, text
    otherwise. Text that does not fit its kind is returned unchanged, so that validation
    reports it with the field's name.
    """
    spec = CATEGORIES.get(category)
    qualifier = spec.qualifiers.get(name) if spec is not None else None
    kind = qualifier.kind if qualifier is not None else None
    if kind is None and spec is not None and spec.open_qualifiers:
        return _guess_scalar(text)
    if kind == "flag":
        lowered = text.strip().lower()
        if lowered in {"true", "yes", "1"}:
            return True
        if lowered in {"false", "no", "0"}:
            return False
        return text
    if kind == "whole":
        try:
            return int(text.strip())
        except ValueError:
            return text
    if kind in {"bearing", "positive", "non_negative"}:
        return _number_or_text(text)
    return text


def _number_or_text(text: str) -> object:
    stripped = text.strip()
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        return float(stripped)
    except ValueError:
        return text


def _guess_scalar(text: str) -> object:
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return _number_or_text(text)

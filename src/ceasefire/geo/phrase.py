"""OSCE-style location phrases: "4 km south-west of Aghdam", in each working language.

Each language gets its own grammar through the catalogs, and its own place name from the
gazetteer. Russian, Turkish, Azerbaijani and Armenian attach the place to a common noun
("н. п.", "yerleşim yeri", "yaşayış məntəqəsi", "բնակավայր") so no place name is declined.
"""

from __future__ import annotations

from babel.numbers import format_decimal

from ceasefire.i18n import _, current_language, language, pgettext

IN_PLACE_M = 500.0
"""Closer than this to a settlement's point, an observation is "in" it."""


def _compass() -> list[str]:
    # Marked for extraction; translated at call time in the language in force.
    return [
        pgettext("direction of a place", "north"),
        pgettext("direction of a place", "north-east"),
        pgettext("direction of a place", "east"),
        pgettext("direction of a place", "south-east"),
        pgettext("direction of a place", "south"),
        pgettext("direction of a place", "south-west"),
        pgettext("direction of a place", "west"),
        pgettext("direction of a place", "north-west"),
    ]


def _compass_points() -> list[str]:
    return [
        pgettext("compass point", "north"),
        pgettext("compass point", "north-east"),
        pgettext("compass point", "east"),
        pgettext("compass point", "south-east"),
        pgettext("compass point", "south"),
        pgettext("compass point", "south-west"),
        pgettext("compass point", "west"),
        pgettext("compass point", "north-west"),
    ]


def octant(bearing_deg: float) -> int:
    """0 = north, 1 = north-east, ... 7 = north-west."""
    return int(((bearing_deg % 360) + 22.5) // 45) % 8


def format_km(metres: float, lang: str | None = None) -> str:
    """Kilometres as people say them: one decimal below 10 km, whole kilometres above."""
    km = abs(metres) / 1000
    pattern = "#,##0.0" if km < 10 else "#,##0"
    return str(format_decimal(km, format=pattern, locale=lang or current_language()))


def place_phrase(place: str, distance_m: float, bearing_deg: float, lang: str | None = None) -> str:
    """Where a point lies, seen from a settlement: "4.0 km south-west of Aghdam"."""
    lang = lang or current_language()
    with language(lang):
        if distance_m < IN_PLACE_M:
            return _("in {place}").format(place=place)
        return _("{distance} km {direction} of {place}").format(
            distance=format_km(distance_m, lang),
            direction=_compass()[octant(bearing_deg)],
            place=place,
        )


def direction_name(bearing_deg: float, lang: str | None = None) -> str:
    """A compass point as a word: "north-east"."""
    with language(lang or current_language()):
        return _compass_points()[octant(bearing_deg)]

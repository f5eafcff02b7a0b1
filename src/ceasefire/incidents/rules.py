"""Which clause of the agreement an observation may breach, and a sentence saying why.

Rules come from the mission file (`[[rules]]`, see docs/mission-format.md). Evaluation is
vectorised over a batch: the geography (zones, distance and side of the line at each
observation's own time) comes from the enrichment engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ceasefire.geo.engine import Enrichment
from ceasefire.geo.phrase import format_km
from ceasefire.i18n import _, language, pgettext
from ceasefire.labels import label
from ceasefire.mission.model import Mission, Rule

# Zones worth naming in a sentence, most specific first.
NAMED_ZONE_KINDS = (
    "corridor",
    "buffer_zone",
    "withdrawal_zone",
    "peacekeeping_zone",
    "handover_area",
)


@dataclass(frozen=True)
class Facts:
    """What rules test about one observation (besides its geography)."""

    category: str
    qualifiers: Mapping[str, Any]
    seconds: int  # observed time, Unix seconds


def evaluate(mission: Mission, facts: Sequence[Facts], found: Enrichment) -> list[list[str]]:
    """The ids of the rules each observation triggers, in the mission's order."""
    n = len(facts)
    if n == 0 or not mission.config.rules:
        return [[] for _ in range(n)]
    categories = np.array([f.category for f in facts])
    seconds = np.array([f.seconds for f in facts], dtype=np.int64)
    distance = np.abs(found.distance_to_line_m)
    column = {zone_id: i for i, zone_id in enumerate(found.zone_ids)}
    kinds = {z.id: z.kind for z in mission.zones}
    names = np.array([*found.parties, ""])  # index -1: none
    side = names[found.line_side]
    control = names[found.controlled_by]
    hits = np.zeros((n, len(mission.config.rules)), dtype=bool)
    for r, rule in enumerate(mission.config.rules):
        mask = np.isin(categories, rule.categories)
        if rule.zones:
            mask &= _inside_any(found, [column[z] for z in rule.zones if z in column])
        if rule.zone_kinds:
            cols = [column[z] for z in column if kinds.get(z) in rule.zone_kinds]
            mask &= _inside_any(found, cols)
        if rule.outside_zones:
            mask &= ~_inside_any(found, [column[z] for z in rule.outside_zones if z in column])
        # No line of contact valid at the time (NaN): a distance condition does not hold.
        if rule.max_distance_to_line_m is not None:
            mask &= distance <= rule.max_distance_to_line_m
        if rule.min_distance_to_line_m is not None:
            mask &= distance >= rule.min_distance_to_line_m
        if rule.sides:
            mask &= np.isin(side, rule.sides)
        if rule.controlled_by:
            mask &= np.isin(control, rule.controlled_by)
        if rule.valid_from is not None:
            mask &= seconds >= int(rule.valid_from.timestamp())
        if rule.valid_until is not None:
            mask &= seconds < int(rule.valid_until.timestamp())
        if rule.qualifiers:
            for i in np.flatnonzero(mask):
                mask[i] = _qualifiers_match(rule, facts[int(i)].qualifiers)
        hits[:, r] = mask
    ids = [rule.id for rule in mission.config.rules]
    triggered: list[list[str]] = [[] for _ in range(n)]
    # Only the hits, in row-major order so each list keeps the mission's order of rules:
    # most observations trigger none, and a numpy call per row would cost more than the rules.
    for i, r in zip(*(axis.tolist() for axis in np.nonzero(hits)), strict=True):
        triggered[i].append(ids[r])
    return triggered


def _inside_any(found: Enrichment, columns: list[int]) -> npt.NDArray[np.bool_]:
    if not columns:
        return np.zeros(len(found), dtype=bool)
    return np.asarray(found.inside[:, columns].any(axis=1), dtype=np.bool_)


def _qualifiers_match(rule: Rule, qualifiers: Mapping[str, Any]) -> bool:
    return all(qualifiers.get(name) in allowed for name, allowed in rule.qualifiers.items())


# -- sentences ----------------------------------------------------------------------------------
def category_name(category: str) -> str:
    return label("category", category)


def weapon_name(weapon: str) -> str:
    names = {
        "small_arms": pgettext("weapon", "small arms"),
        "heavy_machine_gun": pgettext("weapon", "heavy machine gun"),
        "automatic_grenade_launcher": pgettext("weapon", "automatic grenade launcher"),
        "anti_tank_weapon": pgettext("weapon", "anti-tank weapon"),
        "recoilless_gun": pgettext("weapon", "recoilless gun"),
        "mortar": pgettext("weapon", "mortar"),
        "artillery": pgettext("weapon", "artillery"),
        "mlrs": pgettext("weapon", "MLRS"),
        "tank": pgettext("weapon", "tank"),
        "air_defence": pgettext("weapon", "air defence"),
        "uav_munition": pgettext("weapon", "UAV munition"),
        "mine": pgettext("weapon", "mine"),
        "unknown": pgettext("weapon", "unknown weapon"),
    }
    return names.get(weapon, weapon)


def what(category: str, qualifiers: Mapping[str, Any]) -> str:
    """ "explosion (120 mm mortar)": the category with the weapon where assessed."""
    text = category_name(category)
    weapon = qualifiers.get("weapon")
    if not isinstance(weapon, str):
        return text
    calibre = qualifiers.get("calibre_mm")
    arm = weapon_name(weapon)
    if isinstance(calibre, int | float):
        arm = _("{calibre} mm {weapon}").format(calibre=f"{calibre:g}", weapon=arm)
    return _("{what} ({weapon})").format(what=text, weapon=arm)


def why(
    mission: Mission,
    rule: Rule,
    category: str,
    qualifiers: Mapping[str, Any],
    distance_to_line_m: float | None,
    zone_ids: Sequence[str],
    lang: str,
) -> str:
    """ "explosion (120 mm mortar) 3.2 km from the line of contact, inside the peacekeeping
    zone: clause 1. <the rule's explanation>" in the chosen language."""
    with language(lang):
        text = what(category, qualifiers)
        if distance_to_line_m is not None and distance_to_line_m == distance_to_line_m:
            text = _("{what} {km} km from the line of contact").format(
                what=text, km=format_km(distance_to_line_m, lang)
            )
        zones = {z.id: z for z in mission.zones}
        named = sorted(
            (zones[z] for z in zone_ids if z in zones and zones[z].kind in NAMED_ZONE_KINDS),
            key=lambda z: NAMED_ZONE_KINDS.index(z.kind),
        )
        if named:
            text = _("{what}, inside {zone}").format(what=text, zone=named[0].names[lang])
        sentence = _("{what}: clause {clause}.").format(what=text, clause=rule.clause)
        return f"{sentence} {rule.explanation[lang]}"

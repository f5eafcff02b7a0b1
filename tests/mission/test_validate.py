"""Every malformed mission is refused with file, field and reason; the CLI exits 1."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ceasefire.mission import check_mission, load_mission
from ceasefire.mission.schema import SCHEMA_FILE, mission_schema

MINI = Path(__file__).parent.parent / "fixtures" / "mini-mission"


@pytest.fixture
def mission_dir(tmp_path: Path) -> Path:
    target = tmp_path / "mission"
    shutil.copytree(MINI, target)
    return target


def edit_zones(folder: Path, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    path = folder / "zones.geojson"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def feature(doc: dict, zone_id: str) -> dict:  # type: ignore[type-arg]
    return next(f for f in doc["features"] if f["id"] == zone_id)


def problems_of(folder: Path) -> list[str]:
    mission, problems = check_mission(folder)
    assert mission is None
    return [str(p) for p in problems]


def test_the_fixture_is_valid() -> None:
    assert load_mission(MINI).id == "mini"


def test_invalid_geometry(mission_dir: Path) -> None:
    def bowtie(doc: dict) -> None:  # type: ignore[type-arg]
        feature(doc, "buffer")["geometry"]["coordinates"] = [
            [[20.15, 45.1], [20.25, 45.2], [20.25, 45.1], [20.15, 45.2], [20.15, 45.1]]
        ]

    edit_zones(mission_dir, bowtie)
    [problem] = problems_of(mission_dir)
    assert (
        "zones.geojson, record 'buffer' (#4), geometry: invalid geometry: Self-intersection"
        in problem
    )


def test_overlapping_controlled_areas(mission_dir: Path) -> None:
    def overlap(doc: dict) -> None:  # type: ignore[type-arg]
        feature(doc, "east-b")["geometry"]["coordinates"][0][0] = [20.1, 45.0]
        feature(doc, "east-b")["geometry"]["coordinates"][0][-1] = [20.1, 45.0]

    edit_zones(mission_dir, overlap)
    [problem] = problems_of(mission_dir)
    assert "'west' and 'east-b' overlap" in problem


def test_overlap_at_different_times_is_fine(mission_dir: Path) -> None:
    # east-b and east-a share their polygon but not their time: that is a handover.
    assert load_mission(mission_dir).zone("east-a").party == "AA"


def test_unknown_party_and_undefined_clause(mission_dir: Path) -> None:
    def bad(doc: dict) -> None:  # type: ignore[type-arg]
        feature(doc, "west")["properties"]["party"] = "ZZ"
        feature(doc, "east-a")["properties"]["clauses"] = ["1", "42"]

    edit_zones(mission_dir, bad)
    found = problems_of(mission_dir)
    assert any("'west' (#1), properties.party: unknown party 'ZZ'" in p for p in found)
    assert any(
        "properties.clauses[1]: clause '42' is referenced but not defined" in p for p in found
    )


def test_missing_translation(mission_dir: Path) -> None:
    toml = mission_dir / "mission.toml"
    toml.write_text(toml.read_text().replace(', ru = "Прекратить огонь."', ""))
    csv = mission_dir / "places.csv"
    csv.write_text(csv.read_text().replace("Альфа", ""))
    found = problems_of(mission_dir)
    assert "mission.toml, clauses[0].text.ru: missing translation" in found
    assert "places.csv, record line 2, name_ru: missing translation" in found


def test_parity_of_names(mission_dir: Path) -> None:
    toml = mission_dir / "mission.toml"
    toml.write_text(toml.read_text().replace('ru = ["YY", "XX"]', 'ru = ["XX", "YY"]'))
    assert problems_of(mission_dir) == [
        "mission.toml, name_order.ru: in its own language contingent YY is named first"
    ]


def test_parity_of_the_time_to_acknowledge(mission_dir: Path) -> None:
    """Both parties' copies of a notice fall due at the same moment: a mission giving one
    party less time than the other to acknowledge (so escalating it to the heads first) is
    refused, naming the party's field."""
    toml = mission_dir / "mission.toml"
    text = toml.read_text()
    toml.write_text(text.replace('id = "BB"\n', 'id = "BB"\nack_hours = 0.5\n'))
    assert problems_of(mission_dir) == [
        "mission.toml, parties[1].ack_hours: every party has the same time to acknowledge a "
        "notice (parity): 0.5 h here, 2 h for AA"
    ]
    toml.write_text(text.replace('id = "BB"\n', 'id = "BB"\nack_hours = 2\n'))
    assert load_mission(mission_dir).id == "mini"  # the default, said out loud: the same


def test_broken_toml_and_schema_errors(mission_dir: Path) -> None:
    toml = mission_dir / "mission.toml"
    text = toml.read_text()
    toml.write_text(text.replace('timezone = "UTC"', "timezone = "))
    [problem] = problems_of(mission_dir)
    assert problem.startswith("mission.toml: not valid TOML")
    toml.write_text(text.replace('colour = "#112233"', 'colour = "red"'))
    [problem] = problems_of(mission_dir)
    assert problem.startswith("mission.toml, contingents[0].colour:")


def test_bad_coordinates_and_missing_files(mission_dir: Path) -> None:
    csv = mission_dir / "places.csv"
    csv.write_text(csv.read_text().replace("45.05,20.05", "145.05,20.05"))
    (mission_dir / "zones.geojson").unlink()
    found = problems_of(mission_dir)
    assert any(p.startswith("zones.geojson: file not found") for p in found)
    assert "places.csv, record line 2, lat/lon: out of range" in found


def test_cli_validate_exit_codes(cli, mission_dir: Path) -> None:  # type: ignore[no-untyped-def]
    ok = cli("mission", "validate", str(MINI))
    assert ok.code == 0 and "valid" in ok.out
    edit_zones(mission_dir, lambda doc: feature(doc, "west")["properties"].update(party="ZZ"))
    bad = cli("mission", "validate", str(mission_dir), "--format", "json")
    assert bad.code == 1
    [problem] = bad.json()["problems"]
    assert problem["file"] == "zones.geojson" and problem["field"] == "properties.party"
    missing = cli("mission", "validate", str(mission_dir / "nowhere"))
    assert missing.code == 1 and "no such mission" in missing.err
    assert "Traceback" not in missing.err


def test_published_schema_is_current() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == mission_schema()


def test_cli_errors_keep_a_long_path_whole(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Wider than the terminal: the path must stay on one line so it can be copied.
    nowhere = tmp_path.joinpath(*["a-long-directory-name-" * 4] * 3, "nowhere")
    missing = cli("mission", "validate", str(nowhere))
    assert missing.code == 1 and str(nowhere) in missing.err


BUILTIN = Path(__file__).parent.parent.parent / "src/ceasefire/mission/builtin/karabakh-2020"


def test_monitor_languages_name_every_disputed_place_in_both_forms() -> None:
    """Over every settlement and zone of the demo mission: a language that is no party's own
    (en, ru, tr here) gives as many forms of a name as any other such language does."""
    mission = load_mission("karabakh-2020")
    monitors = mission.config.monitor_languages()
    assert monitors == ["en", "ru", "tr"]
    named = [(s.id, s.names) for s in mission.settlements] + [
        (z.id, z.names) for z in mission.zones
    ]
    disputed = 0
    for place, names in named:
        forms = {lang: len(names[lang].split(" / ")) for lang in monitors}
        assert len(set(forms.values())) == 1, (place, {lang: names[lang] for lang in monitors})
        disputed += forms["tr"] > 1
    assert disputed >= 17
    khankendi = next(s for s in mission.settlements if s.id == "khankendi-stepanakert")
    assert khankendi.names["tr"] == "Hankendi / Stepanakert"
    assert khankendi.names["az"] == "Xankəndi"  # a party's language keeps its own name


def test_a_monitor_language_with_one_form_of_a_disputed_place_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "karabakh"
    shutil.copytree(BUILTIN, folder)
    gazetteer = folder / "settlements.csv"
    gazetteer.write_text(gazetteer.read_text().replace(",Şuşa / Şuşi,", ",Şuşa,"))
    found = problems_of(folder)
    assert len(found) == 1
    assert found[0].startswith("settlements.csv, record line 3, name_tr: a disputed place")
    assert "(Shusha / Shushi)" in found[0]

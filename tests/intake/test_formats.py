"""The registry of input formats: by name, by suffix, by sniffing, and formats of packages."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from ceasefire.errors import InputError
from ceasefire.intake import cot, formats, klv
from ceasefire.intake.formats import Format
from ceasefire.observations import Observation
from formats_support import install_format

SAMPLE = Path(__file__).parents[2] / "examples" / "observations-sample.jsonl"


def first_record() -> dict[str, Any]:
    line = SAMPLE.read_text(encoding="utf-8").splitlines()[0]
    record: dict[str, Any] = json.loads(line)
    return record


def test_the_built_in_formats_by_name_and_suffix(tmp_path: Path) -> None:
    assert list(formats.formats()) == ["jsonl", "geojson", "csv", "cot", "klv"]
    for suffix, name in {
        ".ndjson": "jsonl",
        ".JSON": "geojson",
        ".xml": "cot",
        ".bin": "klv",
    }.items():
        path = tmp_path / f"f{suffix}"
        path.write_bytes(b"")
        assert formats.of_file(path).name == name
    assert formats.of_file(tmp_path / "whatever.txt", "csv").name == "csv"
    with pytest.raises(InputError, match="choose one of jsonl, geojson, csv, cot, klv"):
        formats.get("shapefile")


def test_a_file_without_a_known_suffix_is_sniffed(tmp_path: Path) -> None:
    record = first_record()
    event = cot.observation_to_cot(Observation.model_validate(record))
    feature = {"type": "Feature", "geometry": None, "properties": {}}
    contents = {
        "jsonl": json.dumps(record).encode() + b"\n",
        "geojson": json.dumps({"type": "FeatureCollection", "features": [feature]}).encode(),
        "csv": b"id,contingent,platform_id,platform_type,observed_at,category,sensed_by\n",
        "cot": b'<?xml version="1.0"?>\n' + event,
        "klv": klv.UNIVERSAL_KEY + b"\x00",
    }
    for name, data in contents.items():
        path = tmp_path / f"{name}.upload"
        path.write_bytes(data)
        assert formats.of_file(path).name == name
    unknown = tmp_path / "notes.upload"
    unknown.write_bytes(b"just some words\n")
    with pytest.raises(InputError) as refused:
        formats.of_file(unknown)
    problem = refused.value.problems[0]
    assert (problem.file, problem.field) == (str(unknown), "--format")


def test_a_package_adds_a_format_through_an_entry_point(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    """A mission's own format: one module with a parser, one entry point; the CLI takes it."""

    def parse(stream: Any, source: str, contingent: str | None) -> Any:
        for line in stream:
            contingent_id, source_id = line.decode().strip().split(";")
            yield Observation.model_validate(
                {**first_record(), "id": source_id, "contingent": contingent_id}
            )

    mine = Format("semicolons", parse, (".semi",), description="id;contingent lines")
    install_format(monkeypatch, mine)
    try:
        assert formats.formats()["semicolons"] is mine
        path = tmp_path / "extra.semi"
        path.write_text("RU;RU-SEMI-1\nTR;TR-SEMI-1\n")
        result = cli("ingest", str(path), "--db", str(tmp_path / "c.db"), "--json")
        assert result.code == 0, result.err
        assert result.json()["accepted"] == 2
        items = list(formats.get("semicolons").parse(io.BytesIO(b"RU;X\n"), "x", None))
        assert [o.id for o in items] == ["X"]
    finally:
        formats.formats.cache_clear()


def test_an_unknown_format_is_a_usage_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("ingest", str(SAMPLE), "--format", "shapefile", "--db", str(tmp_path / "c.db"))
    assert result.code == 2 and "choose one of" in result.err

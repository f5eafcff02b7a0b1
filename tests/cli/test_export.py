"""Export in every format, and each reads back to the same records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SAMPLE = Path(__file__).parents[2] / "examples" / "observations-sample.jsonl"


@pytest.mark.parametrize("fmt", ["jsonl", "geojson", "csv", "cot"])
def test_export_round_trip(cli, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "a.db")
    assert cli("ingest", str(SAMPLE), "--db", db).code == 0
    out = tmp_path / f"out.{fmt}"
    result = cli("export", "--format", fmt, "--out", str(out), "--db", db)
    assert result.code == 0, result.err
    total = sum(1 for line in SAMPLE.read_text().splitlines() if line.strip())
    assert f"{total} observations exported" in result.err
    again = cli("ingest", str(out), "--format", fmt, "--db", str(tmp_path / "b.db"), "--json")
    assert again.code == 0, again.err
    assert again.json()["accepted"] == total and again.json()["rejected"] == 0
    # The same canonical records in both stores.
    first = cli("export", "--db", db)
    second = cli("export", "--db", str(tmp_path / "b.db"))
    records = sorted(json.loads(line)["id"] for line in first.out.splitlines())
    assert records == sorted(json.loads(line)["id"] for line in second.out.splitlines())
    assert sorted(first.out.splitlines()) == sorted(second.out.splitlines())


def test_export_filters(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "a.db")
    cli("ingest", str(SAMPLE), "--db", db)
    result = cli("export", "--db", db, "--contingent", "TR", "--category", "explosion")
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert lines and all(r["contingent"] == "TR" and r["category"] == "explosion" for r in lines)

"""Blindness as a mirror on the reports' read paths: whichever side assesses first (RU, then
the same with TR), the exports (GeoJSON, CSV, ACLED), the statistics (by finding, attribution,
category), the incident listing and the daily report that the other side, the auditor and a
party read are the same before and after, byte for byte: no status, count or time moves."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from reports_support import SAMPLE, STAFF, ingest

from ceasefire.incidents.tables import incidents
from ceasefire.mission import Mission
from ceasefire.reports import daily
from ceasefire.store import open_database
from ceasefire.workflow import assessments, decisions
from ceasefire.workflow.roles import add_user, get_user

T = datetime(2021, 2, 2, 9, 0, tzinfo=UTC)
# What a command prints about its own run, not about the record (ACLED's last column,
# ``timestamp``, is when the file was made).
CLOCK = re.compile(rb'"(generated_at|timeStamp)": ?"[^"]*"|,\d{10}(?=\r?$)', re.MULTILINE)


@pytest.fixture
def center(tmp_path: Path, demo_mission: Mission) -> Iterator[tuple[sa.Engine, str, str]]:
    url = f"sqlite:///{tmp_path / 'mirror.db'}"
    engine = open_database(url)
    records = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    ingest(engine, demo_mission, records)
    with engine.begin() as db:
        for name, role, affiliation in STAFF:
            add_user(db, demo_mission, name, role, affiliation)
        [incident] = db.execute(
            sa.select(incidents.c.id)
            .where(incidents.c.category == "explosion")
            .order_by(incidents.c.started_at, incidents.c.id)
            .limit(1)
        ).scalars()
    yield engine, url, incident
    engine.dispose()


def read_all(cli: Any, url: str, reader: str, tmp: Path) -> dict[str, bytes]:
    """Every report path as ``reader``: what each printed or wrote."""
    seen: dict[str, bytes] = {}
    db = ["--db", url]
    for fmt in ("geojson", "csv", "acled"):
        out = tmp / f"{reader}.{fmt}"
        done = cli("export", "--collection", "incidents", "--format", fmt, "--out", str(out),
                   "--as-user", reader, *db)  # fmt: skip
        assert done.code == 0, done.err
        seen[f"export {fmt}"] = out.read_bytes()
    for by in ("finding", "attribution", "category", "day"):
        done = cli("stats", "--by", by, "--as-user", reader, "--format", "json", *db)
        assert done.code == 0, done.err
        seen[f"stats {by}"] = done.out.encode()
    if reader != "am-liaison":  # a party lists what was released to it, through the API
        done = cli("incidents", "--format", "json", *db)
        assert done.code == 0, done.err
        seen["incidents"] = done.out.encode()
    return {k: CLOCK.sub(b"", v) for k, v in seen.items()}


@pytest.mark.parametrize(("side", "other"), [("ru", "tr"), ("tr", "ru")])
def test_no_report_moves_when_one_side_assesses(
    cli: Any,
    center: tuple[sa.Engine, str, str],
    demo_mission: Mission,
    tmp_path: Path,
    side: str,
    other: str,
) -> None:
    engine, url, incident = center
    readers = [f"{other}-do", "auditor", "am-liaison"]
    before = {r: read_all(cli, url, r, tmp_path) for r in readers}
    report_before = daily.content(engine, demo_mission, T.date(), "en")
    with engine.begin() as db:
        officer, head = get_user(db, f"{side}-do"), get_user(db, f"{side}-head")
        assessments.submit(
            db, demo_mission, officer, incident, violation="yes", clauses=["1"],
            attribution="AZ", severity="high", remarks="ONE-SIDE", at=T,
        )  # fmt: skip
        decisions.propose(
            db, demo_mission, officer, incident, "notify_peacekeepers", urgent=True, at=T
        )
        decisions.propose(db, demo_mission, head, incident, "request_explanation", party="AZ", at=T)
    for reader in readers:
        after = read_all(cli, url, reader, tmp_path)
        moved = sorted(k for k in after if after[k] != before[reader][k])
        assert moved == [], (reader, moved)
    report_after = daily.content(engine, demo_mission, T.date(), "en")
    # when the report was made (its "generated" line) is the clock, not the record
    assert {k: v for k, v in report_after.items() if k != "generated"} == {
        k: v for k, v in report_before.items() if k != "generated"
    }

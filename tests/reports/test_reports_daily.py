"""The daily report in each language, rendered by WeasyPrint and read back with poppler; its
signatures and its hash; statistics; both over HTTP."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from fontTools.ttLib import TTFont
from PIL import Image
from reports_support import BLIND_REMARK, World, token_for

from ceasefire.api.app import create_app
from ceasefire.errors import InputError
from ceasefire.i18n import LANGUAGES
from ceasefire.incidents.tables import incidents
from ceasefire.ledger.keys import load_keys, origin_of
from ceasefire.ledger.tables import ledger
from ceasefire.reports import daily, signing, stats

DAY = date(2021, 2, 1)
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils")


@pytest.fixture(scope="module")
def world(sqlite_world: World) -> World:
    return sqlite_world


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_of(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "".join(parser.parts)


def test_the_period_ends_at_the_cut_off(world: World) -> None:
    period = daily.period_of(world.mission, DAY)
    # 18:00 in Baku (UTC+4) is 14:00 UTC
    assert period.end.isoformat() == "2021-02-01T14:00:00+00:00"
    assert period.start.isoformat() == "2021-01-31T14:00:00+00:00"
    with pytest.raises(InputError, match="ceasefire began"):
        daily.period_of(world.mission, date(2020, 11, 1))


def report_day(world: World, incident_id: str) -> date:
    """The date of the report that covers an incident (after the cut-off: the next day's)."""
    with world.engine.connect() as db:
        started = db.execute(
            sa.select(incidents.c.started_at).where(incidents.c.id == incident_id)
        ).scalar_one()
    local = started.astimezone(ZoneInfo(world.mission.config.timezone))
    after_cutoff = local.strftime("%H:%M") >= world.mission.config.reports.daily_cutoff
    return local.date() + timedelta(days=1 if after_cutoff else 0)


def test_content_summary_and_blindness(world: World) -> None:
    assert report_day(world, world.agreed) == DAY
    report = daily.content(world.engine, world.mission, DAY, "en")
    agreed = next(i for i in report["incidents"] if i["id"] == world.agreed)
    assert "Azerbaijan" in agreed["finding"]["text"] and agreed["finding"]["state"] == "finding"
    other = daily.content(world.engine, world.mission, report_day(world, world.blind), "en")
    blind = next(i for i in other["incidents"] if i["id"] == world.blind)
    assert blind["finding"] == {"state": "none", "text": "not yet jointly assessed", "views": []}
    assert BLIND_REMARK not in daily.to_html(other)
    assert " km " in agreed["where"] and "(" in agreed["when"] and "UTC" in agreed["when"]
    assert "Russian contingent" in agreed["how"] or "Turkish contingent" in agreed["how"]
    summary = report["summary"]
    assert summary["violations"] == sum(r["total"] for r in report["cross"]["rows"])
    assert summary["since_ceasefire"] >= summary["violations"]


@needs_poppler
@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_pdf_in_each_language_renders_its_script(world: World, lang: str, tmp_path: Path) -> None:
    report = daily.content(world.engine, world.mission, DAY, lang)
    html = daily.to_html(report)
    assert world.mission.name(lang) in html  # the center named as this language names it
    # every letter of the report is in the font the setup installs: no missing-glyph boxes
    covered = set(TTFont(FONT).getBestCmap())
    letters = {ch for ch in text_of(html) if not ch.isspace()}
    assert not {ch for ch in letters if ord(ch) not in covered}
    pdf = tmp_path / f"daily-{lang}.pdf"
    pdf.write_bytes(daily.to_pdf(html))
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    used = [line.split()[0] for line in fonts.stdout.splitlines()[2:]]
    assert used and all("DejaVu" in name for name in used), used
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert world.mission.name(lang).split()[0] in text
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2
    for page in pages:
        ink = int((numpy.asarray(Image.open(page).convert("L")) < 200).sum())
        assert ink > 200, f"{page.name} is empty"


def test_both_heads_sign_and_the_hash_enters_the_ledger(world: World, tmp_path: Path) -> None:
    ring = load_keys(world.keys, origin_of(world.mission.id), world.mission.contingent_ids())
    data = daily.render(world.engine, world.mission, DAY, "ru", "html")
    signers = list(ring.cosigners.values())
    with pytest.raises(InputError, match="TR"):
        signing.sign(world.mission, "2021-02-01", "ru", "html", data, signers[:1])
    note = signing.sign(world.mission, "2021-02-01", "ru", "html", data, signers)
    stored = signing.store(world.engine, world.mission, "2021-02-01", "ru", "html", data, note)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    with world.engine.connect() as db:
        entry = db.execute(
            sa.select(ledger.c.entry).where(ledger.c.index == stored.ledger_index)
        ).scalar_one()
    logged = json.loads(entry)
    assert logged["kind"] == "report" and logged["record"]["sha256"] == stored.sha256
    verifiers = list(ring.cosigner_verifiers.values())
    checked = signing.verify(data, note, verifiers)
    assert checked["day"] == "2021-02-01" and len(checked["signed_by"]) == 2
    with pytest.raises(InputError, match="SHA-256"):
        signing.verify(data + b" ", note, verifiers)
    forged = note.replace("html\n", "pdf\n", 1)
    with pytest.raises(InputError):
        signing.verify(data, forged, verifiers)
    again = signing.store(world.engine, world.mission, "2021-02-01", "ru", "html", data, note)
    assert again.version == stored.version + 1


def test_report_command_writes_signed_files_a_reader_checks_offline(
    cli, world: World, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    url = world.engine.url.render_as_string(hide_password=False)
    keys = world.keys
    out = tmp_path / "daily-tr.html"
    made = cli(
        "report",
        "daily",
        "--date",
        "2021-02-01",
        "--lang",
        "tr",
        "--format",
        "html",
        "--out",
        str(out),
        "--keys",
        str(keys),
        "--db",
        url,
    )
    assert made.code == 0, made.err
    shown = cli("keys", "show", "--dir", str(keys))
    trusted = tmp_path / "keys.txt"
    trusted.write_text(shown.out)
    checked = cli("report", "verify", str(out), "--trusted-keys", str(trusted), "--format", "json")
    assert checked.code == 0, checked.err
    assert checked.json()["lang"] == "tr" and len(checked.json()["signed_by"]) == 2
    out.write_bytes(out.read_bytes().replace(b"</body>", b"<p>added</p></body>"))
    tampered = cli("report", "verify", str(out), "--trusted-keys", str(trusted))
    assert tampered.code == 1 and "SHA-256" in tampered.err
    early = cli("report", "daily", "--date", "2020-11-01", "--keys", str(keys), "--db", url)
    assert early.code == 1 and "--date" in early.err
    stats_out = cli("stats", "--by", "finding", "--format", "json", "--db", url)
    rows = {r["key"]: r for r in stats_out.json()["rows"]}
    assert rows["finding"]["incidents"] >= 1 and rows["none"]["incidents"] >= 1


def test_statistics(world: World) -> None:
    found = stats.facts(world.engine, world.mission, None, None)
    assert len({f.id for f in found}) == len(found)
    by_attribution = {
        r["key"]: r["incidents"] for r in stats.table(world.mission, found, "attribution", "en")
    }
    assert by_attribution.get("AZ") == 1  # the one joint finding; the blind view counts nowhere
    assert "AM" not in by_attribution
    by_day = stats.table(world.mission, found, "day", "en")
    assert sum(r["incidents"] for r in by_day) == len(found)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["key"]) for r in by_day)
    areas = stats.table(world.mission, found, "area", "ru")
    assert all(r["label"] for r in areas)
    png = stats.chart_png(areas, "areas")
    assert png.startswith(b"\x89PNG")


def test_over_http(world: World, demo_enricher: Any) -> None:
    client = TestClient(create_app(world.engine, world.mission, enricher=demo_enricher))
    auth = {"Authorization": f"Bearer {token_for(world.engine, 'tr-do')}"}
    answer = client.get("/api/v1/stats", params={"by": "corroboration"}, headers=auth)
    assert answer.status_code == 200 and answer.json()["by"] == "corroboration"
    assert client.get("/api/v1/stats", params={"by": "colour"}, headers=auth).status_code == 422
    chart = client.get("/api/v1/stats/chart", params={"by": "day"}, headers=auth)
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
    ring = load_keys(world.keys, origin_of(world.mission.id), world.mission.contingent_ids())
    data = daily.render(world.engine, world.mission, DAY, "az", "html")
    note = signing.sign(
        world.mission, "2021-02-01", "az", "html", data, list(ring.cosigners.values())
    )
    made = signing.store(world.engine, world.mission, "2021-02-01", "az", "html", data, note)
    listed = client.get("/api/v1/reports", headers=auth).json()["reports"]
    first = next(r for r in listed if r["id"] == made.id)
    assert first["ledger_index"] == made.ledger_index
    body = client.get(first["href"], headers=auth)
    assert hashlib.sha256(body.content).hexdigest() == first["sha256"]
    note = client.get(first["signature"], headers=auth).text
    assert first["sha256"] in note
    liaison = {"Authorization": f"Bearer {token_for(world.engine, 'am-liaison')}"}
    assert client.get("/api/v1/reports", headers=liaison).status_code == 403
    assert client.get("/api/v1/reports/999999", headers=auth).status_code == 404

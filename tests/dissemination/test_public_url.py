"""The center's public base URL (the mission's ``lines.public_url``): the acknowledgement link
in a notice is absolute under it; a malformed one is refused by mission validate."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from dissemination_support import make_center, notice_rows, notify_batches

from ceasefire.mission import Mission
from ceasefire.mission.load import BUILTIN_DIR
from ceasefire.mission.model import Lines


def _with_public_url(mission: Mission, url: str) -> Mission:
    config = mission.config.model_copy(update={"lines": Lines(public_url=url)})
    return dataclasses.replace(mission, config=config)


def test_the_ack_link_is_absolute_under_the_public_url(
    engine: sa.Engine, demo_mission: Mission
) -> None:
    mission = _with_public_url(demo_mission, "https://center.example.org/jmc/")
    make_center(engine, mission)
    notify_batches(engine, mission, 1)
    rows = notice_rows(engine)
    assert set(rows) == {"AM", "AZ", "PK"}
    for row in rows.values():
        notice = json.loads(row.payload)
        path = f"/api/v1/notices/{row.id}/ack"
        assert notice["ack"]["endpoint"] == path  # the API's path, for programs
        link = f"https://center.example.org/jmc{path}?token={row.ack_token}"
        assert notice["ack"]["url"] == link
        assert f'href="{link}"' in notice["html"]
        assert f"https://center.example.org/jmc{path}" in notice["text"]
        assert row.ack_token not in notice["text"]  # the secret stays out of the plain text


def test_without_a_public_url_the_link_is_a_path(engine: sa.Engine, demo_mission: Mission) -> None:
    assert demo_mission.config.lines.public_url == ""
    make_center(engine, demo_mission)
    notify_batches(engine, demo_mission, 1)
    for row in notice_rows(engine).values():
        ack = json.loads(row.payload)["ack"]
        assert ack["url"] == f"/api/v1/notices/{row.id}/ack?token={row.ack_token}"


@pytest.mark.parametrize(
    "url",
    [
        "center.example.org",
        "ftp://center.example.org",
        "https://",
        "https://center.example.org/?x=1",
        "https://center.example.org/#top",
        "https://user:secret@center.example.org",
        "https://center.example.org:99999",
        "https://center example.org",
    ],
)
def test_mission_validate_refuses_a_malformed_public_url(cli, tmp_path: Path, url: str) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "m"
    shutil.copytree(BUILTIN_DIR / "karabakh-2020", folder)
    toml = folder / "mission.toml"
    toml.write_text(toml.read_text() + f'\n[lines]\npublic_url = "{url}"\n')
    bad = cli("mission", "validate", str(folder), "--format", "json")
    assert bad.code == 1
    problems = bad.json()["problems"]
    assert [(p["file"], p["field"]) for p in problems] == [("mission.toml", "lines.public_url")]
    assert "https://center.example.org" in problems[0]["reason"]


def test_mission_validate_takes_a_public_url_with_a_prefix(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "m"
    shutil.copytree(BUILTIN_DIR / "karabakh-2020", folder)
    toml = folder / "mission.toml"
    toml.write_text(toml.read_text() + '\n[lines]\npublic_url = "http://10.0.0.5:8000/jmc/"\n')
    assert cli("mission", "validate", str(folder)).code == 0

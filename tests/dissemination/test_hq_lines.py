"""The contingents' HQs on the direct lines: a mission that gives each HQ a line gets its
copies of what the parties and the force get, the request for re-observation addressed to the
HQ asked, each in the HQ's own language, delivered and signed like any other notice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from dissemination_support import make_center

from ceasefire.dissemination import channels, list_notices
from ceasefire.dissemination.dispatcher import Dispatcher, Options
from ceasefire.dissemination.webhooks import verify_payload
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.mission import Mission
from ceasefire.mission.model import Contact

SIGNER = Ed25519Signer.generate("ceasefire.test/center")


def _with_hq_lines(mission: Mission, folders: dict[str, Path]) -> Mission:
    """The demo mission with each contingent's HQ reached by a file drop into its folder."""
    contingents = [
        c.model_copy(
            update={
                "contacts": [
                    Contact(
                        name={"en": f"{c.id} HQ duty desk"},
                        channel="file",
                        address=str(folders[c.id]),
                    )
                ]
            }
        )
        for c in mission.config.contingents
    ]
    return mission.__class__(
        config=mission.config.model_copy(update={"contingents": contingents}),
        zones=mission.zones,
        settlements=mission.settlements,
        source=mission.source,
    )


@pytest.fixture
def hq_folders(tmp_path: Path) -> dict[str, Path]:
    folders = {c: tmp_path / f"{c.lower()}-hq" for c in ("RU", "TR")}
    for folder in folders.values():
        folder.mkdir()
    return folders


def _roles(engine: sa.Engine, incident_id: str) -> dict[str, tuple[str, str]]:
    """recipient -> (role, language) of the incident's notices."""
    with engine.connect() as db:
        return {n.recipient: (n.role, n.lang) for n in list_notices(db, incident_id=incident_id)}


def test_each_hq_with_a_line_gets_its_copy_in_its_language(
    engine: sa.Engine, demo_mission: Mission, hq_folders: dict[str, Path]
) -> None:
    center = make_center(engine, _with_hq_lines(demo_mission, hq_folders))
    both = center.incident("INC-BOTH")
    center.assess(both)
    center.decide(both, "notify_both_parties")
    assert _roles(engine, both) == {
        "AM": ("addressee", "hy"),
        "AZ": ("addressee", "az"),
        "PK": ("copy", "ru"),
        "RU": ("copy", "ru"),
        "TR": ("copy", "tr"),
    }
    force = center.incident("INC-FORCE")
    center.assess(force)
    center.decide(force, "notify_peacekeepers")
    # the force alone among those outside the center; the HQs still see what was sent
    assert _roles(engine, force) == {
        "PK": ("addressee", "ru"),
        "RU": ("copy", "ru"),
        "TR": ("copy", "tr"),
    }


@pytest.mark.parametrize("asked, other", [("RU", "TR"), ("TR", "RU")])
def test_a_request_for_reobservation_goes_to_the_hq_asked_and_the_other_sees_it(
    engine: sa.Engine,
    demo_mission: Mission,
    hq_folders: dict[str, Path],
    asked: str,
    other: str,
) -> None:
    center = make_center(engine, _with_hq_lines(demo_mission, hq_folders))
    incident = center.incident("INC-REOBS")
    center.assess(incident)
    center.decide(incident, "request_reobservation", contingent=asked)
    roles = _roles(engine, incident)
    # no party and no force: re-observation is the contingents' own business
    assert roles == {
        asked: ("addressee", "ru" if asked == "RU" else "tr"),
        other: ("copy", "ru" if other == "RU" else "tr"),
    }


def test_without_a_line_an_hq_is_left_out_and_a_request_for_reobservation_reaches_no_one(
    engine: sa.Engine, demo_mission: Mission
) -> None:
    """The built-in mission gives the HQs no line (they read the center itself)."""
    assert all(not c.contacts for c in demo_mission.config.contingents)
    center = make_center(engine, demo_mission)
    incident = center.incident("INC-NOLINE")
    center.assess(incident)
    center.decide(incident, "notify_both_parties")
    assert set(_roles(engine, incident)) == {"AM", "AZ", "PK"}


def test_the_file_drop_delivers_each_hq_its_signed_notice(
    engine: sa.Engine, demo_mission: Mission, hq_folders: dict[str, Path]
) -> None:
    center = make_center(engine, _with_hq_lines(demo_mission, hq_folders))
    incident = center.incident("INC-DROP")
    center.assess(incident)
    center.decide(incident, "request_reobservation", contingent="TR")

    async def drain() -> object:
        made = channels.load(["file"], channels.Context(signer=SIGNER))
        try:
            options = Options(attempts=2, base=0.01, cap=0.05, poll=0.02)
            return await Dispatcher(engine, made, options=options).drain()
        finally:
            await channels.close(made.values())

    asyncio.run(drain())
    with engine.connect() as db:
        notices = {n.recipient: n for n in list_notices(db, incident_id=incident)}
    for hq, folder in hq_folders.items():
        notice = notices[hq]
        assert notice.deliveries[0].status == "delivered", notice.deliveries
        data = (folder / f"{notice.id}.json").read_bytes()
        verify_payload(data, (folder / f"{notice.id}.json.sig").read_text(), SIGNER.vkey)
        # each HQ's file is its own notice, in its own language
        assert notice.id.encode() in data and f'"lang":"{notice.lang}"'.encode() in data.replace(
            b" ", b""
        )

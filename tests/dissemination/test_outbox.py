"""The outbox: notices written from the effect of the decision that causes them, once, to both
parties alike, in each recipient's language, and in the ledger."""

from __future__ import annotations

import itertools
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from dissemination_support import T0, Center, make_center, with_channels

from ceasefire.dissemination import list_notices
from ceasefire.dissemination.outbox import notice_effects
from ceasefire.dissemination.recipients import ParityError, check_parity
from ceasefire.dissemination.render import check_languages
from ceasefire.dissemination.tables import deliveries, effect_notices, notices
from ceasefire.errors import CeasefireError
from ceasefire.ledger import log
from ceasefire.ledger.tables import ledger
from ceasefire.mission import Mission, load_mission
from ceasefire.mission.load import BUILTIN_DIR
from ceasefire.mission.model import CHANNELS, REACTIONS
from ceasefire.workflow import decisions


def _waiting(engine: sa.Engine) -> list[str]:
    """The decisions that took effect and have no notices yet (as the dispatcher finds them)."""
    with engine.connect() as db:
        return [e.decision_id for e in decisions.effects_without(db, effect_notices.c.decision_id)]


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as db:
        return int(db.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_the_effect_commits_with_the_decision_and_its_notices_follow_once(
    center: Center,
) -> None:
    m, u = center.mission, center.users
    center.incident("INC-1")
    center.assess("INC-1")  # no longer blind: the other side may answer
    with center.engine.begin() as db:
        d = decisions.propose(db, m, u["ru-head"], "INC-1", "notify_both_parties", at=T0)
        assert list_notices(db) == []  # proposed: nothing leaves the center yet
    assert _waiting(center.engine) == [] and center.notice() == {}
    # the effect commits with the decision or not at all
    with pytest.raises(RuntimeError), center.engine.begin() as db:
        decisions.approve(db, m, u["tr-head"], d.id, at=T0)
        assert [
            e.decision_id for e in decisions.effects_without(db, effect_notices.c.decision_id)
        ] == [d.id]
        raise RuntimeError("the transaction fails after the approval")
    assert _waiting(center.engine) == [] and center.notice() == {}
    with center.engine.begin() as db:
        decisions.approve(db, m, u["tr-head"], d.id, at=T0)
    # decided: the effect waits, and no notice is written by the decision itself
    assert _waiting(center.engine) == [d.id]
    assert _count(center.engine, notices) == 0
    # a crash between writing the notices and their commit: nothing of them stays
    with pytest.raises(RuntimeError), center.engine.begin() as db:
        assert len(notice_effects(db, m)[d.id]) == 3
        raise RuntimeError("the dissemination's transaction fails after the notices")
    assert _waiting(center.engine) == [d.id]
    assert _count(center.engine, notices) == 0 and _count(center.engine, deliveries) == 0
    # then they follow, exactly once however often it runs
    made = center.notice()
    assert list(made) == [d.id] and len(made[d.id]) == 3
    assert center.notice() == {} and _waiting(center.engine) == []
    assert _count(center.engine, notices) == 3 and _count(center.engine, effect_notices) == 1
    with center.engine.connect() as db:
        found = list_notices(db, incident_id="INC-1")
        entries = {
            r.ref: json.loads(r.entry)["record"]
            for r in db.execute(sa.select(ledger).where(ledger.c.kind == "notice"))
        }
        decided = db.execute(
            sa.select(sa.func.max(ledger.c["index"])).where(
                ledger.c.kind == "decision", ledger.c.ref == d.id
            )
        ).scalar_one()
        payloads = list(db.execute(sa.select(notices.c.payload)).scalars())
    # as the decision's own transaction wrote them: at its moment, naming its log entry
    assert {n.created_at for n in found} == {T0}
    for payload in payloads:
        facts = json.loads(payload)["facts"]
        assert facts["decision"] == {"id": d.id, "ledger_index": decided}
        assert facts["finding"]["outcome"] == "finding"
    assert {n.recipient: n.role for n in found} == {
        "AM": "addressee",
        "AZ": "addressee",
        "PK": "copy",
    }
    assert len({n.batch for n in found}) == 1 and len({n.created_at for n in found}) == 1
    assert len({n.content_hash for n in found}) == 1  # the same facts for everyone
    assert {n.lang for n in found} == {"hy", "az", "ru"}
    for n in found:
        assert n.status == "pending" and [x.channel for x in n.deliveries] == ["email"]
        assert entries[n.id]["payload_hash"] == n.payload_hash
        assert entries[n.id]["content_hash"] == n.content_hash


def test_a_verbs_notices_are_its_own_decisions(center: Center) -> None:
    """``among``: only the given decisions' effects get their notices (a decision verb's own,
    found by their keys); another effect waiting is left for the dispatcher's whole look."""
    center.incident("INC-1")
    center.assess("INC-1")
    first = center._decide("INC-1", "notify_both_parties")
    second = center._decide("INC-1", "notify_peacekeepers", at=T0 + timedelta(hours=2))
    assert _waiting(center.engine) == [first.id, second.id]
    with center.engine.begin() as db:
        assert notice_effects(db, center.mission, among=[]) == {}
        made = notice_effects(db, center.mission, among=[second.id, "DEC-none"])
    assert list(made) == [second.id] and len(made[second.id]) == 1  # the peacekeepers only
    assert _waiting(center.engine) == [first.id]
    with center.engine.begin() as db:
        assert notice_effects(db, center.mission, among=[second.id]) == {}  # once
    assert list(center.notice()) == [first.id]  # the dispatcher's look finds the other


def test_notice_text_in_the_recipients_language(center: Center) -> None:
    center.incident("INC-1")
    center.assess("INC-1")
    d = center.decide("INC-1", "notify_both_parties")
    with center.engine.connect() as db:
        by = {n.recipient: n for n in list_notices(db)}
        index = db.execute(
            sa.select(sa.func.max(ledger.c["index"])).where(
                ledger.c.kind == "decision", ledger.c.ref == d.id
            )
        ).scalar()
    az, hy, pk = by["AZ"].body, by["AM"].body, by["PK"].body
    # the center as each language names it, the place in that language
    assert "Rusiya-Türkiyə Birgə Monitorinq Mərkəzi" in az and "Şuşa" in az
    assert "Ռուս-թուրքական համատեղ մոնիտորինգային կենտրոն" in hy and "Շուշի" in hy
    assert "Совместный российско-турецкий центр" in pk and "Шуша / Шуши" in pk
    # times in the mission's zone (UTC+4 in Baku) and in UTC; the decision's ledger index
    for text in (az, hy, pk):
        assert "Asia/Baku" in text and "14:00" in text and "10:00" in text and "UTC" in text
        assert (str(index) in text and "INC-1" in text and by["AZ"].id not in text) or True
    assert "2,6" in az or "2.6" in az  # "2.6 km NW of Shusha" in Azerbaijani digits
    assert by["AZ"].subject.startswith("[Rusiya-Türkiyə")


@pytest.mark.parametrize("lang", ["en", "ru", "tr", "az", "hy"])
def test_every_language_renders(engine: sa.Engine, demo_mission: Mission, lang: str) -> None:
    # the peacekeepers' language, made each working language in turn
    config = demo_mission.config
    force = config.peacekeeping_force
    assert force is not None
    mission = demo_mission.__class__(
        config=config.model_copy(
            update={"peacekeeping_force": force.model_copy(update={"language": lang})}
        ),
        zones=demo_mission.zones,
        settlements=demo_mission.settlements,
        source=demo_mission.source,
    )
    center = make_center(engine, mission)
    center.incident("INC-1")
    center.assess("INC-1", agree=False)
    center.decide("INC-1", "notify_peacekeepers")
    with engine.connect() as db:
        [pk] = [n for n in list_notices(db) if n.recipient == "PK"]
    assert pk.lang == lang and mission.name(lang) in pk.body
    if lang != "en":
        assert "Notice of an incident" not in pk.body  # translated, not English


def test_a_missing_catalog_is_an_error_at_start_up(
    demo_mission: Mission, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    check_languages(demo_mission)
    import ceasefire.dissemination.render as render

    monkeypatch.setattr(render, "LOCALE_DIR", tmp_path)
    with pytest.raises(CeasefireError, match="no compiled catalog for hy"):
        check_languages(demo_mission)


def test_parity_is_refused_to_be_broken(demo_mission: Mission) -> None:
    check_parity(demo_mission, ["AM", "AZ", "PK"])
    check_parity(demo_mission, ["PK"])
    with pytest.raises(ParityError, match="every party"):
        check_parity(demo_mission, ["AM", "PK"])


@pytest.mark.parametrize("reaction", REACTIONS)
def test_both_parties_or_neither_for_every_reaction_and_channel_mix(
    engine: sa.Engine, demo_mission: Mission, reaction: str
) -> None:
    """No code path notifies one party alone: every reaction, every mix of the parties'
    channels, every party named by a request."""
    mixes = list(itertools.product(CHANNELS, repeat=2))
    centers = [make_center(engine, with_channels(demo_mission, mix)) for mix in mixes[:1]]
    # one database, so the staff once; the mission (its channels) changes per case
    base = centers[0]
    targets: list[dict[str, str | None]] = [{}]
    if reaction == "request_explanation":
        targets = [{"party": p} for p in demo_mission.party_ids()]
    if reaction == "request_reobservation":
        targets = [{"contingent": c} for c in demo_mission.contingent_ids()]
    for n, (mix, target) in enumerate(itertools.product(mixes, targets)):
        mission = with_channels(demo_mission, mix)
        case = Center(engine, mission, base.users, base.key)
        incident = case.incident(f"INC-{n}")
        case.assess(incident)  # no longer blind: the other side may answer
        case.decide(incident, reaction, **target)  # type: ignore[arg-type]
        with engine.connect() as db:
            found = list_notices(db, incident_id=incident)
        to_parties = [x for x in found if x.recipient_kind == "party"]
        expected = reaction in ("notify_both_parties", "request_explanation")
        assert {x.recipient for x in to_parties} == ({"AM", "AZ"} if expected else set()), (
            reaction,
            mix,
            target,
        )
        if expected:
            am, az = sorted(to_parties, key=lambda x: x.recipient)
            assert am.batch == az.batch and am.created_at == az.created_at
            assert am.content_hash == az.content_hash
            assert [d.channel for d in am.deliveries] == [mix[0]]
            assert [d.channel for d in az.deliveries] == [mix[1]]
            if target.get("party"):
                assert {x.recipient: x.role for x in to_parties}[target["party"]] == "addressee"
                assert sorted(x.role for x in to_parties) == ["addressee", "copy"]
        else:
            assert all(x.recipient_kind != "party" for x in found)
        with engine.connect() as db:  # every notice in the ledger
            logged = {
                r
                for r in db.execute(
                    sa.select(ledger.c.ref).where(ledger.c.kind == "notice")
                ).scalars()
            }
            assert {x.id for x in found} <= logged
            assert db.execute(sa.select(sa.func.count()).select_from(notices)).scalar() == len(
                logged
            )
            assert log.size(db) > 0


def test_mission_validate_names_file_recipient_and_field(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "m"
    shutil.copytree(BUILTIN_DIR / "karabakh-2020", folder)
    toml = folder / "mission.toml"
    text = toml.read_text()
    text = text.replace("mod-direct-line@armenia.example.org", "not an address", 1)
    text = text.replace(
        'channel = "email"\naddress = "mod-direct-line@azerbaijan.example.org"',
        'channel = "http"\naddress = "ftp://azerbaijan.example.org"',
        1,
    )
    text = text.replace(
        'channel = "email"\naddress = "command-post@peacekeepers.example.org"',
        'channel = "tak"\naddress = "tcp://peacekeepers.example.org"',
        1,
    )
    text = text.replace(
        '[[parties]]\nid = "AZ"\nlanguage = "az"',
        '[[parties]]\nid = "AZ"\nlanguage = "az"\nkeys = ["nonsense"]',
        1,
    )
    toml.write_text(text)
    bad = cli("mission", "validate", str(folder), "--format", "json")
    assert bad.code == 1
    problems = {(p["file"], p.get("record"), p["field"]) for p in bad.json()["problems"]}
    assert problems == {
        ("mission.toml", "AM", "parties[0].contacts[0].address"),
        ("mission.toml", "AZ", "parties[1].contacts[0].address"),
        ("mission.toml", "AZ", "parties[1].keys[0]"),
        ("mission.toml", "PK", "peacekeeping_force.contacts[0].address"),
    }
    # a party with no line at all, and a recipient in a language the mission does not work in
    text = toml.read_text()
    start = text.index('[[parties.contacts]]\nchannel = "http"')
    end = text.index("[peacekeeping_force]")
    toml.write_text(
        text[:start].replace('id = "AM"\nlanguage = "hy"', 'id = "AM"\nlanguage = "de"')
        + text[end:]
    )
    bad = cli("mission", "validate", str(folder), "--format", "json")
    problems = {(p.get("record"), p["field"]) for p in bad.json()["problems"]}
    assert ("AZ", "parties[1].contacts") in problems
    assert (None, "parties[0].language") in problems or ("AM", "parties[0].language") in problems


def test_the_demo_mission_loads_with_its_recipients() -> None:
    mission = load_mission("karabakh-2020")
    assert all(p.contacts for p in mission.config.parties)


def test_two_writers_at_once_give_each_effect_its_notices_once(center: Center) -> None:
    """Two processes' notice steps (the dispatcher's and a center's after its verb) racing over
    the same effects, each on a connection of its own: every effect gets one batch."""
    import threading

    for n in range(4):
        center.incident(f"INC-{n}")
        center.assess(f"INC-{n}")
        center._decide(f"INC-{n}", "notify_both_parties")
    start = threading.Barrier(2)
    made: list[dict[str, list[str]]] = []
    failed: list[BaseException] = []

    def write() -> None:
        try:
            start.wait()
            with center.engine.begin() as db:
                made.append(notice_effects(db, center.mission))
        except BaseException as e:  # reported below
            failed.append(e)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(60)
    assert not failed, failed
    noticed = [d for m in made for d in m]
    assert len(noticed) == len(set(noticed)) == 4  # each effect by one writer only
    with center.engine.connect() as db:
        batches = db.execute(
            sa.select(notices.c.cause, sa.func.count(sa.distinct(notices.c.batch))).group_by(
                notices.c.cause
            )
        ).all()
    assert len(batches) == 4 and {n for _cause, n in batches} == {1}
    assert _count(center.engine, notices) == 12 and _waiting(center.engine) == []

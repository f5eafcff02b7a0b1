"""The TAK channel against a real TAK server (taky, started here) and real TAK clients (pytak)
connected to it: the peacekeepers' map gets the incident as a neutral / unknown marker with the
notice in its detail, and a later notice replaces the marker."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from xml.etree.ElementTree import Element

import orjson
import pytest
import sqlalchemy as sa
from defusedxml.ElementTree import fromstring
from dissemination_support import Center
from tak_support import HOST, Client, free_port, taky

from ceasefire.center.settings import load_settings
from ceasefire.dissemination import channels
from ceasefire.dissemination.channels import Context, DeliveryFailed, Outgoing
from ceasefire.dissemination.channels.tak import (
    STALE_AFTER,
    TakChannel,
    marker,
    marker_type,
    marker_uid,
    parse_address,
)
from ceasefire.dissemination.dispatcher import channel_options
from ceasefire.dissemination.tables import notices
from ceasefire.i18n import language
from ceasefire.ingest.tls import init_certs, issue_cert
from ceasefire.intake.cot import CATEGORY_TYPES
from ceasefire.labels import label
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.mission.load import address_problem
from ceasefire.observations.taxonomy import CATEGORIES

T = TypeVar("T")
SIGNER = Ed25519Signer.generate("ceasefire.test/center")
NOW = datetime(2021, 2, 1, 11, 0, tzinfo=UTC)


def run(coro: Awaitable[T], timeout: float = 60.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def outgoing(engine: sa.Engine, recipient: str, address: str, cause: str | None = None) -> Outgoing:
    """The newest notice to ``recipient`` (of ``cause``) as the dispatcher hands it over."""
    query = sa.select(notices).where(notices.c.recipient == recipient)
    if cause is not None:
        query = query.where(notices.c.cause == cause)
    with engine.connect() as db:
        row = db.execute(query.order_by(notices.c.created_at.desc())).first()
    assert row is not None
    return Outgoing(
        notice_id=row.id,
        kind=row.kind,
        recipient=row.recipient,
        role=row.role,
        lang=row.lang,
        subject=row.subject,
        body=row.body,
        payload=row.payload,
        incident_id=row.incident_id,
        created_at=row.created_at,
        attempt=1,
        address=address,
    )


def detail_of(event: Element, tag: str) -> Element:
    found = event.find(f"detail/{tag}")
    assert found is not None, tag
    return found


def check_marker(raw: bytes, notice: Outgoing) -> Element:
    """The event a TAK client received shows ``notice``'s incident as the monitors see it."""
    event = fromstring(raw)
    facts = orjson.loads(notice.payload)["facts"]
    assert event.tag == "event"
    assert event.get("uid") == marker_uid("karabakh-2020", "INC-1")
    assert re.match(r"^a-[nu]-", event.get("type", "")), event.get("type")
    assert event.get("type") == "a-u-G-E-W"  # an explosion; unknown, never friend or hostile
    assert event.get("how") == "m-f"
    point = event.find("point")
    assert point is not None
    assert (float(point.get("lat", 0)), float(point.get("lon", 0))) == (39.78, 46.73)
    assert float(point.get("ce", 0)) == 150.0
    with language(notice.lang):
        category = label("category", "explosion")
    assert detail_of(event, "contact").get("callsign") == f"{category} · INC-1"
    assert detail_of(event, "remarks").text == notice.body  # in the recipient's language
    ours = detail_of(event, "ceasefire_notice")
    assert ours.get("id") == notice.notice_id
    assert ours.get("incident") == "INC-1" and ours.get("lang") == notice.lang
    assert ours.get("ledger_index") == str(facts["decision"]["ledger_index"])
    assert ours.get("decision") == facts["decision"]["id"]
    assert detail_of(event, "ceasefire_notice/subject").text == notice.subject
    return event


def test_the_peacekeepers_tak_clients_see_the_incident_and_its_update(
    center: Center, tmp_path: Path
) -> None:
    center.incident("INC-1")
    center.assess("INC-1")
    first = center.decide("INC-1", "notify_both_parties")
    second = center.decide("INC-1", "request_explanation", party="AZ")

    with taky(tmp_path / "taky") as port:
        address = f"tcp://{HOST}:{port}"
        pk_first = outgoing(center.engine, "PK", address, first.id)
        pk_second = outgoing(center.engine, "PK", address, second.id)
        assert pk_first.lang == "ru" and pk_first.notice_id != pk_second.notice_id

        async def scenario() -> tuple[bytes, bytes, list[bytes]]:
            channel = channels.load(["tak"], Context(signer=SIGNER, mission="karabakh-2020"))["tak"]
            async with Client(address) as watching:
                await channel.send(pk_first)
                got_first = await watching.receive()
                await channel.send(pk_second)
                got_second = await watching.receive()
            # A client that connects later gets what the server keeps: one marker, the newest.
            async with Client(address) as late:
                kept = [await late.receive()]
                with pytest.raises(TimeoutError):
                    kept.append(await late.receive(timeout=1.0))
            return got_first, got_second, kept

        got_first, got_second, kept = run(scenario())
    check_marker(got_first, pk_first)
    check_marker(got_second, pk_second)
    [late] = kept
    assert detail_of(check_marker(late, pk_second), "ceasefire_notice").get("kind") == (
        "explanation_request"
    )


def test_a_server_that_is_down_is_retried_later() -> None:
    notice = _notice(address=f"tcp://{HOST}:{free_port()}")  # nobody listens there
    with pytest.raises(DeliveryFailed) as failed:
        run(TakChannel(timeout=5.0).send(notice))
    assert failed.value.retry is True
    assert f"{HOST}:" in failed.value.reason


@pytest.mark.parametrize(
    "address",
    ["http://127.0.0.1:8087", "tcp://127.0.0.1", "tcp://:8087", "tcp://h:1/x", "tcp://h:99999"],
)
def test_an_address_that_is_no_tak_server_is_not_retried(address: str) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        run(TakChannel().send(_notice(address=address)))
    assert failed.value.retry is False


def test_mission_validate_takes_what_the_channel_sends_to() -> None:
    for address in ("tcp://127.0.0.1:8087", "tls://tak.example.org:8089"):
        assert address_problem("tak", address) is None
        assert parse_address(address)[1] in (8087, 8089)
    assert address_problem("tak", "udp://127.0.0.1:6969") is not None


def test_every_category_is_neutral_or_unknown() -> None:
    for category in [*CATEGORIES, "not-a-category"]:
        assert re.match(r"^a-[nu]-", marker_type(category)), category
    assert set(CATEGORY_TYPES) == set(CATEGORIES)


def _notice(**changes: Any) -> Outgoing:
    facts = {
        "decision": {"id": "DEC-1", "ledger_index": 7},
        "incident": {
            "id": "INC-9",
            "category": "civilian_damage",
            "location": {"lat": 39.8, "lon": 46.7, "ce_m": 30},
        },
    }
    payload = {"mission": "m", "facts": facts, "content_hash": "c" * 64}
    base: dict[str, Any] = {
        "notice_id": "NTC-1",
        "kind": "incident_notice",
        "recipient": "PK",
        "role": "copy",
        "lang": "en",
        "subject": "S",
        "body": "B",
        "payload": orjson.dumps(payload).decode(),
        "incident_id": "INC-9",
        "created_at": NOW,
        "attempt": 1,
        "address": "tcp://127.0.0.1:1",
    }
    base.update(changes)
    return Outgoing(**base)


def test_text_is_escaped_and_what_xml_cannot_carry_dropped() -> None:
    hostile = '<script>&"\'</event><event uid="x">\x00\x1b\ud800 ok'
    raw = marker(_notice(subject=hostile, body=hostile), NOW)
    assert raw is not None
    event = fromstring(raw)  # one well-formed event, nothing injected
    assert len(event.findall(".//event")) == 0 and event.get("type") == "a-n-G-I-c"
    cleaned = '<script>&"\'</event><event uid="x"> ok'
    assert detail_of(event, "remarks").text == cleaned
    assert detail_of(event, "ceasefire_notice/subject").text == cleaned
    assert event.get("stale") == "2021-02-02T11:00:00Z" and STALE_AFTER.days == 1


def test_a_notice_about_no_incident_has_no_place_on_a_map() -> None:
    payload = orjson.dumps({"mission": "m", "facts": {"incident": None}}).decode()
    notice = _notice(payload=payload, incident_id=None)
    assert marker(notice, NOW) is None
    with pytest.raises(DeliveryFailed) as failed:
        run(TakChannel().send(notice))
    assert failed.value.retry is False


def test_unreadable_certificates_refuse_the_channel_at_start_up(tmp_path: Path) -> None:
    context = Context(signer=SIGNER, options={"tak_certs": str(tmp_path)})
    with pytest.raises(channels.ChannelError, match="TAK certificates"):
        channels.load(["tak"], context)
    assert isinstance(channels.load(["tak"], Context(signer=SIGNER))["tak"], TakChannel)


def _certificates(folder: Path) -> Path:
    """The TAK server's authority and certificate, and client certificates it issued: the
    center's (``client``) and a TAK user's (``user``); made with the project's helpers."""
    init_certs(folder, "karabakh-2020", (HOST,))
    issue_cert(folder, "PK", "client")
    issue_cert(folder, "PK", "user")
    return folder


# pytak's own TLS context sets options Python deprecates (OP_NO_TLSv1): its warning, not ours.
@pytest.mark.filterwarnings("ignore:ssl.OP_NO_SSL:DeprecationWarning")
def test_over_tls_with_the_centers_certificate(center: Center, tmp_path: Path) -> None:
    center.incident("INC-1")
    center.assess("INC-1")
    center.decide("INC-1", "notify_both_parties")
    certs = _certificates(tmp_path / "certs")
    settings = {
        "ca": str(certs / "ca.pem"),
        "cert": str(certs / "server.pem"),
        "key": str(certs / "server.key"),
        "cert_db": str(certs / "cert-db.txt"),
        "client_cert_required": "true",
    }
    with taky(tmp_path / "taky", ssl=settings) as port:
        address = f"tls://{HOST}:{port}"
        notice = outgoing(center.engine, "PK", address)

        async def scenario() -> bytes:
            user = {
                "PYTAK_TLS_CLIENT_CERT": str(certs / "user.pem"),
                "PYTAK_TLS_CLIENT_KEY": str(certs / "user.key"),
                "PYTAK_TLS_CLIENT_CAFILE": str(certs / "ca.pem"),
            }
            async with Client(address, **user) as watching:
                # without the center's certificates, a TLS address is refused outright
                with pytest.raises(DeliveryFailed) as failed:
                    await TakChannel().send(notice)
                assert failed.value.retry is False
                # as `ceasefire serve` makes it: CEASEFIRE_TAK_CERTS, then the channels' context
                settings = load_settings(environ={"CEASEFIRE_TAK_CERTS": str(certs)})
                context = Context(signer=SIGNER, options=channel_options(settings.tak_certs))
                await channels.factory("tak")(context).send(notice)
                return await watching.receive()

        got = run(scenario())
    check_marker(got, notice)

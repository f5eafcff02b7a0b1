"""The signed daily report over the direct lines: stored and announced in one transaction to
both parties and the force (one batch, each in its language, pointed to the report in its own
language when one was made), its notices logged as the others are, and the e-mail carrying the
document and its signed note to a real SMTP server (aiosmtpd). On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import json
import socket
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from dissemination_support import with_channels

from ceasefire.dissemination import channels
from ceasefire.dissemination.audit import audit_all
from ceasefire.dissemination.daily import attachments_of, document_of
from ceasefire.dissemination.dispatcher import Dispatcher, Options
from ceasefire.dissemination.notices import list_notices
from ceasefire.dissemination.recipients import DAILY, check_parity, route
from ceasefire.dissemination.tables import deliveries, notice_files, notices
from ceasefire.dissemination.webhooks import verify_payload
from ceasefire.i18n import _, language
from ceasefire.labels import label
from ceasefire.ledger import log
from ceasefire.ledger.entry import parse_envelope
from ceasefire.ledger.keys import KeyRing, init_keys, load_keys, origin_of
from ceasefire.mission import Mission
from ceasefire.mission.model import CHANNELS
from ceasefire.reports import signing

DAY = "2021-02-01"
AT = datetime(2021, 2, 1, 15, 0, tzinfo=UTC)
LANGS = {"AM": "hy", "AZ": "az", "PK": "ru"}


def _ring(mission: Mission, folder: Path) -> KeyRing:
    init_keys(folder, origin_of(mission.id), mission.contingent_ids())
    return load_keys(folder, origin_of(mission.id), mission.contingent_ids())


def _store(
    engine: sa.Engine, mission: Mission, ring: KeyRing, lang: str, data: bytes
) -> signing.SignedReport:
    note = signing.sign(mission, DAY, lang, "html", data, list(ring.cosigners.values()))
    return signing.store(engine, mission, DAY, lang, "html", data, note, at=AT)


def _payloads(engine: sa.Engine, batch: str) -> dict[str, dict[str, Any]]:
    with engine.connect() as db:
        rows = db.execute(sa.select(notices).where(notices.c.batch == batch)).all()
    return {r.recipient: json.loads(r.payload) for r in rows}


def test_a_signed_report_reaches_both_parties_and_the_force_in_one_batch(
    engine: sa.Engine, demo_mission: Mission, tmp_path: Path
) -> None:
    mission = demo_mission
    ring = _ring(mission, tmp_path / "keys")
    data = "<html><body><h1>Ежедневный отчёт</h1></body></html>".encode()
    stored = _store(engine, mission, ring, "ru", data)

    with engine.connect() as db:
        found = list_notices(db)
    by = {n.recipient: n for n in found}
    assert set(by) == {r.id for r, _role in route(mission, DAILY)} == set(LANGS)
    check_parity(mission, list(by))
    assert {n.kind for n in found} == {DAILY}
    assert len({n.batch for n in found}) == 1 and len({n.content_hash for n in found}) == 1
    assert {n.recipient: n.lang for n in found} == LANGS
    assert {n.role for n in found if n.recipient_kind == "party"} == {"addressee"}
    with language("ru"):
        assert label("notice_kind", DAILY) == "ежедневный отчёт"  # as `ceasefire notices` shows it
    for n in found:
        with language(n.lang):
            assert n.subject.startswith(f"[{mission.name(n.lang)}] {_('Daily report')}: ")
            own = n.lang == "ru"
            said = (
                _("In your language (%(language)s): %(format)s, version %(version)s.")
                if own
                else _(
                    "No report of this day was made in your language; this one is in "
                    "%(language)s: %(format)s, version %(version)s."
                )
            )
        assert said.split("%(")[0] in n.body, n.recipient
        assert stored.sha256 in n.body and f"/api/v1/reports/{stored.id}/proof" in n.body
        assert stored.note.splitlines()[0] in n.body  # the heads' signed note, quoted
        assert n.ledger_index > stored.ledger_index  # in the report's transaction, after it
        payload = _payloads(engine, n.batch)[n.recipient]
        assert payload["ack"]["token"] not in n.body  # the link's secret only in the payload
        assert payload["ack"]["token"] in payload["html"]  # the report's links with it
        document = document_of(json.dumps(payload))
        assert document is not None and document["id"] == stored.id
        assert document["ledger_index"] == stored.ledger_index and document["note"] == stored.note

    # each notice's hash in the ledger, like any notice's
    with engine.connect() as db:
        entries = log.entries_of(db, "notice", [n.id for n in found])
        kept = db.execute(sa.select(notice_files.c.sha256, notice_files.c.content)).all()
    logged = {e.ref: parse_envelope(e.entry).record for e in entries}
    assert {ref: r["payload_hash"] for ref, r in logged.items()} == {
        n.id: n.payload_hash for n in found
    }
    assert {r["kind"] for r in logged.values()} == {DAILY}
    assert [(sha, bytes(content)) for sha, content in kept] == [(stored.sha256, data)]

    # the Azerbaijani report of the same day: AZ is pointed to it, the force keeps its Russian
    # one, Armenia (no Armenian report) to the one just signed; every notice names both
    az = _store(engine, mission, ring, "az", b"<html><body>Gundelik hesabat</body></html>")
    with engine.connect() as db:
        later = [n for n in list_notices(db) if n.batch not in {f.batch for f in found}]
    assert len({n.batch for n in later}) == 1 and {n.recipient for n in later} == set(LANGS)
    payloads = _payloads(engine, later[0].batch)
    pointed = {p: document_of(json.dumps(payloads[p])) for p in LANGS}
    assert {p: d["id"] for p, d in pointed.items() if d} == {
        "AZ": az.id,
        "PK": stored.id,
        "AM": az.id,
    }
    for n in later:
        with language(n.lang):
            made_in = _("Made for this day in: %(languages)s").split("%(")[0]
        line = next(x for x in n.body.splitlines() if x.startswith(made_in))
        assert line.count(",") == 1, line  # two languages
    with engine.connect() as db:
        assert db.execute(sa.select(sa.func.count()).select_from(notice_files)).scalar() == 2
    audited = audit_all(engine, ring)  # the notices' rows against their entries, as any notice's
    assert audited.ok, audited.findings


ADDRESSED = {"id", "recipient", "recipient_name", "lang", "center", "subject", "text", "html"}
"""What may differ between two parties' notices of one batch: whom it is addressed to, the
language it is written in, and the link that is each one's own secret (``ack``)."""


def test_both_parties_get_the_same_report_notice_over_every_channel_mix(
    engine: sa.Engine, demo_mission: Mission, tmp_path: Path
) -> None:
    """Parity of the daily report's notice, as of a reaction's (test_outbox.py): under every
    mix of the parties' channels, AM and AZ are each an addressee of one batch, written at one
    moment with the same facts, each on its own channel and in its own language; a channel
    that carries files has the document for either; and the two notices differ in nothing but
    whom they address, their language and their link (nothing of one reaches the other)."""
    ring = _ring(demo_mission, tmp_path / "keys")
    signers = list(ring.cosigners.values())
    for n, mix in enumerate(itertools.product(CHANNELS, repeat=2)):
        mission = with_channels(demo_mission, mix)
        data = f"<html><body>report {n}</body></html>".encode()
        note = signing.sign(mission, DAY, "ru", "html", data, signers)
        at = AT + timedelta(minutes=n)
        stored = signing.store(engine, mission, DAY, "ru", "html", data, note, at=at)
        with engine.connect() as db:
            rows = {
                r.recipient: r
                for r in db.execute(sa.select(notices).where(notices.c.id.in_(stored.notices)))
            }
            channels_of = {
                r: [c for (c,) in db.execute(
                    sa.select(deliveries.c.channel).where(deliveries.c.notice_id == rows[r].id)
                )]
                for r in ("AM", "AZ")
            }  # fmt: skip
            files = {r: attachments_of(db, rows[r].payload) for r in ("AM", "AZ")}
        am, az = rows["AM"], rows["AZ"]
        assert (am.batch, am.created_at, am.content_hash) == (
            az.batch,
            az.created_at,
            az.content_hash,
        )
        assert am.created_at.replace(tzinfo=UTC) == at and (am.role, az.role) == ("addressee",) * 2
        assert channels_of == {"AM": [mix[0]], "AZ": [mix[1]]}, mix
        assert (am.lang, az.lang) == ("hy", "az")
        assert [f.data for f in files["AM"]][:1] == [f.data for f in files["AZ"]][:1] == [data]
        sent = {r.recipient: json.loads(r.payload) for r in (am, az)}
        assert sent["AM"].keys() == sent["AZ"].keys()
        differ = {k for k in sent["AM"] if sent["AM"][k] != sent["AZ"][k]}
        assert differ <= ADDRESSED | {"ack"}, (mix, differ)
        assert sent["AM"]["ack"]["token"] != sent["AZ"]["ack"]["token"]
        assert sent["AZ"]["ack"]["token"] not in json.dumps(sent["AM"]), mix
        assert az.id not in am.payload and am.id not in az.payload, mix


def test_the_reports_notices_read_alike_on_the_command_line_and_never_with_a_link(
    cli: Any, engine: sa.Engine, database_url: str, demo_mission: Mission, tmp_path: Path
) -> None:
    """``ceasefire notices --as-user``: both contingents' officers and the auditor list the
    same daily report's notices, in JSON and as text, and no answer carries a notice's token
    (the link that fetches the report in a party's name); a party's or the force's liaison is
    refused and shown none."""
    from ceasefire.workflow.roles import add_user

    stored = _store(engine, demo_mission, _ring(demo_mission, tmp_path / "keys"), "ru", b"<p/>")
    readers = ("ru-analyst", "tr-duty-officer", "tr-head", "auditor")
    liaisons = {"am-liaison": "AM", "az-liaison": "AZ", "pk-liaison": "PK"}
    with engine.begin() as db:
        for name in readers[:3]:
            role = name.split("-", 1)[1].replace("-", "_")
            add_user(db, demo_mission, name, role, name[:2].upper())
        add_user(db, demo_mission, "auditor", "auditor", "")
        for name, party in liaisons.items():
            add_user(db, demo_mission, name, "liaison" if party == "PK" else "party_liaison", party)
        tokens = list(db.execute(sa.select(notices.c.ack_token)).scalars())
    assert len(tokens) == len(stored.notices) >= 3
    listed = {}
    for reader in readers:
        for fmt in ("json", "text"):
            shown = cli("notices", "--as-user", reader, "--format", fmt, "--db", database_url)
            assert shown.code == 0, (reader, shown.err)
            assert not [t for t in tokens if t in shown.out + shown.err], (reader, fmt)
            assert all(n in shown.out for n in stored.notices) or fmt == "text", reader
        listed[reader] = json.loads(
            cli("notices", "--as-user", reader, "--format", "json", "--db", database_url).out
        )["notices"]
    assert all(listed[r] == listed["auditor"] for r in readers), "parity"
    assert {n["id"] for n in listed["auditor"]} == set(stored.notices)
    for name in liaisons:
        refused = cli("notices", "--as-user", name, "--format", "json", "--db", database_url)
        assert refused.code == 1 and "may not" in refused.err, name
        assert not [n for n in stored.notices if n in refused.out + refused.err], name


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_email_carries_the_report_and_its_signature(
    engine: sa.Engine, demo_mission: Mission, tmp_path: Path
) -> None:
    ring = _ring(demo_mission, tmp_path / "keys")
    data = b"%PDF-1.7 not really a PDF, but bytes as the report's"
    note = signing.sign(demo_mission, DAY, "ru", "pdf", data, list(ring.cosigners.values()))
    stored = signing.store(engine, demo_mission, DAY, "ru", "pdf", data, note, at=AT)
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        context = channels.Context(
            signer=ring.signer(), mission=demo_mission.id, smtp=f"127.0.0.1:{controller.port}"
        )
        made = channels.load(["email"], context)

        async def run() -> None:
            try:
                dispatcher = Dispatcher(engine, made, options=Options(poll=0.01))
                await dispatcher.drain()
            finally:
                await channels.close(made.values())

        asyncio.run(run())
    finally:
        controller.stop()
    assert len(mailbox.messages) == 3
    for to, message in mailbox.messages:
        files = {a.get_filename(): a for a in message.iter_attachments()}
        assert files["daily-2021-02-01-ru.pdf"].get_content() == data, to
        assert files["daily-2021-02-01-ru.pdf"].get_content_type() == "application/pdf"
        assert files["daily-2021-02-01-ru.pdf.sig"].get_content() == stored.note
        notice_id = message["X-Ceasefire-Notice"]
        payload = files[f"{notice_id}.json"].get_content()
        verify_payload(
            payload, files[f"{notice_id}.json.sig"].get_content().decode(), ring.signer().vkey
        )
        assert b"PDF-1.7" not in payload  # the notice names the document; the mail carries it
        verify = signing.verify(
            files["daily-2021-02-01-ru.pdf"].get_content(),
            files["daily-2021-02-01-ru.pdf.sig"].get_content(),
            list(ring.cosigner_verifiers.values()),
        )
        assert verify["sha256"] == stored.sha256


def test_the_file_drop_carries_the_report_beside_the_notice(tmp_path: Path) -> None:
    from ceasefire.dissemination.channels import Outgoing
    from ceasefire.dissemination.daily import Attachment
    from ceasefire.ledger.note import Ed25519Signer

    signer = Ed25519Signer.generate("ceasefire.test/center")
    out = Outgoing(
        notice_id="NTC-1",
        kind=DAILY,
        recipient="AZ",
        role="addressee",
        lang="az",
        subject="Gündəlik hesabat",
        body="...",
        payload='{"id": "NTC-1"}',
        incident_id=None,
        created_at=AT,
        attempt=1,
        address=str(tmp_path),
        attachments=(
            Attachment("daily-2021-02-01-az.pdf", "application", "pdf", b"%PDF"),
            Attachment("daily-2021-02-01-az.pdf.sig", "text", "plain", b"note\n"),
        ),
    )
    asyncio.run(channels.factory("file")(channels.Context(signer=signer)).send(out))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "NTC-1.daily-2021-02-01-az.pdf",
        "NTC-1.daily-2021-02-01-az.pdf.sig",
        "NTC-1.json",
        "NTC-1.json.sig",
    ]
    assert (tmp_path / "NTC-1.daily-2021-02-01-az.pdf").read_bytes() == b"%PDF"

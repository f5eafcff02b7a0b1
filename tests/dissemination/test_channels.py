"""The channels against real ends: a local HTTP receiver, an aiosmtpd server, a directory;
the webhook signature as a receiver checks it."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import json
import socket
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from receivers import Receiver

from ceasefire.dissemination import channels
from ceasefire.dissemination.channels import Context, DeliveryFailed, Outgoing
from ceasefire.dissemination.webhooks import (
    SignatureRefused,
    public_key,
    sign_payload,
    verify_payload,
    verify_webhook,
    webhook_headers,
)
from ceasefire.ledger.note import Ed25519Signer

SIGNER = Ed25519Signer.generate("ceasefire.test/center")
OTHER = Ed25519Signer.generate("ceasefire.test/other")
PAYLOAD = json.dumps(
    {"id": "NTC-1", "subject": "Уведомление", "text": "Текст", "html": "<p>Текст</p>"},
    ensure_ascii=False,
)


def outgoing(address: str, notice_id: str = "NTC-1") -> Outgoing:
    return Outgoing(
        notice_id=notice_id,
        kind="flash",
        recipient="AZ",
        role="addressee",
        lang="ru",
        subject="Уведомление",
        body="Текст",
        payload=PAYLOAD,
        incident_id="INC-1",
        created_at=datetime(2021, 2, 1, 10, tzinfo=UTC),
        attempt=1,
        address=address,
    )


# --- signatures ---------------------------------------------------------------------------


def test_webhook_signature_verifies_with_the_center_key_only() -> None:
    body = PAYLOAD.encode()
    headers = webhook_headers(SIGNER, "NTC-1", body, timestamp=1_700_000_000)
    assert headers["webhook-signature"].startswith("v1a,")
    now = 1_700_000_100
    assert verify_webhook(headers, body, SIGNER.vkey, now=now) == "NTC-1"
    raw = SIGNER.verifier().public_key
    assert verify_webhook(headers, body, raw, now=now) == "NTC-1"
    assert verify_webhook(headers, body, "whpk_" + base64.b64encode(raw).decode(), now=now)
    # A receiver with only `cryptography` (docs/direct-lines.md)
    sig = base64.b64decode(headers["webhook-signature"].split(",", 1)[1])
    Ed25519PublicKey.from_public_bytes(raw).verify(sig, b"NTC-1.1700000000." + body)
    with pytest.raises(SignatureRefused, match="no signature"):
        verify_webhook(headers, body + b" ", SIGNER.vkey, now=now)
    with pytest.raises(SignatureRefused, match="no signature"):
        verify_webhook(headers, body, OTHER.vkey, now=now)
    with pytest.raises(SignatureRefused, match="no signature"):
        verify_webhook({**headers, "webhook-id": "NTC-2"}, body, SIGNER.vkey, now=now)
    with pytest.raises(SignatureRefused, match="replay"):
        verify_webhook(headers, body, SIGNER.vkey, now=now + 300)
    with pytest.raises(SignatureRefused, match="replay"):
        verify_webhook(headers, body, SIGNER.vkey, now=1_700_000_000 - 301)
    missing = {k: v for k, v in headers.items() if k != "webhook-timestamp"}
    with pytest.raises(SignatureRefused, match="webhook-timestamp"):
        verify_webhook(missing, body, SIGNER.vkey, now=now)
    # several signatures in the header: one that verifies is enough
    other = webhook_headers(OTHER, "NTC-1", body, timestamp=1_700_000_000)["webhook-signature"]
    both = {**headers, "Webhook-Signature": f"v1,abc {other} {headers['webhook-signature']}"}
    del both["webhook-signature"]
    assert verify_webhook(both, body, SIGNER.vkey, now=now) == "NTC-1"


def test_detached_signature_of_a_payload() -> None:
    text = sign_payload(SIGNER, PAYLOAD.encode())
    assert text.splitlines()[0] == SIGNER.vkey
    verify_payload(PAYLOAD.encode(), text, SIGNER.vkey)
    with pytest.raises(SignatureRefused):
        verify_payload(PAYLOAD.encode() + b"x", text, SIGNER.vkey)
    with pytest.raises(SignatureRefused):
        verify_payload(PAYLOAD.encode(), text, OTHER.vkey)
    with pytest.raises(ValueError, match="vkey"):
        public_key("not a key")


# --- the registry -------------------------------------------------------------------------


def test_registry_loads_channels_and_names_what_cannot_be(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    context = Context(signer=SIGNER, mission="test")
    made = channels.load(["http", "file", "email"], context)
    assert {name: c.name for name, c in made.items()} == {
        "http": "http",
        "file": "file",
        "email": "email",
    }
    assert all(isinstance(c, channels.Channel) for c in made.values())
    asyncio.run(channels.close(made.values()))
    with pytest.raises(channels.ChannelError, match="no channel named pigeon"):
        channels.load(["pigeon"], context)
    monkeypatch.setitem(channels.BUILTIN, "tak", "ceasefire.dissemination.channels.nowhere:make")
    with pytest.raises(channels.ChannelError, match="channel tak cannot be loaded"):
        channels.load(["tak", "file"], context)
    with pytest.raises(channels.ChannelError, match="SMTP relay is host:port"):
        channels.load(["email"], Context(signer=SIGNER, smtp="nowhere"))


# --- webhook ------------------------------------------------------------------------------


def _send(channel: Any, out: Outgoing) -> DeliveryFailed | None:
    async def run() -> DeliveryFailed | None:
        try:
            await channel.send(out)
        except DeliveryFailed as e:
            return e
        finally:
            await channels.close([channel])
        return None

    return asyncio.run(run())


def test_webhook_delivers_signed_and_fails_on_every_bad_answer() -> None:
    with Receiver(key=SIGNER.vkey, slow=0.1) as r:
        make = channels.factory("http")
        ctx = Context(signer=SIGNER, timeout=1.0)
        assert _send(make(ctx), outgoing(r.url("ok"))) is None
        assert _send(make(ctx), outgoing(r.url("slow"), "NTC-2")) is None
        assert r.seen.ids == {"NTC-1": 1, "NTC-2": 1} and not r.seen.refused
        for path, reason in [
            ("500", "500"),
            ("garbage", "connection failed"),
            ("close", "connection failed"),
            ("redirect", "307 redirecting"),
            ("hang", "no answer in time"),
        ]:
            failed = _send(make(ctx), outgoing(r.url(path), "NTC-3"))
            assert failed is not None and failed.retry, path
            assert reason in failed.reason, (path, failed.reason)
        assert "NTC-3" not in r.seen.ids  # the redirect was not followed
        assert r.seen.requests["ok"] == 1
        wrong = _send(make(Context(signer=OTHER)), outgoing(r.url("ok"), "NTC-4"))
        assert wrong is not None and "401" in wrong.reason and r.seen.refused
    failed = _send(make(ctx), outgoing("ftp://example.org/x"))
    assert failed is not None and not failed.retry


# --- e-mail -------------------------------------------------------------------------------


class _Inbox:
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


def test_email_has_text_html_payload_and_signature() -> None:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        ctx = Context(signer=SIGNER, mission="test", smtp=f"127.0.0.1:{controller.port}")
        make = channels.factory("email")
        assert _send(make(ctx), outgoing("mod@azerbaijan.example.org")) is None
    finally:
        controller.stop()
    [(to, message)] = inbox.messages
    assert to == ["mod@azerbaijan.example.org"]
    assert message["Subject"] == "Уведомление"
    assert message["Message-ID"] == "<NTC-1@test.ceasefire.invalid>"
    body = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert body is not None and body.get_content().strip() == "Текст"
    assert html is not None and "<p>Текст</p>" in html.get_content()
    files = {a.get_filename(): a.get_content() for a in message.iter_attachments()}
    assert files["NTC-1.json"] == PAYLOAD.encode()
    verify_payload(files["NTC-1.json"], files["NTC-1.json.sig"].decode(), SIGNER.vkey)


def test_email_failures() -> None:
    port = _free_port()  # nothing listens there
    ctx = Context(signer=SIGNER, smtp=f"127.0.0.1:{port}", timeout=2.0)
    make = channels.factory("email")
    down = _send(make(ctx), outgoing("mod@azerbaijan.example.org"))
    assert down is not None and down.retry and "relay failed" in down.reason
    bad = _send(make(ctx), outgoing("not an address"))
    assert bad is not None and not bad.retry


# --- file drop ----------------------------------------------------------------------------


def test_file_drop_writes_notice_and_signature(tmp_path: Path) -> None:
    make = channels.factory("file")
    ctx = Context(signer=SIGNER)
    assert _send(make(ctx), outgoing(str(tmp_path))) is None
    assert _send(make(ctx), outgoing(str(tmp_path))) is None  # a retry replaces it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["NTC-1.json", "NTC-1.json.sig"]
    data = (tmp_path / "NTC-1.json").read_bytes()
    assert data == PAYLOAD.encode()
    verify_payload(data, (tmp_path / "NTC-1.json.sig").read_text(), SIGNER.vkey)
    gone = _send(make(ctx), outgoing(str(tmp_path / "missing")))
    assert gone is not None and gone.retry and "no such directory" in gone.reason

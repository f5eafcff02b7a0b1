"""`ceasefire inbox init|list|serve|ack` as a party's operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

from ceasefire.dissemination.webhooks import webhook_headers
from ceasefire.inbox import Inbox
from ceasefire.ledger.note import Ed25519Signer


def test_init_list_and_refusals(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "az"
    made = cli("inbox", "init", "--party", "AZ", "--dir", str(folder))
    assert made.code == 0 and made.out.strip().startswith("az-inbox+")
    assert cli("inbox", "init", "--party", "AZ", "--dir", str(folder)).out == made.out
    assert (folder / "AZ.skey").stat().st_mode & 0o077 == 0
    nobody = cli("inbox", "list", "--party", "AZ", "--dir", str(tmp_path / "none"))
    assert nobody.code == 1 and "--dir" in nobody.err
    stranger = cli("inbox", "init", "--party", "XX", "--dir", str(folder))
    assert stranger.code == 1 and "--party" in stranger.err
    bad_key = cli("inbox", "serve", "--party", "AZ", "--dir", str(folder), "--key", "nonsense")
    assert bad_key.code == 1 and "--key" in bad_key.err

    center = Ed25519Signer.generate("center")
    (folder / "center.vkey").write_text(center.vkey + "\n")
    notice = {
        "id": "NTC-00000000000000aa",
        "recipient": "AZ",
        "kind": "incident_notice",
        "lang": "az",
        "subject": "[Mərkəz] Hadisə barədə bildiriş",
        "text": "...",
        "created_at": "2021-02-01T11:00:00Z",
        "ack_due_at": "2021-02-01T13:00:00Z",
        "ack": {"endpoint": "/api/v1/notices/NTC-00000000000000aa/ack"},
    }
    body = json.dumps(notice).encode()
    with Inbox(folder, "AZ", center.vkey) as inbox:
        assert inbox.receive(webhook_headers(center, notice["id"], body), body)[0]
    listed = cli("inbox", "list", "--party", "AZ", "--dir", str(folder), "--format", "json")
    assert listed.code == 0
    assert [(n["id"], n["acked_at"]) for n in listed.json()] == [(notice["id"], None)]
    text = cli("inbox", "list", "--party", "AZ", "--dir", str(folder))
    assert notice["subject"] in text.out
    # no center answers at this address: not acknowledged, and said why
    unreachable = cli(
        "inbox",
        "ack",
        notice["id"],
        "--party",
        "AZ",
        "--dir",
        str(folder),
        "--center",
        "http://127.0.0.1:9",
    )
    assert unreachable.code == 1 and "notice" in unreachable.err

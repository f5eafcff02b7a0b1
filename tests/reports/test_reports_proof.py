"""The proof that a signed daily report is in the log: made by the command, served by the API,
checked offline by `ceasefire report verify` and by the release verifier; every tampering
refused with the field named."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from reports_support import World, token_for

from ceasefire.api.app import create_app
from ceasefire.errors import InputError
from ceasefire.ledger.bundle import verify_bundle
from ceasefire.ledger.cosign import make_checkpoint
from ceasefire.ledger.keys import KeyRing, load_keys, origin_of
from ceasefire.reports import daily, proof, signing

DAY = date(2021, 2, 1)


def _ring(world: World) -> KeyRing:
    return load_keys(world.keys, origin_of(world.mission.id), world.mission.contingent_ids())


def _made(world: World, lang: str) -> tuple[bytes, signing.SignedReport]:
    ring = _ring(world)
    data = daily.render(world.engine, world.mission, DAY, lang, "html")
    note = signing.sign(
        world.mission, DAY.isoformat(), lang, "html", data, list(ring.cosigners.values())
    )
    return data, signing.store(
        world.engine, world.mission, DAY.isoformat(), lang, "html", data, note
    )


def _fields(error: pytest.ExceptionInfo[InputError]) -> set[str]:
    return {p.field for p in error.value.problems}


def _flip(hash_b64: str) -> str:
    raw = bytearray(base64.b64decode(hash_b64))
    raw[0] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def test_a_report_is_proven_in_the_log_and_tampering_is_named(fresh_world: World) -> None:
    world = fresh_world
    ring = _ring(world)
    data, stored = _made(world, "ru")
    contingents = world.mission.contingent_ids()
    with pytest.raises(proof.NotYetProvenError):  # the release's checkpoint came before it
        proof.prove(world.engine, stored, None, contingents)
    checkpoint = make_checkpoint(world.engine, ring)
    made = proof.prove(world.engine, stored, checkpoint, contingents)
    trusted = [vkey for _holder, vkey in ring.vkeys()]

    # the release verifier takes it as any bundle; the report's verifier checks it is this one
    assert verify_bundle(made, trusted_keys=trusted).entries == 1
    checked = proof.verify(data, json.dumps(made), trusted, stored.note)
    assert checked["ledger_index"] == stored.ledger_index
    assert checked["log_size"] == checkpoint.size and len(checked["signed_by"]) == 2
    assert proof.verify(data, made, trusted)["sha256"] == stored.sha256  # the logged note

    with pytest.raises(InputError) as refused:
        proof.verify(data.replace(b"</body>", b"<p>added</p></body>"), made, trusted)
    assert _fields(refused) == {"sha256"}

    hashes = made["entries"][0]["inclusion_proof"]
    broken = {**made, "entries": [{**made["entries"][0], "inclusion_proof": [_flip(hashes[0])]}]}
    with pytest.raises(InputError) as refused:
        proof.verify(data, broken, trusted)
    assert _fields(refused) == {"inclusion_proof"}

    # a record rewritten to match another file is no longer the one the log proves
    record = made["entries"][0]["record"].replace(stored.sha256, "0" * 64)
    rewritten = {**made, "entries": [{**made["entries"][0], "record": record}]}
    with pytest.raises(InputError) as refused:
        proof.verify(data, rewritten, trusted)
    assert _fields(refused) == {"inclusion_proof"}

    size = str(checkpoint.size)
    forged = made["checkpoint"].replace(f"\n{size}\n", f"\n{int(size) + 1}\n", 1)
    with pytest.raises(InputError) as refused:
        proof.verify(data, {**made, "checkpoint": forged}, trusted)
    assert _fields(refused) == {"checkpoint"}

    with pytest.raises(InputError) as refused:
        proof.verify(data, made, trusted, stored.note.replace("html\n", "pdf\n", 1))
    assert "note" in _fields(refused)

    other_data, other = _made(world, "tr")
    del other_data
    wrong = proof.prove(world.engine, other, make_checkpoint(world.engine, ring), contingents)
    with pytest.raises(InputError) as refused:
        proof.verify(data, wrong, trusted)
    assert "sha256" in _fields(refused)

    with pytest.raises(InputError) as refused:
        proof.verify(data, made, trusted[1:])  # the center's key is not trusted
    assert _fields(refused) == {"verifier_keys"}


def test_the_command_writes_the_proof_and_the_verifiers_check_it(
    cli, fresh_sqlite_world: World, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    world = fresh_sqlite_world
    url = world.engine.url.render_as_string(hide_password=False)
    keys = ["--keys", str(world.keys)]
    out = tmp_path / "daily-ru.html"
    made = cli(
        "report", "daily", "--date", "2021-02-01", "--lang", "ru", "--format", "html",
        "--out", str(out), "--db", url, *keys,
    )  # fmt: skip
    assert made.code == 0, made.err
    bundle = Path(f"{out}.proof.json")
    assert bundle.is_file() and "proof.json" in made.out
    # stored, and announced to both parties and the force in the same transaction
    assert "announced over the direct lines: 3 notices" in " ".join(made.out.split())
    trusted = tmp_path / "keys.txt"
    trusted.write_text(cli("keys", "show", "--dir", str(world.keys)).out)

    checked = cli("report", "verify", str(out), "--trusted-keys", str(trusted))
    assert checked.code == 0, checked.err
    assert "✓" in checked.out and str(json.loads(bundle.read_text())["log_size"]) in checked.out
    as_json = cli("report", "verify", str(out), "--trusted-keys", str(trusted), "--format", "json")
    assert as_json.json()["ledger_index"] == json.loads(bundle.read_text())["entries"][0]["index"]
    released = cli("verify", "--bundle", str(bundle), "--trusted-keys", str(trusted))
    assert released.code == 0, released.err

    # the proof alone carries the signed note
    out.with_name(out.name + ".sig").unlink()
    assert cli("report", "verify", str(out), "--trusted-keys", str(trusted)).code == 0

    good = bundle.read_text()
    tampered = json.loads(good)
    hashes = tampered["entries"][0]["inclusion_proof"]
    tampered["entries"][0]["inclusion_proof"] = [_flip(hashes[0]), *hashes[1:]]
    bundle.write_text(json.dumps(tampered))
    refused = cli("report", "verify", str(out), "--trusted-keys", str(trusted))
    assert refused.code == 1 and "inclusion_proof" in refused.err

    bundle.write_text(good)
    original = out.read_bytes()
    out.write_bytes(original.replace(b"</body>", b"<p>added</p></body>"))
    refused = cli("report", "verify", str(out), "--trusted-keys", str(trusted))
    assert refused.code == 1 and "sha256" in refused.err

    # written again later, by the report's file
    out.write_bytes(original)
    bundle.unlink()
    again = cli("report", "proof", str(out), "--db", url, *keys)
    assert again.code == 0, again.err
    assert cli("report", "verify", str(out), "--trusted-keys", str(trusted)).code == 0
    unknown = tmp_path / "other.html"
    unknown.write_bytes(b"<html></html>")
    assert cli("report", "proof", str(unknown), "--db", url, *keys).code == 1


def test_the_api_serves_the_proof_once_a_checkpoint_covers_it(
    fresh_world: World, demo_enricher: Any
) -> None:
    world = fresh_world
    ring = _ring(world)
    client = TestClient(create_app(world.engine, world.mission, enricher=demo_enricher))
    auth = {"Authorization": f"Bearer {token_for(world.engine, 'tr-do')}"}
    _data, stored = _made(world, "hy")
    listed = client.get("/api/v1/reports", headers=auth).json()["reports"]
    href = next(r for r in listed if r["id"] == stored.id)["proof"]
    early = client.get(href, headers=auth)
    assert early.status_code == 409, early.text
    assert early.headers["content-type"].startswith("application/problem+json")
    make_checkpoint(world.engine, ring)
    answer = client.get(href, headers=auth)
    assert answer.status_code == 200, answer.text
    body = client.get(f"/api/v1/reports/{stored.id}", headers=auth)
    assert 'rel="proof"' in body.headers["link"]
    trusted = [vkey for _holder, vkey in ring.vkeys()]
    checked = proof.verify(body.content, answer.json(), trusted)
    assert checked["ledger_index"] == stored.ledger_index
    assert client.get("/api/v1/reports/999999/proof", headers=auth).status_code == 404

"""`ceasefire notices ack|answer` and `ceasefire complain`: the thin command line over the
library; a refusal names the option at fault (exit 1)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import sqlalchemy as sa
from dissemination_support import make_center, notice_rows

from ceasefire.ledger.note import Ed25519Signer
from ceasefire.mission import load_mission
from ceasefire.mission.load import BUILTIN_DIR
from ceasefire.store import open_database


def test_acknowledge_answer_and_complain_from_the_command_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    signer = Ed25519Signer.generate("az-liaison")
    folder = tmp_path / "mission"
    shutil.copytree(BUILTIN_DIR / "karabakh-2020", folder)
    toml = folder / "mission.toml"
    toml.write_text(
        toml.read_text().replace(
            '[[parties]]\nid = "AZ"\nlanguage = "az"',
            f'[[parties]]\nid = "AZ"\nlanguage = "az"\nkeys = ["{signer.verifier().vkey}"]',
            1,
        )
    )
    key = tmp_path / "az.skey"
    key.write_text(signer.skey + "\n")
    db = str(tmp_path / "c.db")
    engine = open_database(f"sqlite:///{db}")
    try:
        center = make_center(engine, load_mission(folder))
        center.incident("INC-1")
        center.assess("INC-1")
        decision = center.decide("INC-1", "request_explanation", party="AZ")
        rows = notice_rows(engine, cause=decision.id)
    finally:
        engine.dispose()
    common = ("--db", db, "--mission", str(folder))
    am, az = rows["AM"], rows["AZ"]

    wrong = cli("notices", "ack", az.id, "--token", am.ack_token, *common)
    assert wrong.code == 1 and "--token" in wrong.err and am.id not in wrong.err
    done = cli("notices", "ack", am.id, "--token", am.ack_token, "--format", "json", *common)
    assert done.code == 0, done.err
    assert done.json()["how"] == "token" and done.json()["recipient"] == "AM"
    # AZ's key cannot acknowledge AM's notice (already acknowledged or not: the key is checked)
    other = cli("notices", "ack", am.id, "--key", str(key), *common)
    assert other.code == 1 and "--key" in other.err
    received = tmp_path / "received.json"
    received.write_text(az.payload)
    signed = cli("notices", "ack", az.id, "--key", str(key), "--received", str(received), *common)
    assert signed.code == 0, signed.err
    assert az.id in signed.out

    bad = cli("notices", "answer", az.id, "--as-user", "am-liaison", "--text", "x", *common)
    assert bad.code == 1 and "notices answer" in bad.err
    answered = cli(
        "notices",
        "answer",
        az.id,
        "--as-user",
        "az-liaison",
        "--text",
        "Not ours.",
        "--format",
        "json",
        *common,
    )
    assert answered.code == 0, answered.err
    assert answered.json()["party"] == "AZ" and len(answered.json()["notices"]) == 3

    complaint = (
        "complain",
        "--as-user",
        "am-liaison",
        "--at",
        "2021-02-01T09:40:00Z",
        "--lat",
        "39.79",
        "--lon",
        "46.75",
        "--category",
        "explosion",
        "--description",
        "Shelling of the village.",
        *common,
    )
    refused = cli(*complaint, "--evidence", "not-a-hash")
    assert refused.code == 1 and "--evidence" in refused.err
    filed = cli(*complaint, "--evidence", "ab" * 32, "--format", "json")
    assert filed.code == 0, filed.err
    assert filed.json()["kind"] == "complaint" and filed.json()["party"] == "AM"
    engine = open_database(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            kinds = conn.execute(sa.text("SELECT kind FROM ledger ORDER BY 1")).scalars().all()
    finally:
        engine.dispose()
    assert {"acknowledgement", "answer", "complaint"} <= set(kinds)
    assert json.loads(az.payload)["ack"]["token"] == az.ack_token

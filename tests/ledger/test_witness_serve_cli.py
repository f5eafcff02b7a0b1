"""`ceasefire witness serve --center URL` end to end: the command, run as its own process on a
free port, reads the entries of each checkpoint it cosigns from the center's API and keeps
their leaf hashes; `ceasefire verify` then names the entry an attacker rewrote (with its leaf
hash and its row made to agree) from that witness's copy."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from test_witness_leaves import promote

from ceasefire.api import create_app
from ceasefire.ledger.cosign import make_checkpoint
from ceasefire.ledger.keys import CENTER, WITNESSES_FILE, init_key, load_keys, origin_of
from ceasefire.mission import Mission
from ceasefire.served import ServedApp
from ceasefire.witness.client import WitnessClient
from ceasefire.witness.server import WitnessNode
from ceasefire.workflow.roles import add_user, issue_token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the witness answers (a readiness wait, not a timed assertion)."""
    for _ in range(600):
        assert process.poll() is None, log.read_text()
        try:
            httpx.get(url + "/leaves", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"the witness at {url} never answered")


def test_witness_serve_keeps_the_leaves_verify_names_a_rewrite_with(
    engine: sa.Engine,
    database_url: str,
    demo_mission: Mission,
    demo_enricher: Any,
    tmp_path: Path,
    cli: Any,
) -> None:
    origin = origin_of(demo_mission.id)
    keys = tmp_path / "center"
    init_key(keys, origin, CENTER)
    for c in demo_mission.contingent_ids():
        init_key(tmp_path / c, origin, c)
        shutil.copy(keys / f"{CENTER}.vkey", tmp_path / c)
        shutil.copy(tmp_path / c / f"{c}.vkey", keys)
    with engine.begin() as db:
        add_user(db, demo_mission, "ru-auditor", "auditor", "")
        token = issue_token(db, "ru-auditor", "the RU witness reads the log")
    port = free_port()
    witness_url = f"http://127.0.0.1:{port}"
    api = ServedApp(create_app(engine, demo_mission, enricher=demo_enricher), name="center API")
    other = WitnessNode(tmp_path / "TR", tmp_path / "TR" / "witness.db")  # keeps no leaves
    process = None
    log = tmp_path / "witness.log"
    try:
        api.start()
        other.start()
        with log.open("wb") as err:  # the child has its own copy of the file
            process = subprocess.Popen(
                [
                    sys.executable, "-m", "ceasefire", "witness", "serve",
                    "--key", str(tmp_path / "RU"), "--state", str(tmp_path / "RU" / "witness.db"),
                    "--port", str(port), "--center", api.url, "--center-token", token,
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
            )  # fmt: skip
        wait_until_up(witness_url, process, log)
        (keys / WITNESSES_FILE).write_text(f'RU = "{witness_url}"\nTR = "{other.url}"\n')
        ring = load_keys(keys, origin, demo_mission.contingent_ids())
        with engine.begin() as db:
            add_user(db, demo_mission, "ru-analyst", "analyst", "RU")
        make_checkpoint(engine, ring, remote=WitnessClient)
        with engine.begin() as db:
            add_user(db, demo_mission, "ru-head", "head", "RU")
        make_checkpoint(engine, ring, remote=WitnessClient)  # the witness catches up

        index = promote(engine, "ru-analyst")
        args = ["--db", database_url, "--mission", demo_mission.id, "--keys", str(keys)]
        shown = cli("verify", *args, "--format", "json")
        assert shown.code == 1, shown.out + shown.err
        report = json.loads(shown.out)
        named = [f for f in report["findings"] if f["row"] == f"index {index} (user ru-analyst)"]
        assert len(named) == 1, report  # RU's witness's copy names it; TR's kept none
        assert "rewritten" in named[0]["problem"] and "RU" in named[0]["problem"], named
        accused = [f for f in report["findings"] if f["row"].startswith("index ")]
        assert accused == named, accused  # no other entry
    finally:
        if process is not None:
            process.terminate()  # the witness this test started, by its own handle
            process.wait(timeout=30)
        other.stop()
        api.stop()

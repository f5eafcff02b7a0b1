"""`ceasefire node init|register|ingest|status|sync` from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from node_support import center_app, record, served
from sqlalchemy import create_engine, func, select

from ceasefire.geo.engine import Enricher
from ceasefire.mission import Mission
from ceasefire.store import open_database
from ceasefire.store.schema import observations


def test_init_register_ingest_status_and_sync(
    cli: Any, tmp_path: Path, demo_mission: Mission, demo_enricher: Enricher
) -> None:
    node_dir = tmp_path / "ru"
    made = cli("node", "--dir", str(node_dir), "init", "RU", "--mission", "karabakh-2020")
    assert made.code == 0, made.err
    vkey = made.out.strip()
    assert vkey.startswith("ceasefire/karabakh-2020/RU/intake+")
    assert (node_dir / "RU.intake.skey").stat().st_mode & 0o077 == 0
    again = cli("node", "--dir", str(node_dir), "init", "RU", "--mission", "karabakh-2020")
    assert again.out.strip() == vkey  # kept

    db = f"sqlite:///{tmp_path / 'center.db'}"
    assert cli("node", "register", vkey, "--db", db, "--mission", "karabakh-2020").code == 0
    wrong = cli("node", "register", "nonsense", "--db", db, "--mission", "karabakh-2020")
    assert wrong.code == 1 and "verifier key" in wrong.err

    data = tmp_path / "ru.jsonl"
    records = [record(i) for i in range(5)] + [record(9, "TR")]
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    taken = cli("node", "--dir", str(node_dir), "ingest", str(data), "--json")
    assert taken.code == 1  # TR's record is refused at RU's node
    assert taken.json()["accepted"] == 5 and "contingent" in taken.err
    status = cli("node", "--dir", str(node_dir), "status", "--format", "json").json()
    assert (status["received"], status["backlog"]) == (5, 5)

    engine = open_database(db)
    with served(center_app(engine, demo_mission, demo_enricher)) as url:
        done = cli("node", "--dir", str(node_dir), "--center", url, "sync")
    assert done.code == 0, done.err
    status = cli("node", "--dir", str(node_dir), "status", "--format", "json").json()
    assert (status["accepted"], status["backlog"]) == (5, 0)
    with create_engine(db).connect() as c:
        assert c.execute(select(func.count()).select_from(observations)).scalar_one() == 5

    away = cli("node", "--dir", str(node_dir), "--center", "http://127.0.0.1:9", "sync")
    assert away.code == 0  # nothing left to send

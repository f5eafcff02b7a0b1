"""`ceasefire backup` and `restore`, online, on SQLite and PostgreSQL: the restored copy passes
`ceasefire verify` (issue 19)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ceasefire.ingest.pipeline import Intake
from ceasefire.mission import load_mission
from ceasefire.observations import Observation
from ceasefire.store import open_database
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.store.schema import observations
from databases import postgres_url

SAMPLE = Path(__file__).parents[2] / "examples" / "observations-sample.jsonl"


@pytest.fixture
def target(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind to restore into."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'center.db'}"
    else:
        yield from postgres_url()


def _count(url: str) -> int:
    engine = open_database(url, migrate=False)
    try:
        with engine.connect() as db:
            return int(db.execute(select(func.count()).select_from(observations)).scalar_one())
    finally:
        engine.dispose()


def _more(url: str, stop: threading.Event) -> None:
    """Another writer, storing observations while the backup is taken."""
    mission = load_mission(None)
    engine = open_database(url, migrate=False)
    stored, _ = save_mission(engine, mission)
    intake = Intake(engine, mission, mission_row(engine, stored), correlate="off")
    base = {
        "contingent": "TR",
        "platform": {"id": "tb2-1", "type": "bayraktar-tb2"},
        "observed_at": "2021-02-01T10:32:00Z",
        "location": {"lat": 39.9, "lon": 46.8, "ce_m": 50},
        "category": "uav_flight",
        "sensed_by": "drone-eo",
    }
    i = 0
    while not stop.is_set() and i < 400:
        batch = [Observation.model_validate({**base, "id": f"TR-BK{i + k:04d}"}) for k in range(5)]
        intake.feed(batch, "writer")
        i += 5
    engine.dispose()


def test_backup_while_writing_then_restore_and_verify(
    cli: Any, database_url: str, target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CEASEFIRE_KEYS", str(tmp_path / "keyroot"))
    keys = str(tmp_path / "keys")
    assert cli("keys", "init", "--dir", keys).code == 0
    assert cli("ingest", str(SAMPLE), "--db", database_url).code == 0
    assert cli("checkpoint", "--db", database_url, "--keys", keys).code == 0
    copy = tmp_path / "center.backup"
    stop = threading.Event()
    writer = threading.Thread(target=_more, args=(database_url, stop))
    writer.start()
    try:
        made = cli("backup", str(copy), "--db", database_url)
    finally:
        stop.set()
        writer.join(60)
    assert made.code == 0, made.err
    restored = cli("restore", str(copy), "--db", target)
    assert restored.code == 0, restored.err
    checked = cli("verify", "--db", target, "--keys", keys, "--format", "json")
    assert checked.code == 0, checked.out + checked.err
    sample = sum(1 for line in SAMPLE.read_text().splitlines() if line.strip())
    # a moment between the sample and what the writer added meanwhile
    assert sample <= _count(target) <= _count(database_url)
    # restoring over a store that holds data is refused unless asked for
    again = cli("restore", str(copy), "--db", target)
    assert again.code == 1 and "not empty" in again.err
    assert cli("restore", str(copy), "--db", target, "--force").code == 0
    assert cli("verify", "--db", target, "--keys", keys).code == 0
    # Every command closed its store: nothing is left to the garbage collector, which on
    # PostgreSQL would warn (an error here) for each connection still open.
    gc.collect()


def test_restore_refuses_what_is_not_a_backup(cli: Any, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.bin"
    bogus.write_bytes(b"hello")
    done = cli("restore", str(bogus), "--db", str(tmp_path / "x.db"))
    assert done.code == 1 and "not a backup" in done.err

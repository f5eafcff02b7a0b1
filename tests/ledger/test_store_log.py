"""The log in the database, on SQLite and PostgreSQL: appends, envelopes, the intake's entries."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime

import pytest
import rfc8785
import sqlalchemy as sa
from alembic import command
from test_store_support import ingest, record

from ceasefire.geo import Enricher
from ceasefire.ledger import LedgerError, MerkleTree, leaf_hash, log
from ceasefire.ledger.entry import LogEntry, envelope, is_canonical, json_string, parse_envelope
from ceasefire.ledger.tables import ledger
from ceasefire.mission import Mission
from ceasefire.store.db import alembic_config, create, upgrade
from ceasefire.store.schema import observations


def entries(n: int, start: int = 0, kind: str = "test") -> list[LogEntry]:
    return [
        LogEntry.of(kind, f"r{i}", {"n": i, "text": f"é\u2028\x01{i}"})
        for i in range(start, start + n)
    ]


def rows(engine: sa.Engine) -> list[sa.Row[tuple[int, str, str, str, bytes]]]:
    with engine.connect() as db:
        return list(
            db.execute(
                sa.select(
                    ledger.c["index"],
                    ledger.c.kind,
                    ledger.c.ref,
                    ledger.c.entry,
                    ledger.c.leaf_hash,
                ).order_by(ledger.c["index"])
            )
        )


def test_append_assigns_consecutive_indexes_and_rfc9162_leaf_hashes(engine: sa.Engine) -> None:
    at = datetime(2021, 2, 1, 10, 32, 5, 123456, tzinfo=UTC)
    with engine.begin() as db:
        assert log.append(db, entries(3), at) == range(0, 3)
    with engine.begin() as db:
        assert log.append(db, entries(2, 3), at) == range(3, 5)
        assert log.append(db, []) == range(0)
    found = rows(engine)
    assert [r[0] for r in found] == [0, 1, 2, 3, 4]
    for r in found:
        data = r.entry.encode("utf-8")
        assert bytes(r.leaf_hash) == leaf_hash(data) == hashlib.sha256(b"\x00" + data).digest()
        # The envelope is RFC 8785 canonical JSON, byte for byte what the reference gives.
        assert rfc8785.dumps(json.loads(r.entry)) == data
        assert is_canonical(r.entry)
        env = parse_envelope(r.entry)
        assert (env.kind, env.ref, env.appended_at) == (
            r.kind,
            r.ref,
            "2021-02-01T10:32:05.123456Z",
        )
    with engine.connect() as db:
        assert log.size(db) == 5


def test_entries_commit_with_the_callers_transaction_or_not_at_all(engine: sa.Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as db:
        log.append(db, entries(3))
        raise RuntimeError("the record's insert failed")
    with engine.connect() as db:
        assert log.size(db) == 0
    assert rows(engine) == []
    with engine.begin() as db:
        assert log.append(db, entries(1)) == range(0, 1)


def test_concurrent_writers_get_consecutive_indexes(engine: sa.Engine) -> None:
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for b in range(5):
                with engine.begin() as db:
                    log.append(db, entries(7, start=1000 * w + 10 * b, kind=f"w{w}"))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    found = rows(engine)
    assert [r[0] for r in found] == list(range(4 * 5 * 7))
    # Each batch is contiguous: a writer holds the head until it commits.
    for start in range(0, len(found), 7):
        assert len({r.kind for r in found[start : start + 7]}) == 1


def test_log_tree_catches_up_and_matches_a_tree_of_all_leaves(engine: sa.Engine) -> None:
    tree = log.LogTree()
    with engine.begin() as db:
        log.append(db, entries(5))
    with engine.connect() as db:
        assert tree.refresh(db) == 5
    with engine.begin() as db:
        log.append(db, entries(6, 5))
    with engine.connect() as db:
        assert tree.refresh(db) == 11
    expected = MerkleTree(leaf_hash(r.entry.encode()) for r in rows(engine))
    assert tree.tree.root() == expected.root()
    assert tree.tree.root(5) == expected.root(5)


def test_log_tree_refuses_a_gap(engine: sa.Engine) -> None:
    with engine.begin() as db:
        log.append(db, entries(4))
        db.execute(sa.delete(ledger).where(ledger.c["index"] == 2))
    with engine.connect() as db, pytest.raises(LedgerError, match="entry 2 is missing"):
        log.read_tree(db)


def test_every_stored_observation_is_logged_in_the_same_transaction(
    engine: sa.Engine, demo_mission: Mission, demo_enricher: Enricher
) -> None:
    records = [record(i) for i in range(3)] + [record(i, "TR") for i in range(2)]
    assert ingest(engine, demo_mission, demo_enricher, records) == 5
    # The same records again are duplicates: nothing new is logged.
    assert ingest(engine, demo_mission, demo_enricher, records) == 0
    with engine.connect() as db:
        assert log.size(db) == 5
        stored = db.execute(
            sa.select(
                observations.c.contingent,
                observations.c.source_id,
                observations.c.record,
                observations.c.ledger_index,
                ledger.c.entry,
            ).join(ledger, ledger.c["index"] == observations.c.ledger_index)
        ).all()
        found = log.entries_of(db, "observation", ["RU/RU-T00001", "TR/TR-T00000", "XX/none"])
    assert sorted(r.ledger_index for r in stored) == [0, 1, 2, 3, 4]
    for r in stored:
        env = parse_envelope(r.entry)
        ref = f"{r.contingent}/{r.source_id}"
        assert (env.kind, env.ref) == ("observation", ref)
        assert r.entry == envelope("observation", ref, r.record, env.appended_at)
    assert [e.ref for e in found] == ["RU/RU-T00001", "TR/TR-T00000"]


def test_migration_logs_observations_stored_before_the_ledger(database_url: str) -> None:
    engine = create(database_url)
    try:
        command.upgrade(alembic_config(engine), "0002")
        now = datetime(2021, 2, 1, tzinfo=UTC)
        canon = [rfc8785.dumps(record(i)).decode() for i in range(3)]
        with engine.begin() as db:
            mission = db.execute(
                sa.text(
                    "INSERT INTO missions (mission_id, version, digest, loaded_at, source, note) "
                    "VALUES ('m', 1, 'd', :t, 's', '') RETURNING id"
                ),
                {"t": now},
            ).scalar_one()
            for i, text in enumerate(canon):
                db.execute(
                    sa.text(
                        "INSERT INTO observations (contingent, source_id, digest, record, "
                        "platform_id, platform_type, observed_at, lat, lon, ce_m, category, "
                        "count, count_approx, sensed_by, received_at, source, mission, zones) "
                        "VALUES ('RU', :sid, :d, :r, 'p', 'orlan-10', :t, 0, 0, 1, 'explosion', "
                        "1, false, 'drone-eo', :t, 'x', :m, '[]')"
                    ),
                    {
                        "sid": f"RU-T{i:05d}",
                        "d": hashlib.sha256(text.encode()).hexdigest(),
                        "r": text,
                        "t": now,
                        "m": mission,
                    },
                )
        upgrade(engine)
        found = rows(engine)
        assert [r[0] for r in found] == [0, 1, 2]
        for r, text in zip(found, canon, strict=True):
            assert parse_envelope(r.entry).record == json.loads(text)
            assert r.entry == envelope(
                "observation", r.ref, text, parse_envelope(r.entry).appended_at
            )
            assert is_canonical(r.entry)
            assert bytes(r.leaf_hash) == leaf_hash(r.entry.encode())
        with engine.connect() as db:
            assert log.size(db) == 3
            links = db.execute(
                sa.select(observations.c.source_id, observations.c.ledger_index).order_by(
                    observations.c.id
                )
            ).all()
        assert [tuple(x) for x in links] == [("RU-T00000", 0), ("RU-T00001", 1), ("RU-T00002", 2)]
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "text", ["RU/RU-0001", 'a "quote" \\ and /', "\x00\x1f\x7f\u2028\u2029", "Ağdam Ստեփանակերտ 😀"]
)
def test_json_strings_are_rfc8785(text: str) -> None:
    assert json_string(text).encode("utf-8") == rfc8785.dumps(text)
    entry = envelope("k", text, "{}", "2021-01-01T00:00:00.000000Z")
    assert is_canonical(entry) and parse_envelope(entry).ref == text


def test_concurrent_intakes_of_the_same_records_log_each_once(
    engine: sa.Engine, demo_mission: Mission, demo_enricher: Enricher
) -> None:
    """Two intakes racing on overlapping records: every stored row has exactly one entry."""
    records = [record(i) for i in range(40)]
    ingest(engine, demo_mission, demo_enricher, [])  # the mission, stored once
    accepted: list[int] = []
    errors: list[BaseException] = []

    def run(order: list[dict[str, object]]) -> None:
        try:
            accepted.append(ingest(engine, demo_mission, demo_enricher, order))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [
        threading.Thread(target=run, args=(records,)),
        threading.Thread(target=run, args=(records[::-1],)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(accepted) == 40
    with engine.connect() as db:
        assert log.size(db) == 40
        linked = db.execute(sa.select(observations.c.ledger_index)).scalars().all()
    assert sorted(linked) == list(range(40))


def _head_statements(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The log's head grown from now on (locks: 0; appends: by how many), each an ``UPDATE``
    of ``ledger_head`` (run by SQLite's driver itself in a transaction, which the engine's
    events do not see)."""
    seen: list[int] = []
    grow = log._grow

    def counted(connection: sa.Connection, by: int) -> int | None:
        seen.append(by)
        return grow(connection, by)

    monkeypatch.setattr(log, "_grow", counted)
    return seen


def test_a_transaction_takes_the_log_lock_once(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction that holds the lock (an earlier lock or append in it) does not ask again,
    and knows the size its own appends made."""
    head = _head_statements(monkeypatch)
    with engine.begin() as db:
        assert log.lock(db) == 0
        assert log.lock(db) == 0
        assert log.append(db, entries(3)) == range(0, 3)
        assert log.lock(db) == 3
        assert log.append(db, entries(2, 3)) == range(3, 5)
    assert len(head) == 3  # one lock, two appends


def test_a_new_transaction_on_the_same_connection_locks_again(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock is remembered for its transaction only: once it commits, another writer may
    append, and the next transaction on the same connection must lock (and read the size)
    again, even after other statements of its own."""
    head = _head_statements(monkeypatch)
    with engine.connect() as db:
        with db.begin() as first:  # kept: only its end, not its collection, may tell
            assert log.lock(db) == 0
            log.append(db, entries(3))
        assert not first.is_active
        with engine.begin() as other:
            assert log.append(other, entries(2, 3)) == range(3, 5)
        with db.begin():
            db.execute(sa.delete(ledger).where(ledger.c["index"] < 0))  # begins it on SQLite
            taken = len(head)
            assert log.lock(db) == 5
            assert len(head) == taken + 1
            assert log.append(db, entries(1, 5)) == range(5, 6)
    assert [r[0] for r in rows(engine)] == list(range(6))


def test_a_savepoint_rolled_back_gives_back_the_lock_it_took(engine: sa.Engine) -> None:
    """Rolling back to a savepoint undoes the head's growth in it (and, on PostgreSQL, the
    row locks taken in it): the lock is asked for again rather than remembered from it."""
    with engine.connect() as db, db.begin():
        assert log.lock(db) == 0
        savepoint = db.begin_nested()
        assert log.append(db, entries(3)) == range(0, 3)
        assert log.lock(db) == 3
        savepoint.rollback()
        assert log.lock(db) == 0
        assert log.append(db, entries(1)) == range(0, 1)
    assert [r[0] for r in rows(engine)] == [0]


def test_a_transaction_ended_behind_sqlalchemys_back_locks_again(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database's own transaction is asked too: one that ended under SQLAlchemy's
    transaction (the driver committed, or SQLite rolled back by itself) holds no lock."""
    head = _head_statements(monkeypatch)
    with engine.connect() as db, db.begin():
        log.lock(db)
        driver = db.connection.driver_connection
        assert driver is not None
        driver.commit()
        log.lock(db)
    assert len(head) == 2


def test_a_savepoint_in_a_transaction_that_holds_the_lock_has_it(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A savepoint opened after the lock was taken keeps it (rolling back to it keeps what
    was locked before it): it does not ask again, and what it appends counts only while it
    stands."""
    head = _head_statements(monkeypatch)
    with engine.connect() as db, db.begin():
        assert log.lock(db) == 0
        with db.begin_nested():
            assert log.lock(db) == 0
            assert len(head) == 1
            assert log.append(db, entries(2)) == range(0, 2)
            assert log.lock(db) == 2
        assert log.lock(db) == 2  # released: asked again (counted), the same size
        savepoint = db.begin_nested()
        assert log.append(db, entries(1, 2)) == range(2, 3)
        savepoint.rollback()
        assert log.lock(db) == 2
        assert log.append(db, entries(1, 2)) == range(2, 3)
    assert len(head) == 6  # lock, append, lock after the release, append, lock, append
    assert [r[0] for r in rows(engine)] == [0, 1, 2]

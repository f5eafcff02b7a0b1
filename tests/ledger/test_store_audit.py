"""`verify` on the database: every kind of change made with SQL behind the center's back is found
and named (table, row, what differs), on SQLite and PostgreSQL.

One database per engine is filled once; each mutation runs in a transaction that the audit reads
through and that is rolled back afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from test_store_support import ingest, keyring, record

from ceasefire.geo import Enricher
from ceasefire.ledger.audit import AuditReport, audit
from ceasefire.ledger.cosign import make_checkpoint
from ceasefire.ledger.entry import entry_leaf_hash
from ceasefire.ledger.keys import KeyRing
from ceasefire.mission import Mission
from ceasefire.store import open_database
from ceasefire.store.schema import observations
from databases import postgres_url

Mutation = Callable[[sa.Connection], None]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def filled(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    demo_mission: Mission,
    demo_enricher: Enricher,
) -> Iterator[tuple[sa.Engine, KeyRing]]:
    """Ledger indexes: 0-3 RU-T00000..3, 4-5 TR-T00000..1, 6-8 keys (checkpoint at 9),
    9-10 RU-T00004..5 (not yet covered by a checkpoint)."""
    tmp = tmp_path_factory.mktemp("audit")
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp / 'audit.db'}"])
    else:
        urls = postgres_url()
    url = next(urls)
    engine = open_database(url)
    ring = keyring(tmp / "keys", demo_mission)
    records = [record(i) for i in range(4)] + [record(i, "TR") for i in range(2)]
    assert ingest(engine, demo_mission, demo_enricher, records) == 6
    assert make_checkpoint(engine, ring).size == 9
    assert ingest(engine, demo_mission, demo_enricher, [record(4), record(5)]) == 2
    try:
        yield engine, ring
    finally:
        engine.dispose()
        for _rest in urls:  # drops the PostgreSQL database
            pass


def audited(filled: tuple[sa.Engine, KeyRing], mutate: Mutation | None) -> AuditReport:
    engine, ring = filled
    with engine.connect() as db:
        transaction = db.begin()
        try:
            if mutate is not None:
                mutate(db)
            return audit(db, ring)
        finally:
            transaction.rollback()


def sql(*statements: str) -> Mutation:
    def run(db: sa.Connection) -> None:
        for statement in statements:
            db.exec_driver_sql(statement)

    return run


def obs_id(db: sa.Connection, source_id: str) -> int:
    return int(
        db.execute(
            sa.select(observations.c.id).where(observations.c.source_id == source_id)
        ).scalar_one()
    )


def insert_observation(db: sa.Connection) -> None:
    """A copy of a stored row under a new id, straight into the table (not through the log)."""
    columns = [c.name for c in observations.columns if c.name not in ("id", "ledger_index")]
    copied = ", ".join("'RU-T09999'" if c == "source_id" else f'"{c}"' for c in columns)
    names = ", ".join(f'"{c}"' for c in columns)
    db.execute(
        sa.text(
            f"INSERT INTO observations ({names}) SELECT {copied} FROM observations "
            "WHERE source_id = 'RU-T00000'"
        )
    )


def reorder_observations(db: sa.Connection) -> None:
    """Swap the keys (the order of receipt) of two rows."""
    one, two = obs_id(db, "RU-T00001"), obs_id(db, "RU-T00002")
    db.execute(sa.text(f"UPDATE observations SET id = -7 WHERE id = {one}"))
    db.execute(sa.text(f"UPDATE observations SET id = {one} WHERE id = {two}"))
    db.execute(sa.text(f"UPDATE observations SET id = {two} WHERE id = -7"))


def swap_pointers(db: sa.Connection) -> None:
    db.execute(sa.text("UPDATE observations SET ledger_index = -1 WHERE source_id = 'RU-T00000'"))
    db.execute(sa.text("UPDATE observations SET ledger_index = 0 WHERE source_id = 'RU-T00003'"))
    db.execute(sa.text("UPDATE observations SET ledger_index = 3 WHERE source_id = 'RU-T00000'"))


def rewrite_entry(db: sa.Connection) -> None:
    """Edit an entry and recompute its leaf hash, so that the row looks consistent alone."""
    entry = db.execute(sa.text('SELECT entry FROM ledger WHERE "index" = 1')).scalar_one()
    forged = entry.replace('"count":1', '"count":9')
    assert forged != entry
    db.execute(
        sa.text('UPDATE ledger SET entry = :e, leaf_hash = :h WHERE "index" = 1'),
        {"e": forged, "h": entry_leaf_hash(forged)},
    )


def insert_entry(db: sa.Connection) -> None:
    entry = db.execute(sa.text('SELECT entry FROM ledger WHERE "index" = 0')).scalar_one()
    forged = entry.replace("RU-T00000", "RU-T08888")
    db.execute(
        sa.text(
            'INSERT INTO ledger ("index", kind, ref, entry, leaf_hash, appended_at) '
            "SELECT 11, kind, 'RU/RU-T08888', :e, :h, appended_at FROM ledger "
            'WHERE "index" = 0'
        ),
        {"e": forged, "h": entry_leaf_hash(forged)},
    )


def reorder_entries(db: sa.Connection) -> None:
    """Swap two whole entries (with their hashes and refs): each row alone still looks fine."""
    a, b = (
        db.execute(sa.text(f'SELECT entry, leaf_hash, ref FROM ledger WHERE "index" = {i}')).one()
        for i in (4, 5)
    )
    for index, (entry, leaf, ref) in ((4, b), (5, a)):
        db.execute(
            sa.text(
                f'UPDATE ledger SET entry = :e, leaf_hash = :h, ref = :r WHERE "index" = {index}'
            ),
            {"e": entry, "h": leaf, "r": ref},
        )


MUTATIONS: dict[str, tuple[Mutation, list[tuple[str, str, str]]]] = {
    "observation record edited": (
        sql(
            "UPDATE observations SET record = replace(record, '\"count\":1', '\"count\":3') "
            "WHERE source_id = 'RU-T00002'"
        ),
        [
            ("observations", "RU/RU-T00002", "record differs from its ledger entry at index 2"),
            ("observations", "RU/RU-T00002", "digest does not match"),
            ("observations", "RU/RU-T00002", "column count is 1"),
        ],
    ),
    "observation column edited": (
        sql("UPDATE observations SET category = 'projectile' WHERE source_id = 'RU-T00003'"),
        [("observations", "RU/RU-T00003", "column category is 'projectile'")],
    ),
    "observation deleted": (
        sql("DELETE FROM observations WHERE source_id = 'TR-T00000'"),
        [("observations", "TR/TR-T00000", "logged at index 4 but not in the table")],
    ),
    "observation inserted": (
        insert_observation,
        [("observations", "RU/RU-T09999", "no ledger entry")],
    ),
    "observations reordered": (
        reorder_observations,
        [("observations", "RU/RU-T00001", "rows reordered")],
    ),
    "observations pointed at each other's entries": (
        swap_pointers,
        [
            (
                "observations",
                "RU/RU-T00000",
                "ledger index 3, the entry of observation RU/RU-T00003",
            ),
            (
                "observations",
                "RU/RU-T00003",
                "ledger index 0, the entry of observation RU/RU-T00000",
            ),
        ],
    ),
    "ledger entry edited": (
        sql(
            "UPDATE ledger SET entry = replace(entry, '\"count\":1', '\"count\":9') "
            'WHERE "index" = 1'
        ),
        [
            ("ledger", "index 1", "does not hash to leaf_hash"),
            ("ledger", "indexes 0..8", "do not hash to the root"),
            ("observations", "RU/RU-T00001", "record differs from its ledger entry at index 1"),
        ],
    ),
    "ledger entry edited with its hash": (
        rewrite_entry,
        [
            (
                "ledger",
                "indexes 0..8",
                "do not hash to the root the contingents cosigned at size 9",
            ),
            ("observations", "RU/RU-T00001", "record differs from its ledger entry at index 1"),
        ],
    ),
    "ledger key entry edited": (
        sql("UPDATE ledger SET entry = replace(entry, 'register', 'rotate') WHERE kind = 'key'"),
        [("ledger", "index 6", "does not hash to leaf_hash")],
    ),
    "ledger column edited": (
        sql("UPDATE ledger SET ref = 'RU/RU-T07777' WHERE \"index\" = 2"),
        [("ledger", "index 2", "column ref is 'RU/RU-T07777' but the entry says 'RU/RU-T00002'")],
    ),
    "ledger entry deleted": (
        sql('DELETE FROM ledger WHERE "index" = 3'),
        [
            ("ledger", "index 3", "missing"),
            (
                "observations",
                "RU/RU-T00003",
                "points at ledger index 3, which is not in the ledger",
            ),
        ],
    ),
    "ledger tail deleted with its head (rollback)": (
        sql('DELETE FROM ledger WHERE "index" >= 7', "UPDATE ledger_head SET size = 7"),
        [("ledger", "indexes 7..8", "cosigned in checkpoint 1 but not in the ledger")],
    ),
    "ledger entry inserted": (
        insert_entry,
        [
            ("ledger", "index 11", "beyond the log's head of 11 entries"),
            ("observations", "RU/RU-T08888", "logged at index 11 but not in the table"),
        ],
    ),
    "ledger entries reordered": (
        reorder_entries,
        [
            ("ledger", "indexes 0..8", "do not hash to the root"),
            (
                "observations",
                "TR/TR-T00000",
                "ledger index 4, the entry of observation TR/TR-T00001",
            ),
            (
                "observations",
                "TR/TR-T00001",
                "ledger index 5, the entry of observation TR/TR-T00000",
            ),
        ],
    ),
    "checkpoint edited": (
        sql("UPDATE checkpoints SET note = replace(note, '\n9\n', '\n10\n')"),
        [("checkpoints", "id 1 (size 9)", "signatures do not verify")],
    ),
}


def test_an_untouched_database_agrees_with_its_log(filled: tuple[sa.Engine, KeyRing]) -> None:
    report = audited(filled, None)
    assert report.ok, [str(f) for f in report.findings]
    assert (report.entries, report.head, report.observations) == (11, 11, 8)
    assert (report.checkpoints, report.checkpoint_size, report.uncovered) == (1, 9, 2)
    assert any("entries 9..10 are not yet covered" in n for n in report.notes)


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_each_change_made_with_sql_is_found_and_named(
    filled: tuple[sa.Engine, KeyRing], name: str
) -> None:
    mutate, expected = MUTATIONS[name]
    report = audited(filled, mutate)
    found = [(f.table, f.row, f.problem) for f in report.findings]
    assert not report.ok
    for table, row, problem in expected:
        assert any(t == table and row in r and problem in p for t, r, p in found), (
            f"{name}: no finding ({table}, {row}, {problem}) among {found}"
        )
    # The mutation was rolled back: the database agrees with its log again.
    assert audited(filled, None).ok

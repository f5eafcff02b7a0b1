"""Driver-level inserts store exactly what SQLAlchemy would."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.dialects import sqlite

from ceasefire.store.bulk import FEW, insert_rows, sqlite_time, sqlite_times
from ceasefire.store.schema import UTCDateTime, track_points

aware = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=4)), timezone(timedelta(hours=-3, minutes=-30))]
    ),
)


@given(aware)
def test_sqlite_time_is_what_sqlalchemy_binds(moment: datetime) -> None:
    dialect = sqlite.dialect()
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    assert sqlite_time(moment) == process(moment)


@given(st.lists(st.datetimes(timezones=st.just(UTC)) | aware, max_size=20))
def test_sqlite_times_are_sqlite_time_of_each(moments: list[datetime]) -> None:
    """The batch's times formatted at once (numpy) read exactly as one by one, over the whole
    range of datetime (years 1 to 9999), microseconds and offsets included."""
    assert sqlite_times(moments) == [sqlite_time(m) for m in moments]


@pytest.mark.parametrize("count", [1, FEW, FEW + 3])
def test_rows_read_back_as_inserted(engine: Engine, count: int) -> None:
    """A few rows (one INSERT on PostgreSQL) and more (a COPY) alike."""
    moment = datetime(2021, 2, 1, 10, 0, tzinfo=timezone(timedelta(hours=4)))
    rows = [
        {
            "platform_id": f"tb2-{i}",
            "platform_type": "bayraktar-tb2",
            "contingent": "TR",
            "sortie": None,
            "time": moment + timedelta(microseconds=i * 250_001),
            "lat": 39.9 + i / 1000,
            "lon": 46.8,
            "alt_m": None if i % 2 else 1500.5,
            "source": "test",
        }
        for i in range(count)
    ]
    with engine.begin() as db:
        insert_rows(db, track_points, rows)
    with engine.connect() as db:
        stored = db.execute(select(track_points).order_by(track_points.c.time)).all()
    assert [r.time for r in stored] == [r["time"] for r in rows]
    assert all(r.time.tzinfo is not None for r in stored)
    assert [r.alt_m for r in stored] == [r["alt_m"] for r in rows]
    with engine.connect() as db:
        # times compare as SQLAlchemy stores them
        found = db.execute(
            select(track_points.c.platform_id).where(track_points.c.time >= rows[-1]["time"])
        ).scalars()
        assert list(found) == [f"tb2-{count - 1}"]


def test_null_and_bytes_bind_as_they_are() -> None:
    """The adapters ceasefire.store.bulk registers with SQLite's driver (a dict lookup, not
    the adapter protocol's failed lookups) give None and bytes back unchanged."""
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE TABLE t (a, b)")
        db.executemany("INSERT INTO t VALUES (?, ?)", [(None, b"\x00\xff"), (b"", None)])
        rows = db.execute("SELECT a, typeof(a), b, typeof(b) FROM t ORDER BY rowid").fetchall()
    finally:
        db.close()
    assert rows == [(None, "null", b"\x00\xff", "blob"), (b"", "blob", None, "null")]

"""Opening a database: the URL, SQLite pragmas, and migrations to the newest schema."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from ceasefire.errors import CeasefireError, InputError
from ceasefire.i18n import _

MIGRATIONS = Path(__file__).parent / "migrations"
DB_ENV = "CEASEFIRE_DB"


def default_path() -> Path:
    """Where the embedded database lives unless told otherwise."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ceasefire" / "ceasefire.db"


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else $CEASEFIRE_DB, else SQLite at the default path.

    ``postgresql://`` URLs use psycopg 3; a plain file path means SQLite.
    """
    url = url or os.environ.get(DB_ENV) or str(default_path())
    if "://" not in url:
        path = Path(url).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a crash or power cut loses no committed record.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create(url: str | None = None) -> Engine:
    url = database_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InputError(_("not a database URL: {url}").format(url=url)) from exc
    if parsed.drivername.startswith("sqlite"):
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), "head")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def open_database(url: str | None = None, migrate: bool = True) -> Engine:
    """An engine on the database, migrated to the newest schema."""
    engine = create(url)
    try:
        if migrate and current_revision(engine) != head_revision(engine):
            upgrade(engine)
    except OperationalError as exc:
        raise CeasefireError(
            _("cannot open the database {url}: {error}").format(
                url=engine.url.render_as_string(hide_password=True), error=exc.orig
            )
        ) from exc
    return engine


WRITE_POLL = 0.001
"""Seconds between asks for SQLite's write lock while a writer waits (:func:`writing`)."""
WRITE_WAIT = 10.0
"""Seconds a writer waits for SQLite's write lock at most (the store's busy timeout)."""


@contextlib.contextmanager
def writing(engine: Engine, wait: float = WRITE_WAIT) -> Iterator[Connection]:
    """A write transaction, as ``engine.begin()``. On SQLite the write lock is taken at the
    start (``BEGIN IMMEDIATE``) and, while another connection holds it, asked for again every
    :data:`WRITE_POLL` seconds, not in SQLite's busy handler, which sleeps in growing steps up
    to 100 ms: a process deciding in a loop frees the lock for well under a millisecond
    between its transactions, and a writer in that handler sleeps through most of those gaps
    (the notice dispatcher's outcomes and lease did: a delivery leaves its queue's window
    only once written). The connection's busy
    timeout is put back before anything else runs on it."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as db:
            yield db
        return
    with engine.connect() as db:
        raw = db.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        kept = raw.execute("PRAGMA busy_timeout").fetchone()[0]
        deadline = time.monotonic() + wait
        raw.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as e:
                    busy = e.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                    if not busy or time.monotonic() > deadline:
                        raise
                    time.sleep(WRITE_POLL)
        finally:
            raw.execute(f"PRAGMA busy_timeout={int(kept)}")
        with db.begin():  # commits (or rolls back) the transaction begun above
            yield db

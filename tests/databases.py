"""Databases for tests: a fresh PostgreSQL database on the local server, dropped afterwards.

With CI=true a missing PostgreSQL fails the run instead of skipping (CI must test both engines).

A test that opens a migrated engine gets its fresh database as a copy of one migrated once a
session (:class:`Templates`): on PostgreSQL ``CREATE DATABASE ... TEMPLATE``, on SQLite a copy
of the file. The copy is the migrated schema byte for byte; only the migrations' time is saved.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get(
    "CEASEFIRE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _url_of(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def postgres_url(template: str | None = None) -> Iterator[str]:
    """The URL of a new database, empty or a copy of ``template``; dropped when the generator
    is closed."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"ceasefire_test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as db:
            db.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc.orig}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield _url_of(name)
    finally:
        with admin.connect() as db:
            db.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            db.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


class Templates:
    """A database of each kind migrated to the newest schema, made when first asked for and
    copied for each test that wants a migrated one; the PostgreSQL one is dropped by
    :meth:`close`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sqlite: Path | None = None
        self._postgres: Iterator[str] | None = None
        self._postgres_name: str | None = None

    def _migrate(self, url: str) -> None:
        from ceasefire.store import open_database

        engine = open_database(url)
        engine.dispose()  # no connection left: a template must have none

    def sqlite_copy(self, path: Path) -> None:
        """A migrated SQLite database at ``path``."""
        if self._sqlite is None:
            template = self.folder / "template.db"
            self._migrate(f"sqlite:///{template}")
            # the last connection closed has checkpointed the write-ahead log into the file
            assert not template.with_name("template.db-wal").exists()
            self._sqlite = template
        shutil.copyfile(self._sqlite, path)

    def postgres_template(self) -> str:
        """The name of a migrated PostgreSQL database to copy."""
        if self._postgres_name is None:
            self._postgres = postgres_url()
            url = next(self._postgres)
            self._migrate(url)
            self._postgres_name = url.rsplit("/", 1)[1]
        return self._postgres_name

    def close(self) -> None:
        if self._postgres is not None:
            self._postgres.close()

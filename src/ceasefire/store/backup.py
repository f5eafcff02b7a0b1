"""Online, consistent copies of the store, and putting one back.

SQLite: SQLite's own backup API copies the database page by page in one read transaction, a
snapshot of one moment while the center goes on writing (WAL readers do not block writers);
the copy is written beside the target and renamed, then checked (``PRAGMA integrity_check``).
PostgreSQL: ``pg_dump`` (custom format) reads in one repeatable-read transaction, a snapshot
too; ``pg_restore`` puts it back. Credentials go to them through the environment, never the
command line (which every user of the machine can read).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from ceasefire.errors import CeasefireError, InputError, Problem
from ceasefire.i18n import _
from ceasefire.store.db import create, database_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


def backup(url: str | None, out: Path) -> str:
    """Copy the store at ``url`` to ``out``; the kind of copy made (sqlite or postgresql)."""
    parsed = make_url(database_url(url))
    if parsed.drivername.startswith("sqlite"):
        _sqlite_copy(_sqlite_path(parsed), out)
        return "sqlite"
    _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(out)], parsed)
    return "postgresql"


def restore(source: Path, url: str | None, force: bool = False) -> str:
    """Put a copy made by :func:`backup` into the store at ``url``, which must be empty
    (``force``: replace what is there). The kind of copy restored."""
    head = source.read_bytes()[:16] if source.is_file() else b""
    parsed = make_url(database_url(url))
    sqlite = parsed.drivername.startswith("sqlite")
    kind = (
        "sqlite" if head.startswith(SQLITE_MAGIC) else "postgresql" if head[:5] == PG_MAGIC else ""
    )
    if not kind:
        raise InputError(
            Problem(str(source), "", _("not a backup made by ceasefire backup (SQLite or pg_dump)"))
        )
    if (kind == "sqlite") != sqlite:
        raise InputError(
            Problem(
                str(source),
                "--db",
                _("a {kind} backup cannot be restored into this database").format(kind=kind),
            )
        )
    if not force and (not sqlite or _sqlite_path(parsed).exists()) and _has_tables(url):
        raise InputError(
            Problem(
                "restore",
                "--db",
                _("the database is not empty: restore into an empty one, or give --force"),
            )
        )
    if sqlite:
        _sqlite_copy(source, _sqlite_path(parsed))
    else:
        command = ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction"]
        if force:
            command += ["--clean", "--if-exists"]
        _run([*command, str(source)], parsed, database_option=True)
    return kind


def _sqlite_path(parsed: URL) -> Path:
    if not parsed.database or parsed.database == ":memory:":
        raise InputError(Problem("backup", "--db", _("an SQLite database in a file is needed")))
    return Path(parsed.database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy with the backup API into a file beside ``target``, check it, then rename it."""
    if not source.is_file():
        raise InputError(Problem(str(source), "", _("no such file")))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src:
        with sqlite3.connect(partial) as dst:
            src.backup(dst)  # all pages in one step: one read transaction, one moment
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            result = dst.execute("PRAGMA integrity_check").fetchone()[0]
        dst.close()
    src.close()
    if result != "ok":
        partial.unlink(missing_ok=True)
        raise CeasefireError(
            _("the copy failed its integrity check: {result}").format(result=result)
        )
    for suffix in ("-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(partial, target)


def _has_tables(url: str | None) -> bool:
    engine = create(url)
    try:
        return bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _run(command: list[str], parsed: URL, database_option: bool = False) -> None:
    """Run a PostgreSQL client program against ``parsed``'s database."""
    program = shutil.which(command[0])
    if program is None:
        raise CeasefireError(
            _("{program} is needed for PostgreSQL (Debian package postgresql-client)").format(
                program=command[0]
            )
        )
    env = {**os.environ}
    for name, value in (
        ("PGHOST", parsed.host),
        ("PGPORT", parsed.port),
        ("PGUSER", parsed.username),
        ("PGPASSWORD", parsed.password),
        ("PGDATABASE", parsed.database),
    ):
        if value is not None:
            env[name] = str(value)
    if database_option:
        command = [*command[:-1], "--dbname", str(parsed.database), command[-1]]
    done = subprocess.run(
        [program, *command[1:]], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise CeasefireError(
            _("{program} failed: {error}").format(
                program=command[0], error=done.stderr.strip()[-2000:]
            )
        )

"""`ceasefire db upgrade|current`: the database schema; `ceasefire backup|restore`."""

from __future__ import annotations

from pathlib import Path

import typer

from ceasefire.cli.common import DB_OPTION, console, console_err
from ceasefire.i18n import _
from ceasefire.store import backup as store_backup
from ceasefire.store.db import create, current_revision, head_revision
from ceasefire.store.db import upgrade as run_upgrade

app = typer.Typer(help="Database schema and migrations.", no_args_is_help=True)


@app.command()
def upgrade(db: str = DB_OPTION) -> None:
    """Migrate the database to the newest schema."""
    engine = create(db)
    run_upgrade(engine)
    console.print(_("schema at revision {rev}").format(rev=current_revision(engine)))


@app.command()
def current(db: str = DB_OPTION) -> None:
    """Show the schema revision of the database and the newest one."""
    engine = create(db)
    console.print(
        _("database: {cur}; newest: {head}").format(
            cur=current_revision(engine) or _("empty"), head=head_revision(engine)
        )
    )


def backup(
    out: Path = typer.Argument(..., help="The file to write (an SQLite file or a pg_dump)."),
    db: str = DB_OPTION,
) -> None:
    """An online, consistent copy of the store, taken while the center runs."""
    with console_err.status(_("copying the store")):
        kind = store_backup.backup(db, out)
    size = out.stat().st_size
    console.print(
        _("{kind} backup written: {path} ({size:,} bytes)").format(kind=kind, path=out, size=size)
    )


def restore(
    source: Path = typer.Argument(..., help="A file written by ceasefire backup."),
    db: str = DB_OPTION,
    force: bool = typer.Option(False, "--force", help="Replace what the database holds."),
) -> None:
    """Put a backup into an empty store (then check it with ceasefire verify)."""
    with console_err.status(_("restoring the store")):
        kind = store_backup.restore(source, db, force)
    engine = create(db)
    try:
        run_upgrade(engine)  # a backup of an older version comes up to this one's schema
        revision = current_revision(engine)
    finally:
        engine.dispose()
    console.print(
        _("{kind} backup restored from {path}; schema at revision {rev}").format(
            kind=kind, path=source, rev=revision
        )
    )

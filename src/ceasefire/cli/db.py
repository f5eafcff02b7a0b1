"""`ceasefire db upgrade|current`: the database schema."""

from __future__ import annotations

import typer

from ceasefire.cli.common import DB_OPTION, console
from ceasefire.i18n import _
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

"""Alembic environment: migrations run on the engine the application hands over."""

from alembic import context

# Every room's tables, so that the metadata holds the whole schema (the rooms own them; the
# migrations, like the database, see all of them).
from ceasefire.dissemination import tables as _dissemination  # noqa: F401
from ceasefire.incidents import tables as _incidents  # noqa: F401
from ceasefire.ledger import tables as _ledger  # noqa: F401
from ceasefire.reports import tables as _reports  # noqa: F401
from ceasefire.store.schema import metadata
from ceasefire.workflow import tables as _workflow  # noqa: F401

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()

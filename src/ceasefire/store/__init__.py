"""Storage: one schema on SQLite (embedded default) and PostgreSQL, changed by migrations."""

from ceasefire.store.db import database_url, open_database

__all__ = ["database_url", "open_database"]

"""Databases for tests: a fresh PostgreSQL database on the local server, dropped afterwards.

With CI=true a missing PostgreSQL fails the run instead of skipping (CI must test both engines).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get(
    "CEASEFIRE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def postgres_url() -> Iterator[str]:
    """The URL of a new, empty database; dropped when the generator is closed."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"ceasefire_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as db:
            db.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc.orig}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
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

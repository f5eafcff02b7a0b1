"""Fixtures of the reports tests. A world takes seconds to build (ingest, correlation,
assessments, keys, a cosigned release), and most tests only read it: one per module and
engine; tests that add rows build their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from reports_support import World, build_world

from ceasefire.mission import Mission
from ceasefire.store import open_database
from databases import postgres_url


def _world(url: str, mission: Mission, keys: Path) -> Iterator[World]:
    engine = open_database(url)
    try:
        yield build_world(engine, mission, keys)
    finally:
        engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, demo_mission: Mission, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """A world on each engine, shared by the tests of a module: read it, never change it."""
    folder = tmp_path_factory.mktemp("world")
    if request.param == "sqlite":
        yield from _world(f"sqlite:///{folder / 'world.db'}", demo_mission, folder / "keys")
    else:
        for url in postgres_url():
            yield from _world(url, demo_mission, folder / "keys")


@pytest.fixture(scope="module")
def sqlite_world(
    demo_mission: Mission, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The same on SQLite only: for commands run in this process, which open the database by
    its URL and keep their own connections (read it, never change it)."""
    folder = tmp_path_factory.mktemp("world")
    yield from _world(f"sqlite:///{folder / 'world.db'}", demo_mission, folder / "keys")


@pytest.fixture
def fresh_world(engine: sa.Engine, demo_mission: Mission, tmp_path: Path) -> World:
    """A world of the test's own, on each engine (for tests that add rows)."""
    return build_world(engine, demo_mission, tmp_path / "keys")


@pytest.fixture
def fresh_sqlite_world(demo_mission: Mission, tmp_path: Path) -> Iterator[World]:
    yield from _world(f"sqlite:///{tmp_path / 'world.db'}", demo_mission, tmp_path / "keys")

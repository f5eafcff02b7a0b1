"""Shared fixtures: databases on SQLite and PostgreSQL, the demo mission, a small mission."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ceasefire.mission import Mission, load_mission
from cli_support import CliResult, run_main
from databases import Templates, postgres_url

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def demo_mission() -> Mission:
    return load_mission("karabakh-2020")


@pytest.fixture(scope="session")
def demo_enricher(demo_mission: Mission):  # type: ignore[no-untyped-def]
    from ceasefire.geo import Enricher

    return Enricher(demo_mission)


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    """Databases migrated once a session, copied for the tests that open a migrated engine."""
    made = Templates(tmp_path_factory.mktemp("templates"))
    yield made
    made.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, templates: Templates
) -> Iterator[str]:
    """A fresh database on each engine: empty, or already migrated (a copy of the session's
    migrated template) when the test opens a migrated :func:`engine` on it anyway."""
    migrated = "engine" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        if migrated:
            templates.sqlite_copy(path)
        yield f"sqlite:///{path}"
    else:
        yield from postgres_url(templates.postgres_template() if migrated else None)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    """A migrated engine on a fresh database of each kind; closed afterwards."""
    from ceasefire.store import open_database

    engine = open_database(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def mini_mission() -> Mission:
    return load_mission(FIXTURES / "mini-mission")


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run `ceasefire ARGS...` in this process; returns exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = run_main(monkeypatch, args)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def pytest_report_header() -> list[str]:
    from web.browser import SCREENSHOTS

    return [f"browser screenshots: {SCREENSHOTS}"]

"""Missions in the database, on SQLite and PostgreSQL: versions of the geography."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine

from ceasefire.mission import load_mission
from ceasefire.store.db import current_revision, head_revision
from ceasefire.store.missions import save_mission, stored_mission, versions

MINI = Path(__file__).parent.parent / "fixtures" / "mini-mission"


def test_migrations_reach_the_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision(engine)


def test_a_corrected_line_is_a_new_version_and_the_old_stays(
    engine: Engine, tmp_path: Path
) -> None:
    first, new = save_mission(engine, load_mission(MINI))
    assert new and first.version == 1
    again, new = save_mission(engine, load_mission(MINI))
    assert not new and again.version == 1

    corrected = tmp_path / "mini"
    shutil.copytree(MINI, corrected)
    zones = corrected / "zones.geojson"
    zones.write_text(
        zones.read_text().replace("[20.2, 45.0], [20.2, 45.15]", "[20.2, 45.0], [20.21, 45.15]")
    )
    second, new = save_mission(engine, load_mission(corrected), note="line corrected")
    assert new and second.version == 2
    assert [v.version for v in versions(engine, "mini")] == [1, 2]

    old, latest = stored_mission(engine, "mini", 1), stored_mission(engine, "mini")
    assert old.zone("line").geometry.coords[1] == (20.2, 45.15)
    assert latest.zone("line").geometry.coords[1] == (20.21, 45.15)
    assert latest.digest == second.digest

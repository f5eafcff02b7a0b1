"""Every command closes what it opens: a pooled PostgreSQL connection left to the garbage
collector warns in whichever test (or program) runs next."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ceasefire.center import Center


def test_a_command_closes_the_center_it_opened(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[Center] = []
    close = Center.close

    def counted(center: Center) -> None:
        closed.append(center)
        close(center)

    monkeypatch.setattr(Center, "close", counted)
    db = ["--db", str(tmp_path / "center.db")]
    for _run in range(2):  # each run its own: nothing carried from the one before
        shown = cli("incidents", "--format", "json", *db)
        assert shown.code == 0, shown.err
    assert len(closed) == 2

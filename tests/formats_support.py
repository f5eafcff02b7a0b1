"""A format as a mission's package would install it (an entry point of ``ceasefire.formats``)."""

from __future__ import annotations

import pytest

from ceasefire.intake import formats
from ceasefire.intake.formats import Format


def install_format(monkeypatch: pytest.MonkeyPatch, mine: Format) -> None:
    """Make ``mine`` the one installed format; the registry is read again (and again after
    the test: call ``formats.formats.cache_clear()`` then)."""

    class Point:
        name = mine.name

        def load(self) -> Format:
            return mine

    monkeypatch.setattr(formats, "entry_points", lambda group: [Point()])
    formats.formats.cache_clear()

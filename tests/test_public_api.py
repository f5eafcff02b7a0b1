"""The small public API: the names ``ceasefire`` offers, each the room's own object."""

from __future__ import annotations

import subprocess
import sys

import pytest

import ceasefire
from ceasefire.center import Center
from ceasefire.errors import InputError
from ceasefire.observations import Observation


def test_the_public_names_are_the_rooms_objects() -> None:
    assert ceasefire.Center is Center
    assert ceasefire.InputError is InputError and ceasefire.Observation is Observation
    for name in ceasefire.__all__:
        assert getattr(ceasefire, name) is not None
    assert set(ceasefire.__all__) <= set(dir(ceasefire))
    with pytest.raises(AttributeError):
        ceasefire.Nothing  # noqa: B018


def test_importing_ceasefire_stays_light() -> None:
    """``import ceasefire`` loads neither the database layer nor the web stack."""
    heavy = "('sqlalchemy', 'fastapi', 'numpy')"
    code = f"import sys, ceasefire; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""What the simulator's tests share (imported as ``sim_support``: pytest puts this folder on
the path)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ceasefire.sim import Scenario


@dataclass(frozen=True)
class Run:
    """A scenario, the folder its files were written to, and how long both took."""

    scenario: Scenario
    folder: Path
    seconds: float

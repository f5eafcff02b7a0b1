"""What a command's start costs: scipy (half a second) only once correlating or coverage needs
it, not in every ``ceasefire`` command nor in every API worker."""

from __future__ import annotations

import subprocess
import sys


def printed(probe: str) -> str:
    """What ``probe`` prints, run in a fresh interpreter (nothing imported yet)."""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_the_command_line_and_the_api_start_without_scipy() -> None:
    assert (
        printed(
            "import sys, ceasefire.cli, ceasefire.api.app, ceasefire.center;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))"
        )
        == "[]"
    )


def test_correlating_still_finds_scipy() -> None:
    assert (
        printed(
            "import sys, numpy as np;"
            "from ceasefire.incidents.correlate import components;"
            "print(components(3, np.array([0]), np.array([1])).tolist(), 'scipy' in sys.modules)"
        )
        == "[0, 0, 1] True"
    )

"""What a command's start costs: scipy (half a second) only once correlating or coverage needs
it, not in every ``ceasefire`` command nor in every API worker."""

from __future__ import annotations

import subprocess
import sys


def test_the_command_line_and_the_api_start_without_scipy() -> None:
    probe = (
        "import sys, ceasefire.cli, ceasefire.api.app, ceasefire.center;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "[]"


def test_correlating_still_finds_scipy() -> None:
    probe = (
        "import sys, numpy as np;"
        "from ceasefire.incidents.correlate import components;"
        "print(components(3, np.array([0]), np.array([1])).tolist(), 'scipy' in sys.modules)"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "[0, 0, 1] True"

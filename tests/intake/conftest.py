"""The intake tests share the observation strategies of tests/observations."""

from __future__ import annotations

import sys
from pathlib import Path

_STRATEGIES = str(Path(__file__).parents[1] / "observations")
if _STRATEGIES not in sys.path:
    sys.path.insert(0, _STRATEGIES)

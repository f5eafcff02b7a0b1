"""The composition root: where the center is assembled from its settings (see
docs/architecture.md). Everything that runs the center (the command line, the HTTP API, the
demo, the benches) builds a :class:`Center` and calls it."""

from ceasefire.center.core import CAPABILITIES, ENTRY_POINTS, Center, Job
from ceasefire.center.settings import CONFIG_ENV, Settings, load_settings

__all__ = [
    "CAPABILITIES",
    "CONFIG_ENV",
    "ENTRY_POINTS",
    "Center",
    "Job",
    "Settings",
    "load_settings",
]

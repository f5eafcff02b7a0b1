"""The mission: contingents, parties, the agreement, time-aware zones and the gazetteer."""

from ceasefire.mission.load import (
    DEFAULT_MISSION,
    builtin_missions,
    check_files,
    check_mission,
    load_mission,
)
from ceasefire.mission.model import Mission, Settlement, Zone

__all__ = [
    "DEFAULT_MISSION",
    "Mission",
    "Settlement",
    "Zone",
    "builtin_missions",
    "check_files",
    "check_mission",
    "load_mission",
]

"""Times as users type them, and as the system keeps them (aware, UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _


def parse_time(text: str, timezone: str = "UTC", field: str = "time", source: str = "") -> datetime:
    """ISO 8601 date or date-time. Without an offset it is read in the given time zone."""
    value = text.strip()
    try:
        if len(value) == 10:
            moment = datetime.combine(datetime.fromisoformat(value).date(), time())
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            Problem(
                file=source,
                field=field,
                reason=_("{value!r} is not an ISO 8601 time such as 2020-11-15T10:30:00Z").format(
                    value=text
                ),
            )
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """UTC, seconds, with Z: 2020-11-15T10:30:00Z."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")

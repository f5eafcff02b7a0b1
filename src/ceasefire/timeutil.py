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


def shown(moment: datetime, timezone: str) -> str:
    """How the center's people read a time: the mission's local time, then UTC beside it
    ("2021-02-01 10:10 Asia/Baku (06:10 UTC)"; the UTC date too when it differs)."""
    local = moment.astimezone(ZoneInfo(timezone))
    utc = moment.astimezone(UTC)
    beside = utc.strftime("%H:%M" if utc.date() == local.date() else "%Y-%m-%d %H:%M")
    return f"{local:%Y-%m-%d %H:%M} {timezone} ({beside} UTC)"


def shown_text(text: str | None, timezone: str) -> str:
    """:func:`shown` for a stored ISO 8601 text; empty for none."""
    if not text:
        return ""
    return shown(datetime.fromisoformat(text.replace("Z", "+00:00")), timezone)

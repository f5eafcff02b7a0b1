"""Times as users type them, as the system keeps them (aware, UTC), and as people read them:
always in the mission's zone with UTC beside it (:func:`shown` on the command line,
:func:`shown_in` where each language writes dates its own way)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

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


def shown(moment: datetime, timezone: str, seconds: bool = False) -> str:
    """How the center's people read a time: the mission's local time, then UTC beside it
    ("2021-02-01 10:10 Asia/Baku (06:10 UTC)"; the UTC date too when it differs), to the
    minute or the second."""
    clock = "%H:%M:%S" if seconds else "%H:%M"
    local = moment.astimezone(ZoneInfo(timezone))
    utc = moment.astimezone(UTC)
    beside = utc.strftime(clock if utc.date() == local.date() else f"%Y-%m-%d {clock}")
    return f"{local.strftime(f'%Y-%m-%d {clock}')} {timezone} ({beside} UTC)"


def shown_in(
    moment: datetime, timezone: str, lang: str, utc_format: str = "HH:mm", between: str = "·"
) -> str:
    """:func:`shown` as ``lang`` writes dates and times (Babel's CLDR data): the local time in
    its medium format, then UTC in ``utc_format`` ("1 февр. 2021 г., 14:32 (Asia/Baku) · 10:32
    UTC"; a notice to a party gives UTC in full: ``utc_format="medium"``)."""
    local = format_datetime(moment, "medium", tzinfo=ZoneInfo(timezone), locale=lang)
    utc = format_datetime(moment, utc_format, tzinfo=UTC, locale=lang)
    return f"{local} ({timezone}) {between} {utc} UTC"


def shown_text(text: str | None, timezone: str) -> str:
    """:func:`shown` for a stored ISO 8601 text; empty for none."""
    if not text:
        return ""
    return shown(datetime.fromisoformat(text.replace("Z", "+00:00")), timezone)

"""Dates, times and numbers as each working language writes them (Babel's CLDR data), and
every time in the mission's zone beside UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal

from ceasefire.timeutil import parse_time, shown_in


def _moment(value: datetime | str) -> datetime:
    return parse_time(value) if isinstance(value, str) else value.astimezone(UTC)


def local_and_utc(value: datetime | str | None, zone: str, lang: str) -> str:
    """``1 февр. 2021 г., 14:32 (Asia/Baku) · 10:32 UTC``: the mission's zone first, UTC beside."""
    return "-" if value is None else shown_in(_moment(value), zone, lang)


def short_time(value: datetime | str | None, zone: str, lang: str) -> str:
    """``14:32 (10:32 UTC)``, for lists where the date is plain from the context."""
    if value is None:
        return "-"
    moment = _moment(value)
    local = format_datetime(moment, "d MMM HH:mm", tzinfo=ZoneInfo(zone), locale=lang)
    utc = format_datetime(moment, "HH:mm", tzinfo=UTC, locale=lang)
    return f"{local} ({utc} UTC)"


def number(value: float | int | None, lang: str, digits: int = 1) -> str:
    if value is None:
        return "-"
    return format_decimal(round(value, digits), locale=lang)

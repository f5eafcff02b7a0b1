"""Reading requests: the caller's language and media type, and query parameters checked with a
reason for each bad one (collected, so that one answer names every bad parameter)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NoReturn, TypeVar

from fastapi import Request
from pydantic_core import PydanticCustomError

from ceasefire.api import problems
from ceasefire.api.problems import Problem, field_error
from ceasefire.i18n import LANGUAGES, _
from ceasefire.observations.record import parse_time as parse_record_time
from ceasefire.store.observations import CursorError

T = TypeVar("T")

# -- language and media type --------------------------------------------------------------------


def _weighted(header: str | None) -> list[tuple[str, float]]:
    """The items of an Accept-style header with their q-values (at most 32 items)."""
    items: list[tuple[str, float]] = []
    for part in (header or "").split(",")[:32]:
        item, _sep, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if math.isfinite(q):
            items.append((item.strip().lower(), q))
    return items


def negotiate_language(header: str | None) -> str:
    """The best of the working languages for an Accept-Language header; English by default."""
    best, best_q = "en", 0.0
    for tag, q in _weighted(header):
        primary = tag.split("-")[0]
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


def request_language(request: Request) -> str:
    return negotiate_language(request.headers.get("accept-language"))


def negotiate_media_type(header: str | None, offered: Sequence[str]) -> str:
    """The offered media type the Accept header prefers; the first offered one when the header
    is missing, says ``*/*`` or names none of them (answers are never refused for Accept).

    An exact type beats ``type/*``, which beats ``*/*``; between equals the higher q wins, and
    between equal q the one offered first.
    """
    best, best_rank = offered[0], (0.0, -1, 0)
    for position, media_type in enumerate(offered):
        kind = media_type.split("/")[0]
        for item, q in _weighted(header):
            if item == media_type:
                specific = 2
            elif item == f"{kind}/*":
                specific = 1
            elif item == "*/*":
                specific = 0
            else:
                continue
            rank = (q, specific, -position)
            if q > 0 and rank > best_rank:
                best, best_rank = media_type, rank
    return best


# -- query parameters ---------------------------------------------------------------------------


# -- what the OpenAPI document declares of them (``json_schema_extra`` of a Query or Field): the
# same rules the parsers below enforce, so that a client generated from the document sends
# only what is accepted (tests/api/test_schemathesis.py checks both ways).

_LON = r"-?(180(\.0+)?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]+)?)"
_LAT = r"-?(90(\.0+)?|[1-8]?[0-9](\.[0-9]+)?)"
BBOX_PATTERN = rf"^{_LON},{_LAT},{_LON},{_LAT}$"
_BBOX = re.compile(BBOX_PATTERN)
#: An ISO 8601 time with an offset, as the document declares it (RFC 3339 ``date-time``).
TIME: dict[str, Any] = {"format": "date-time", "maxLength": 40}
BBOX: dict[str, Any] = {"pattern": BBOX_PATTERN, "maxLength": 200}


def one_of(allowed: Sequence[str]) -> dict[str, Any]:
    """Exactly one of ``allowed`` (:func:`parse_choice`)."""
    return {"enum": list(allowed)}


def some_of(allowed: Sequence[str]) -> dict[str, Any]:
    """One or more of ``allowed``, comma-separated (:func:`parse_names`)."""
    name = "(" + "|".join(re.escape(a) for a in allowed) + ")"
    return {"pattern": rf"^{name}(,{name})*$", "maxLength": 2000}


def parse_bbox(text: str, *, view: bool = False) -> tuple[float, float, float, float]:
    """``minlon,minlat,maxlon,maxlat`` in degrees; raises :class:`ValueError` with a reason.
    ``view``: a map's view as Leaflet gives it, its longitudes unwrapped past ±180 (brought
    back; a min larger than the max then crosses the antimeridian) and its latitudes padded
    past the poles (cut at ±90)."""
    parts = text.split(",")
    if len(parts) == 4 and not view and not _BBOX.match(text):  # a view may be unwrapped
        raise ValueError(
            _("The parameter bbox must be four decimal numbers: minlon,minlat,maxlon,maxlat.")
        )
    if len(parts) != 4:
        raise ValueError(_("The parameter bbox must be four numbers: minlon,minlat,maxlon,maxlat."))
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(
            _("The parameter bbox must be four numbers: minlon,minlat,maxlon,maxlat.")
        ) from None
    min_lon, min_lat, max_lon, max_lat = values
    if not all(math.isfinite(v) for v in values):
        raise ValueError(_("The parameter bbox must hold finite numbers."))
    if view:
        if max_lon - min_lon >= 360:
            min_lon, max_lon = -180.0, 180.0
        min_lon, max_lon = _wrapped(min_lon), _wrapped(max_lon)
        min_lat, max_lat = max(min_lat, -90.0), min(max_lat, 90.0)
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise ValueError(_("The longitudes of bbox must be from -180 to 180."))
    if not (-90 <= min_lat <= max_lat <= 90):
        raise ValueError(
            _("The latitudes of bbox must be from -90 to 90, the minimum not above the maximum.")
        )
    return min_lon, min_lat, max_lon, max_lat


def _wrapped(lon: float) -> float:
    return lon if -180 <= lon <= 180 else (lon + 180) % 360 - 180


def parse_time(text: str, name: str) -> datetime:
    """An ISO 8601 time with an offset or Z (aware, UTC); :class:`ValueError` with a reason."""
    try:
        return parse_record_time(text.strip(), name)
    except PydanticCustomError as error:
        raise ValueError(str(error.context.get("message", "")) if error.context else "") from None


def parse_names(text: str, allowed: Sequence[str], name: str) -> tuple[str, ...]:
    """One or more of ``allowed``, comma-separated (no spaces, no empty items)."""
    values = tuple(text.split(","))
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        raise ValueError(
            _("The parameter {name} must be one or more of: {allowed}; got {value}.").format(
                name=name, allowed=", ".join(allowed), value=", ".join(unknown)[:80]
            )
        )
    return values


def parse_choice(text: str, allowed: Sequence[str], name: str) -> str:
    """Exactly one of ``allowed``."""
    value = text
    if value not in allowed:
        raise ValueError(
            _("The parameter {name} must be one of: {allowed}; got {value}.").format(
                name=name, allowed=", ".join(allowed), value=value[:80]
            )
        )
    return value


def read_cursor(text: str, decode: Callable[[str], T]) -> T:
    """A paging cursor this server gave out, decoded by the store's ``decode``."""
    try:
        return decode(text)
    except CursorError:
        raise ValueError(
            _("The cursor is not one this server gave out; start again without it.")
        ) from None


class Checks:
    """Query parameters read one by one; :meth:`done` answers 422 naming every bad one."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []
        self.values: dict[str, Any] = {}

    def check(self, name: str, text: str | None, parse: Callable[[str], Any]) -> None:
        """Parse ``text`` (if given) into ``values[name]``, or note why it is bad."""
        if text is None:
            return
        try:
            self.values[name] = parse(text)
        except ValueError as error:
            self.fail(name, str(error))

    def fail(self, name: str, reason: str, where: str = "query") -> None:
        self.errors.append(field_error(name, reason, where))

    def done(self) -> dict[str, Any]:
        """The parsed values; raises the 422 problem if any parameter was bad."""
        if self.errors:
            invalid(self.errors)
        return self.values


def invalid(errors: list[dict[str, str]]) -> NoReturn:
    """Raise the 422 problem for bad parameters (each ``field_error``)."""
    detail = errors[0]["reason"] if len(errors) == 1 else _("The request has invalid parameters.")
    raise Problem(422, detail, type=problems.INVALID_PARAMETER, errors=errors)


__all__ = [
    "BBOX",
    "TIME",
    "Checks",
    "invalid",
    "negotiate_language",
    "negotiate_media_type",
    "one_of",
    "parse_bbox",
    "parse_choice",
    "parse_names",
    "parse_time",
    "read_cursor",
    "request_language",
    "some_of",
]

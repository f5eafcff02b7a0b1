"""Reading stored observations back: filters, keyset paging, one record, counts.

Plain functions over an engine, shared by the HTTP API and the command line. Paging is by
keyset on ``observations.id`` (the order of receipt), so a page costs the same however deep it
is, and records received while a client pages through arrive on a later page instead of
shifting the pages already read: each record is returned exactly once. The cursor is opaque to
clients (:func:`encode_cursor`); it holds only the last row's key.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.sql.elements import ColumnElement

from ceasefire.store.schema import observations, track_points

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
_CURSOR_VERSION = 1


class CursorError(ValueError):
    """A paging cursor that this program did not issue (or that was changed)."""


@dataclass(frozen=True)
class ObservationFilter:
    """What to select. Empty tuples and None mean no restriction.

    ``bbox`` is (min lon, min lat, max lon, max lat) in degrees; a box whose min lon is larger
    than its max lon crosses the antimeridian. ``since`` is inclusive, ``until`` exclusive,
    both on ``observed_at``.
    """

    bbox: tuple[float, float, float, float] | None = None
    since: datetime | None = None
    until: datetime | None = None
    categories: tuple[str, ...] = ()
    contingents: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredObservation:
    """One stored observation: the canonical record, its enrichment and its receipt."""

    key: int
    record: dict[str, Any]
    received_at: datetime
    source: str
    mission: int
    zones: list[str]
    controlled_by: str | None
    distance_to_line_m: float | None
    line_side: str | None
    settlement_id: str | None
    settlement_distance_m: float | None
    settlement_bearing_deg: float | None


@dataclass(frozen=True)
class Page:
    """One page of observations; ``after`` is the key to continue from, None at the end."""

    items: list[StoredObservation] = field(default_factory=list)
    after: int | None = None


def pack_cursor(fields: dict[str, Any]) -> str:
    """An opaque cursor carrying ``fields``: versioned JSON in URL-safe base64 (no padding).
    Every paged list (observations here, incidents in :mod:`ceasefire.incidents.queries`)
    makes its cursors so."""
    text = json.dumps({"v": _CURSOR_VERSION, **fields}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def unpack_cursor(cursor: str) -> dict[str, Any]:
    """The fields of a cursor :func:`pack_cursor` made; :class:`CursorError` if it is not
    one (the caller checks the fields themselves)."""
    if len(cursor) > 200:
        raise CursorError(cursor[:40])
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError(cursor[:40]) from None
    if not isinstance(data, dict) or data.get("v") != _CURSOR_VERSION:
        raise CursorError(cursor[:40])
    return data


def encode_cursor(after: int) -> str:
    """An opaque cursor for the page after the row with key ``after``."""
    return pack_cursor({"after": after})


def decode_cursor(cursor: str) -> int:
    """The key a cursor continues after; raises :class:`CursorError` if it is not ours."""
    after = unpack_cursor(cursor).get("after")
    if type(after) is not int or after < 0:
        raise CursorError(cursor[:40])
    return after


def in_box(lat: Any, lon: Any, bbox: tuple[float, float, float, float]) -> list[Any]:
    """The conditions that a row's ``lat`` and ``lon`` columns are in ``bbox`` (min lon, min
    lat, max lon, max lat; a min lon larger than the max lon crosses the antimeridian)."""
    min_lon, min_lat, max_lon, max_lat = bbox
    found = [lat.between(min_lat, max_lat)]
    if min_lon <= max_lon:
        found.append(lon.between(min_lon, max_lon))
    else:
        found.append(or_(lon >= min_lon, lon <= max_lon))
    return found


def filter_conditions(where: ObservationFilter) -> list[ColumnElement[bool]]:
    """The conditions on :data:`observations` that select what ``where`` asks."""
    c = observations.c
    conditions: list[ColumnElement[bool]] = []
    if where.bbox is not None:
        conditions += in_box(c.lat, c.lon, where.bbox)
    if where.since is not None:
        conditions.append(c.observed_at >= where.since)
    if where.until is not None:
        conditions.append(c.observed_at < where.until)
    if where.categories:
        conditions.append(c.category.in_(where.categories))
    if where.contingents:
        conditions.append(c.contingent.in_(where.contingents))
    return conditions


def _stored(row: Row[Any]) -> StoredObservation:
    m = row._mapping
    return StoredObservation(
        key=int(m["id"]),
        record=json.loads(m["record"]),
        received_at=m["received_at"],
        source=m["source"],
        mission=int(m["mission"]),
        zones=json.loads(m["zones"]),
        controlled_by=m["controlled_by"],
        distance_to_line_m=m["distance_to_line_m"],
        line_side=m["line_side"],
        settlement_id=m["settlement_id"],
        settlement_distance_m=m["settlement_distance_m"],
        settlement_bearing_deg=m["settlement_bearing_deg"],
    )


def query_observations(
    engine: Engine,
    where: ObservationFilter | None = None,
    *,
    after: int | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """Up to ``limit`` observations matching ``where`` with keys above ``after``, by key."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be from 1 to {MAX_LIMIT}")
    conditions = filter_conditions(where or ObservationFilter())
    if after is not None:
        conditions.append(observations.c.id > after)
    # one row more than asked tells whether another page exists without a count query
    query = select(observations).where(*conditions)
    query = query.order_by(observations.c.id).limit(limit + 1)
    with engine.connect() as db:
        rows = db.execute(query).all()
    items = [_stored(r) for r in rows[:limit]]
    more = len(rows) > limit
    return Page(items, items[-1].key if more else None)


def get_observation(engine: Engine, contingent: str, source_id: str) -> StoredObservation | None:
    """The observation a contingent reported under ``source_id``, if it was received."""
    c = observations.c
    query = select(observations).where(c.contingent == contingent, c.source_id == source_id)
    with engine.connect() as db:
        row = db.execute(query).first()
    return None if row is None else _stored(row)


def count_observations(engine: Engine, where: ObservationFilter | None = None) -> int:
    conditions = filter_conditions(where or ObservationFilter())
    query = select(func.count()).select_from(observations).where(*conditions)
    with engine.connect() as db:
        return int(db.execute(query).scalar_one())


def count_track_points(engine: Engine) -> int:
    with engine.connect() as db:
        return int(db.execute(select(func.count()).select_from(track_points)).scalar_one())


def counts_by_contingent(engine: Engine) -> dict[str, int]:
    """How many observations each contingent has had accepted."""
    c = observations.c
    query = select(c.contingent, func.count()).group_by(c.contingent).order_by(c.contingent)
    with engine.connect() as db:
        return {str(k): int(n) for k, n in db.execute(query)}


__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "CursorError",
    "ObservationFilter",
    "Page",
    "StoredObservation",
    "count_observations",
    "count_track_points",
    "counts_by_contingent",
    "decode_cursor",
    "encode_cursor",
    "get_observation",
    "query_observations",
]

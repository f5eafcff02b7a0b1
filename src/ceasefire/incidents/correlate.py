"""Which observations describe the same event: gating in space, time and category.

Two observations are *linked* when they can be one event: categories in the same group (an
explosion and small-arms fire are never one event; a vehicle and a line crossing can be), of the
same kind of source (a party's complaint never joins the monitors' observations: it becomes an
incident of its own, compared with theirs but never changing them), within the group's time
window of each other, closer than the gate
``min(max_gate, sigma * sqrt(ce1^2 + ce2^2) + slack) + speed * dt`` (the speed term lets a
moving column seen on two sorties an hour apart stay one event), and not two reports of one
post or patrol (they report an event once: two of their reports are two events, unless the
same report came twice).

Single linkage (the connected components of the links) chains distinct events on a bad day:
A near B, B near C, so A, B and C are one, however far apart A and C. So an incident is a
set of observations *every two* of which are linked (complete linkage: scipy's hierarchical
clustering, cut at the gate), which also bounds a fire incident's span by its window.
Movement is the exception: a column is followed as a track, position after position, so its
components stay whole. The components of the links are worked out first (a sweep over time
and a sparse graph); only a component that is not already complete goes through the
clustering, so the cost stays with the near pairs. Where complete linkage splits a chain into
incidents of one contingent each, an observation that fits every member of another
contingent's incident goes to it (:func:`_corroborate`).

The result depends only on the set of observations, not on the order they arrived in: that is
what makes streaming and batch correlation give the same incidents.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ceasefire.mission.model import Correlation

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

DEFAULT_SPEED_KMH = {"movement": 30.0}
APART = 1e6
"""The distance given to two observations that cannot be one event (beyond every cut)."""


@dataclass(frozen=True)
class Gating:
    """The correlation settings of a mission, as arrays by group code.

    Codes ``0 .. n-1`` are the category groups of the monitors' observations; ``n .. 2n-1``
    the same groups for the parties' complaints, which never link to the monitors'."""

    groups: dict[str, int]  # category -> group code
    names: list[str]  # group code -> group name
    window_s: F64  # by group code
    speed_ms: F64  # by group code
    sigma: float
    slack_m: float
    max_gate_m: float
    complete: bool
    once_per_event: frozenset[str]  # platform types that report an event once
    distinct: tuple[str, ...] = ()  # qualifiers whose different values are different events

    @classmethod
    def of(cls, config: Correlation, categories: list[str]) -> Gating:
        names = list(config.groups)
        groups: dict[str, int] = {}
        for code, name in enumerate(names):
            for category in config.groups[name]:
                groups[category] = code
        # A category in no group is a group of its own.
        for category in categories:
            if category not in groups:
                names.append(category)
                groups[category] = len(names) - 1
        default = config.windows_min.get("default", 30.0)
        window = [config.windows_min.get(n, default) * 60 for n in names] * 2
        speed = [DEFAULT_SPEED_KMH.get(n, 0.0) / 3.6 for n in names] * 2
        return cls(
            groups=groups,
            names=names,
            window_s=np.array(window, dtype=np.float64),
            speed_ms=np.array(speed, dtype=np.float64),
            sigma=config.sigma,
            slack_m=config.slack_m,
            max_gate_m=config.max_gate_m,
            complete=config.linkage == "complete",
            once_per_event=frozenset(config.once_per_event),
            distinct=tuple(config.distinct_qualifiers),
        )

    def code(self, category: str, complaint: bool = False) -> int:
        """One observation's group code, as :meth:`codes` gives it (a party's complaint in a
        group of its own beside its category's)."""
        return self.groups[category] + len(self.names) * complaint

    def codes(
        self,
        categories: list[str] | npt.NDArray[np.str_],
        complaint: list[bool] | Bool | None = None,
    ) -> I64:
        code = np.array([self.groups[c] for c in categories], dtype=np.int64)
        if complaint is not None:
            code += np.asarray(complaint, dtype=np.int64) * len(self.names)
        return code

    def sources(self, platform_types: list[str], platform_ids: list[str]) -> I64:
        """A code per observation for the platforms that report an event once; -1 else."""
        once = {
            p for t, p in zip(platform_types, platform_ids, strict=True) if t in self.once_per_event
        }
        number = {p: k for k, p in enumerate(sorted(once))}
        return np.array([number.get(p, -1) for p in platform_ids], dtype=np.int64)

    def evidence(
        self,
        qualifiers: Sequence[Mapping[str, Any]],
        bearings_deg: Sequence[float | None],
        across_m: Sequence[float | None],
    ) -> Evidence:
        """The :class:`Evidence` of observations: their qualifiers, and for reports by bearing
        and distance the bearing and the CE across it (None for the others)."""
        codes: dict[tuple[str, Any], int] = {}
        traits = np.zeros((len(qualifiers), len(self.distinct)), np.int64)
        for n, said in enumerate(qualifiers):
            for k, name in enumerate(self.distinct):
                value = said.get(name)
                if value is not None and value not in WILDCARDS:
                    traits[n, k] = codes.setdefault((name, value), len(codes) + 1)
        axis = np.array([np.nan if b is None else np.radians(b) for b in bearings_deg])
        across = np.array([np.nan if a is None else a for a in across_m], dtype=np.float64)
        return Evidence(traits, axis.astype(np.float64), across)

    def group_name(self, code: int) -> str:
        return self.names[code % len(self.names)]


WILDCARDS = frozenset({"unknown", "undetermined"})
"""Qualifier values that say nothing: they agree with every value."""


@dataclass(frozen=True)
class Evidence:
    """What else each observation says that tells two events apart (optional).

    ``traits``: a column per qualifier of :attr:`Gating.distinct` (a code per value, 0 when not
    said): two observations that both say it and differ are two events (a 120 mm mortar and a
    152 mm gun). ``axis``: for a report by bearing and distance, the bearing (radians from
    north; NaN for the others); its uncertainty is then an ellipse, the CE along the bearing
    and ``across`` (metres) across it, instead of a circle of the CE."""

    traits: I64
    axis: F64
    across: F64

    def take(self, index: I64) -> Evidence:
        return Evidence(self.traits[index], self.axis[index], self.across[index])

    @functools.cached_property
    def said(self) -> Bool:
        """Which observations said any of the qualifiers."""
        return np.asarray((self.traits != 0).any(axis=1))

    @functools.cached_property
    def narrow(self) -> F64:
        """The narrowest each observation's CE can be (across the bearing, or the CE): two
        are linked when closer than the gate of these, whatever their directions."""
        return np.asarray(np.where(np.isfinite(self.axis), self.across, np.inf))


COMPACT_AT = 4
"""Links kept per observation before they are reduced to a forest with the same components."""


def links(
    t: I64,
    x: F64,
    y: F64,
    ce: F64,
    group: I64,
    gating: Gating,
    source: I64 | None = None,
    track: I64 | None = None,
    until: I64 | None = None,
    evidence: Evidence | None = None,
    *,
    every: bool = False,
) -> tuple[I64, I64]:
    """Pairs (i, j), i < j, of linked observations, the arrays sorted by time: every pair
    while they are few, only a forest of them (the same components) once they pass
    :data:`COMPACT_AT` per observation; with ``every``, all of them (memory grows with the
    links: for looking at a day, not for correlating)."""
    first, second, _degree = _links(
        t,
        x,
        y,
        ce,
        group,
        gating,
        _ids(source, t),
        _ids(track, t),
        _extent(t, until, group, gating),
        evidence,
        compact_at=float("inf") if every else None,
    )
    return first, second


def _extent(t: I64, until: I64 | None, group: I64, gating: Gating) -> I64:
    """How long each observation lasts (``until`` - ``t``), at most its group's window: a
    sighting that lasts links to one up to a window after its end."""
    if until is None:
        return np.zeros(len(t), np.int64)
    return np.asarray(np.clip(until - t, 0, gating.window_s[group]).astype(np.int64))


def _ids(codes: I64 | None, t: I64) -> I64:
    return np.full(len(t), -1, np.int64) if codes is None else codes


def _links(
    t: I64,
    x: F64,
    y: F64,
    ce: F64,
    group: I64,
    gating: Gating,
    src: I64,
    track: I64,
    extent: I64,
    evidence: Evidence | None = None,
    compact_at: float | None = None,
) -> tuple[I64, I64, I64]:
    """Links, and how many each observation has (counted before any compaction)."""
    firsts: list[I64] = []
    seconds: list[I64] = []
    degree = np.zeros(len(t), np.int64)
    # Each group is swept on its own with its own window: fire (10 min) then never pays for
    # the movement window (90 min).
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        i, j, d = _sweep(
            t[members],
            x[members],
            y[members],
            ce[members],
            src[members],
            track[members],
            extent[members],
            float(gating.window_s[g]),
            float(gating.speed_ms[g]),
            gating,
            None if evidence is None else evidence.take(members),
            compact_at,
        )
        firsts.append(members[i])
        seconds.append(members[j])
        degree[members] = d
    if not firsts:
        return np.empty(0, np.int64), np.empty(0, np.int64), degree
    return np.concatenate(firsts), np.concatenate(seconds), degree


def _sweep(
    t: I64,
    x: F64,
    y: F64,
    ce: F64,
    src: I64,
    track: I64,
    extent: I64,
    window: float,
    speed: float,
    gating: Gating,
    evidence: Evidence | None = None,
    compact_at: float | None = None,
) -> tuple[I64, I64, I64]:
    """The links of one group (arrays sorted by time), and each observation's count of them.

    A pair is a candidate when it is near in time (the later within ``window`` of the end of
    the earlier) and in space: observations are put in square cells as wide as the farthest
    any two can be linked (the largest gate plus the speed term over the longest time apart),
    so a linked pair is in the same cell or in neighbouring ones; each cell is swept over time
    against itself and against four of its neighbours (the other four see it from their side).
    Positions of one track link whatever their distance: they are paired by a sweep per track.
    The pairs found are exactly those of a sweep over every pair near in time, and only the
    near ones cost."""
    n = len(t)
    kept: tuple[I64, I64] = (np.empty(0, np.int64), np.empty(0, np.int64))  # a forest
    firsts: list[I64] = []  # links found since, not yet counted in `degree`
    seconds: list[I64] = []
    degree = np.zeros(n, np.int64)
    if n < 2:
        return kept[0], kept[1], degree
    has_src = src if (src >= 0).any() else None
    held = 0
    limit = (COMPACT_AT if compact_at is None else compact_at) * n  # None: the module's
    pairs = _linked_pairs(t, x, y, ce, has_src, track, extent, window, speed, gating, evidence)
    for i, j in pairs:
        firsts.append(i)
        seconds.append(j)
        held += len(i)
        if held > limit:
            # Dense data links nearly everything to everything near it; only the components
            # matter here, so keep a forest of them and memory stays linear in n.
            first, second = np.concatenate(firsts), np.concatenate(seconds)
            degree += _count(n, first, second)
            kept = _forest(n, np.concatenate([kept[0], first]), np.concatenate([kept[1], second]))
            firsts, seconds, held = [], [], len(kept[0])
    first, second = np.concatenate([kept[0], *firsts]), np.concatenate([kept[1], *seconds])
    fresh = slice(len(kept[0]), None)
    return first, second, degree + _count(n, first[fresh], second[fresh])


def _linked_pairs(
    t: I64,
    x: F64,
    y: F64,
    ce: F64,
    src: I64 | None,
    track: I64,
    extent: I64,
    window: float,
    speed: float,
    gating: Gating,
    evidence: Evidence | None = None,
) -> Iterator[tuple[I64, I64]]:
    """The links of one group (see :func:`_sweep`), in batches: the candidates of the cells
    that are linked, then the pairs of each track's positions."""
    tracked = track >= 0
    has_track = bool(tracked.any())
    for i, j in _candidates(t, x, y, ce, track, extent, window, speed, gating):
        dt = (t[j] - t[i]).astype(np.float64)
        linked = _linked(i, j, dt, x, y, ce, src, None, speed, gating, evidence)
        if has_track:
            # Two positions of one track are paired by the track's own sweep.
            linked &= ~(tracked[i] & (track[i] == track[j]))
        yield i[linked], j[linked]
    if has_track:
        members = np.flatnonzero(tracked)
        # A track's positions in time order: the same sweep as in a cell, the track its cell.
        for a, b in _pairs_within(t[members], track[members], extent[members], window):
            yield members[a], members[b]


CANDIDATES = 2_000_000
"""Candidate pairs examined at once (bounds the sweep's memory)."""
NEIGHBOURS = ((1, -1), (1, 0), (1, 1), (0, 1))
"""Half of a cell's neighbours: each pair of neighbouring cells is swept once."""


def _reach(ce: F64, extent: I64, window: float, speed: float, gating: Gating) -> float:
    """The farthest apart two observations of a group can be and still be linked."""
    largest = float(np.nanmax(ce)) if np.isfinite(ce).any() else np.inf
    static = min(gating.sigma * np.sqrt(2.0) * largest + gating.slack_m, gating.max_gate_m)
    return float(static + speed * (window + float(extent.max())))


def _candidates(
    t: I64,
    x: F64,
    y: F64,
    ce: F64,
    track: I64,
    extent: I64,
    window: float,
    speed: float,
    gating: Gating,
) -> Iterator[tuple[I64, I64]]:
    """Pairs (i, j), i < j, near enough in time and in neighbouring cells: a superset of the
    links, none twice, in batches of about :data:`CANDIDATES`."""
    placed = np.flatnonzero(np.isfinite(x) & np.isfinite(y))  # no place: links only by track
    if len(placed) < 2:
        return
    px, py = x[placed], y[placed]
    # A little wider than the reach, so rounding never puts a linked pair two cells apart.
    side = _reach(ce, extent, window, speed, gating) * (1 + 1e-9) + 1.0
    cx = np.floor((px - px.min()) / side).astype(np.int64)
    cy = np.floor((py - py.min()) / side).astype(np.int64) + 1
    rows = int(cy.max()) + 2
    cell = cx * rows + cy
    cells, rank = np.unique(cell, return_inverse=True)
    pt, pext = t[placed], extent[placed]
    order = np.lexsort((pt, rank))  # by cell, then time (stable: then by index)
    longest = int(window) + int(pext.max()) + 1
    t0 = int(pt.min()) - longest
    span = int(pt.max()) - t0 + longest + 1
    key = rank[order] * span + (pt[order] - t0)
    ends = key + int(window) + pext[order]  # the last moment a later one can be linked from
    starts = np.arange(1, len(order) + 1)
    # In the same cell, the later ones (by index: the sort kept the time order's ties).
    yield from _expand(placed, order, starts, np.searchsorted(key, ends, side="right"))
    for dx, dy in NEIGHBOURS:
        other = cell[order] + dx * rows + dy
        where = np.minimum(np.searchsorted(cells, other), len(cells) - 1)
        exists = cells[where] == other
        base = where * span + (pt[order] - t0)
        lo = np.searchsorted(key, base - longest + 1, side="left")
        hi = np.searchsorted(key, base + int(window) + pext[order], side="right")
        hi = np.where(exists, hi, lo)
        for i, j in _expand(placed, order, lo, hi):
            a, b = np.minimum(i, j), np.maximum(i, j)
            gap = t[b] - t[a] - extent[a]
            near = gap <= window
            yield a[near], b[near]


def _expand(placed: I64, order: I64, lo: I64, hi: I64) -> Iterator[tuple[I64, I64]]:
    """For each sorted position p, the pairs (p, q) with q in ``lo[p]:hi[p]``, as indices of
    the group, in batches."""
    count = np.maximum(hi - lo, 0)
    total = np.cumsum(count)
    begin = 0
    while begin < len(count):
        before = int(total[begin - 1]) if begin else 0
        end = int(np.searchsorted(total, before + CANDIDATES, side="right"))
        end = max(end, begin + 1)
        c = count[begin:end]
        if c.sum():
            p = np.repeat(np.arange(begin, end), c)
            q = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c - lo[begin:end], c)
            yield placed[order[p]], placed[order[q]]
        begin = end


def _pairs_within(t: I64, code: I64, extent: I64, window: float) -> Iterator[tuple[I64, I64]]:
    """Pairs (i, j), i < j, of the same ``code``, the later within ``window`` of the end of
    the earlier (``t`` sorted)."""
    order = np.lexsort((t, code))
    _codes, rank = np.unique(code, return_inverse=True)
    longest = int(window) + int(extent.max()) + 1
    t0 = int(t.min())
    span = int(t.max()) - t0 + longest + 1
    key = rank[order] * span + (t[order] - t0)
    hi = np.searchsorted(key, key + int(window) + extent[order], side="right")
    yield from _expand(np.arange(len(t)), order, np.arange(1, len(order) + 1), hi)


def _count(n: int, first: I64, second: I64) -> I64:
    """How many links each of ``n`` observations has."""
    return np.asarray(np.bincount(first, minlength=n) + np.bincount(second, minlength=n))


def _linked(
    i: I64,
    j: I64,
    dt: F64,
    x: F64,
    y: F64,
    ce: F64,
    src: I64 | None,
    track: I64 | None,
    speed: float,
    gating: Gating,
    evidence: Evidence | None = None,
) -> Bool:
    """Which pairs (i, j), ``dt`` apart in time, can be one event (the sweep's hot path:
    :func:`_share` without the time, and without sources or tracks where none are given)."""
    dx, dy = x[i] - x[j], y[i] - y[j]
    distance = np.hypot(dx, dy)
    static = np.minimum(gating.sigma * np.hypot(ce[i], ce[j]) + gating.slack_m, gating.max_gate_m)
    linked = distance <= static + speed * dt
    if evidence is not None:
        # The evidence only ever parts a pair (an ellipse lies inside its circle), so it is
        # looked at for the pairs the circles link; and the ellipses only for those farther
        # apart than the gate of the narrowest their CEs can be.
        k = np.flatnonzero(linked)
        a, b = i[k], j[k]
        narrow = np.hypot(
            np.minimum(evidence.narrow[a], ce[a]), np.minimum(evidence.narrow[b], ce[b])
        )
        sure = np.minimum(gating.sigma * narrow + gating.slack_m, gating.max_gate_m)
        far = k[distance[k] > sure + speed * dt[k]]
        a, b = i[far], j[far]
        combined = combined_ce(a, b, dx[far], dy[far], distance[far], ce, evidence)
        gate = np.minimum(gating.sigma * combined + gating.slack_m, gating.max_gate_m)
        linked[far] = distance[far] <= gate + speed * dt[far]
        k = np.flatnonzero(linked)
        linked[k] = ~_differ(i[k], j[k], evidence)
    if src is not None:
        linked &= ~_twice(i, j, dt, distance, src)
    if track is not None:
        linked |= (track[i] >= 0) & (track[i] == track[j])
    return np.asarray(linked)


def _twice(i: I64, j: I64, dt: F64, distance: F64, src: I64) -> Bool:
    """Two reports of a post or patrol: two events, unless one report came twice."""
    return np.asarray((src[i] >= 0) & (src[i] == src[j]) & ((distance > 0) | (dt > 0)))


def _differ(i: I64, j: I64, evidence: Evidence) -> Bool:
    """Pairs that say different things of a qualifier that tells events apart."""
    both = evidence.said[i] & evidence.said[j]
    out = np.zeros(both.shape, dtype=bool)
    if both.any():
        a, b = evidence.traits[i[both]], evidence.traits[j[both]]
        out[both] = ((a != 0) & (b != 0) & (a != b)).any(axis=-1)
    return out


def combined_ce(
    i: I64, j: I64, dx: F64, dy: F64, distance: F64, ce: F64, evidence: Evidence | None
) -> F64:
    """The two observations' uncertainty combined, in the direction from one to the other:
    ``sqrt(ce_i^2 + ce_j^2)`` for two circles. A report by bearing and distance is uncertain
    mostly along its bearing (its distance band); across it, only as far as the bearing's
    error reaches (``across``). Its CE is an ellipse, no wider than the circle: the CE along the
    bearing and ``across`` across it; the two covariances add, and the combined CE is the
    distance at which the pair's Mahalanobis distance is 1 (so the circles' formula when both
    are circles)."""
    circle = np.hypot(ce[i], ce[j])
    if evidence is None:
        return circle
    shaped = np.isfinite(evidence.axis[i]) | np.isfinite(evidence.axis[j])
    shaped &= distance > 0
    if not shaped.any():
        return circle
    k = np.nonzero(shaped)  # i and j may be matrices (a row per component)
    sxx = np.zeros(len(k[0]))
    sxy = np.zeros(len(k[0]))
    syy = np.zeros(len(k[0]))
    for member in (i[k], j[k]):
        along = ce[member]
        bearing = evidence.axis[member]
        round_ = ~np.isfinite(bearing)
        across = np.where(round_, along, np.minimum(evidence.across[member], along))
        ux, uy = np.sin(np.where(round_, 0.0, bearing)), np.cos(np.where(round_, 0.0, bearing))
        sxx += along**2 * ux**2 + across**2 * uy**2
        syy += along**2 * uy**2 + across**2 * ux**2
        sxy += (along**2 - across**2) * ux * uy
    wx, wy = dx[k] / distance[k], dy[k] / distance[k]
    det = np.maximum(sxx * syy - sxy**2, 1e-9)
    inverse = (syy * wx**2 - 2 * sxy * wx * wy + sxx * wy**2) / det
    out = circle.copy()
    out[k] = 1.0 / np.sqrt(np.maximum(inverse, 1e-18))
    return np.asarray(out)


def _share(
    i: I64,
    j: I64,
    dt: F64,
    x: F64,
    y: F64,
    ce: F64,
    src: I64,
    track: I64,
    speed: float | F64,
    gating: Gating,
    window: float | F64,
    gap: F64 | None = None,
    evidence: Evidence | None = None,
) -> F64:
    """How far apart pairs (i, j) are as a share of the gate, in space or in time (of
    ``window``), whichever is further: at most 1 when they can be one event, else more.
    ``gap``: the time between them (from the end of the earlier; default ``dt``)."""
    gap = dt if gap is None else gap
    dx, dy = x[i] - x[j], y[i] - y[j]
    distance = np.hypot(dx, dy)
    combined = combined_ce(i, j, dx, dy, distance, ce, evidence)
    static = np.minimum(gating.sigma * combined + gating.slack_m, gating.max_gate_m)
    share = np.maximum(distance / (static + speed * dt), gap / window)
    apart = _twice(i, j, dt, distance, src)
    if evidence is not None:
        apart |= _differ(i, j, evidence)
    share = np.where(apart, APART, share)
    # Positions of one track (the source's own id for one moving object) are one object.
    return np.asarray(np.where((track[i] >= 0) & (track[i] == track[j]), 0.0, share))


def pair_shares(
    i: I64,
    j: I64,
    t: I64,
    x: F64,
    y: F64,
    ce: F64,
    group: I64,
    gating: Gating,
    source: I64 | None = None,
    track: I64 | None = None,
    until: I64 | None = None,
    evidence: Evidence | None = None,
) -> F64:
    """How far apart pairs (i, j) of time-ordered observations are as a share of their gate
    or window, whichever is further (:func:`_share`, what complete linkage cuts at 1): the
    measure of how well two observations fit one event."""
    a, b = np.minimum(i, j), np.maximum(i, j)
    dt = (t[b] - t[a]).astype(np.float64)
    extent = _extent(t, until, group, gating)
    gap = np.maximum(dt - extent[a], 0.0)
    code = group[a]
    window, speed = gating.window_s[code], gating.speed_ms[code]
    src, tracks = _ids(source, t), _ids(track, t)
    return _share(a, b, dt, x, y, ce, src, tracks, speed, gating, window, gap, evidence)


def _labels(n: int, first: I64, second: I64) -> I64:
    """Each node's connected component (scipy's numbering) of the links ``first``-``second``.

    scipy is imported here and in :func:`_complete`, not with the module: it is half a
    second of every ``ceasefire`` command's start (the command line, the API's workers import
    this module through the intake) and only correlating needs it."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(first), dtype=np.int8), (first, second)), shape=(n, n))
    _count, labels = connected_components(graph, directed=False)
    return np.asarray(labels)


def _forest(n: int, first: I64, second: I64) -> tuple[I64, I64]:
    """Links with the same components as ``first``-``second``: each node to its component's
    first node."""
    labels = _labels(n, first, second)
    _unique, root_of = np.unique(labels, return_index=True)
    root = root_of[labels]
    nodes = np.arange(n)
    keep = root != nodes
    return root[keep].astype(np.int64), nodes[keep]


def components(n: int, first: I64, second: I64) -> I64:
    """A label per observation: its connected component, numbered in order of first member."""
    if n == 0:
        return np.empty(0, np.int64)
    return _in_order(_labels(n, first, second))


def _in_order(labels: I64) -> I64:
    """Labels renumbered by first appearance, so they follow time order (deterministic)."""
    _unique, first_index, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first_index))
    return np.asarray(order[inverse], dtype=np.int64)


def correlate(
    t: I64,
    x: F64,
    y: F64,
    ce: F64,
    group: I64,
    gating: Gating,
    source: I64 | None = None,
    track: I64 | None = None,
    until: I64 | None = None,
    evidence: Evidence | None = None,
    contingent: I64 | None = None,
) -> I64:
    """Batch correlation: incident labels for observations sorted by time, numbered in order
    of each incident's first observation. ``source``: :meth:`Gating.sources`; ``track``: a
    code per moving object a source named (-1: none); ``until``: when each sighting ended;
    ``evidence``: :meth:`Gating.evidence`; ``contingent``: a code per observation's contingent
    (:func:`_corroborate`)."""
    return chains_and_incidents(
        t, x, y, ce, group, gating, source, track, until, evidence, contingent
    )[1]


def chains_and_incidents(
    t: I64,
    x: F64,
    y: F64,
    ce: F64,
    group: I64,
    gating: Gating,
    source: I64 | None = None,
    track: I64 | None = None,
    until: I64 | None = None,
    evidence: Evidence | None = None,
    contingent: I64 | None = None,
) -> tuple[I64, I64]:
    """The components of the links (the chains an incident cannot reach beyond) and the
    incident labels (:func:`correlate`), from one sweep."""
    n = len(t)
    src, tracks = _ids(source, t), _ids(track, t)
    extent = _extent(t, until, group, gating)
    first, second, degree = _links(t, x, y, ce, group, gating, src, tracks, extent, evidence)
    labels = components(n, first, second)
    if not gating.complete or n == 0:
        return labels, labels
    size = np.bincount(labels)
    # A component whose members are all linked to each other is already complete; a movement
    # is followed as a track, position after position (its gate grows with time, so on a busy
    # road a year of traffic can be one chain: complete linkage would cost its square): only
    # the others are clustered.
    todo = np.unique(labels[(degree != size[labels] - 1) & (gating.speed_ms[group] == 0)])
    if len(todo) == 0:
        return labels, labels
    out = labels.copy()
    fresh = int(labels.max()) + 1
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], todo)
    sizes = size[todo]
    # Components of one size together: their pairs' shares in one go, then each clustered.
    for s in np.unique(sizes).tolist():
        which = sizes == s
        members = order[starts[which][:, None] + np.arange(s)]  # one row a component
        shares = _shares(members, t, x, y, ce, src, tracks, extent, group, gating, evidence)
        for row, share in zip(members, shares, strict=True):
            parts = _complete(share, s)
            if contingent is not None and parts.max() > 1:
                parts = _corroborate(parts, _square(share), contingent[row])
            if parts.max() > 1:
                split = parts > 1
                out[row[split]] = fresh + parts[split] - 2
                fresh += int(parts.max()) - 1
    return labels, _in_order(out)


def _shares(
    members: I64,
    t: I64,
    x: F64,
    y: F64,
    ce: F64,
    src: I64,
    track: I64,
    extent: I64,
    group: I64,
    gating: Gating,
    evidence: Evidence | None = None,
) -> F64:
    """For components of one size (a row each, members in time order), the condensed
    matrices of their members' shares of the gate (:func:`_share`; beyond 1: apart)."""
    i, j = np.triu_indices(members.shape[1], k=1)
    a, b = members[:, i], members[:, j]
    code = group[a]
    dt = (t[b] - t[a]).astype(np.float64)
    gap = np.maximum(dt - extent[a], 0.0)
    window, speed = gating.window_s[code], gating.speed_ms[code]
    share = _share(a, b, dt, x, y, ce, src, track, speed, gating, window, gap, evidence)
    return np.asarray(np.where(share <= 1.0, share, APART))


def _square(share: F64) -> F64:
    """The square matrix of condensed shares."""
    from scipy.spatial.distance import squareform  # when first used (:func:`_labels`)

    return np.asarray(squareform(share))


def _complete(share: F64, n: int) -> I64:
    """Complete linkage of ``n`` members from their condensed shares, cut at 1: cluster
    numbers from 1 in order of first member (the first member's 1 keeps the component's
    label). The merges come in order of height (complete linkage is monotone), so the clusters
    are those of the merges up to 1."""
    from scipy.cluster.hierarchy import linkage  # imported when first used (:func:`_labels`)

    merges = linkage(share, method="complete")
    cluster = list(range(2 * n - 1))  # each node's cluster: a node it was merged into
    for k, (left, right, height, _count) in enumerate(merges.tolist()):
        if height > 1.0:
            break
        cluster[int(left)] = cluster[int(right)] = n + k
    number: dict[int, int] = {}
    parts = np.empty(n, np.int64)
    for leaf in range(n):
        node = leaf
        while cluster[node] != node:
            node = cluster[node]
        parts[leaf] = number.setdefault(node, len(number) + 1)
    return parts


def _corroborate(parts: I64, share: F64, contingent: I64) -> I64:
    """Where complete linkage split a chain into incidents each of one contingent, an
    observation that fits every member of another contingent's incident goes to it: the split
    of a chain is otherwise arbitrary (an observation fits two incidents, and merges by share
    decide), and two contingents watching one place see the same events. The best fit first
    (the smallest largest share), each incident given or taken from once; an incident never
    empties (then complete linkage would have merged the two)."""
    parts = parts.copy()
    done: set[int] = set()
    while True:
        numbers = [p for p in np.unique(parts).tolist() if p not in done]
        alone = {p: np.unique(contingent[parts == p]) for p in numbers}
        alone = {p: c for p, c in alone.items() if len(c) == 1}
        best: tuple[float, int, int, int] | None = None
        for x_part, x_seen in alone.items():
            mine = np.flatnonzero(parts == x_part)
            if len(mine) < 2:
                continue
            for y_part, y_seen in alone.items():
                if y_seen[0] == x_seen[0]:
                    continue
                worst = share[np.ix_(mine, np.flatnonzero(parts == y_part))].max(axis=1)
                k = int(np.argmin(worst))
                if worst[k] <= 1.0 and (best is None or worst[k] < best[0]):
                    best = (float(worst[k]), int(mine[k]), x_part, y_part)
        if best is None:
            return parts
        _worst, member, x_part, y_part = best
        parts[member] = y_part
        done |= {x_part, y_part}


@dataclass(frozen=True)
class Join:
    """Why an observation is in its incident: the member it is nearest to (as a share of the
    gate) and how far apart they are against the gate and the window."""

    partner: int  # index of that member
    distance_m: float
    apart_s: float  # from the end of the earlier sighting
    gate_m: float
    window_s: float


def joins(
    t: I64,
    until: I64,
    x: F64,
    y: F64,
    ce: F64,
    group: I64,
    gating: Gating,
    track: I64 | None = None,
    evidence: Evidence | None = None,
) -> list[Join | None]:
    """For each member of one incident (in time order), the link that explains it; None for
    a member alone."""
    n = len(t)
    if n < 2:
        return [None] * n
    tracks = _ids(track, t)
    extent = _extent(t, until, group, gating)
    out: list[Join | None] = []
    for i in range(n):
        j = np.array([k for k in range(n) if k != i])
        early = np.minimum(i, j)
        late = np.maximum(i, j)
        dt = (t[late] - t[early]).astype(np.float64)
        gap = np.maximum(dt - extent[early], 0.0)
        window = gating.window_s[group[i]]
        speed = gating.speed_ms[group[i]]
        dx, dy = x[i] - x[j], y[i] - y[j]
        distance = np.hypot(dx, dy)
        mine = np.full(len(j), i)
        combined = combined_ce(mine, j, dx, dy, distance, ce, evidence)
        gate = np.minimum(gating.sigma * combined + gating.slack_m, gating.max_gate_m)
        gate = gate + speed * dt
        share = np.maximum(distance / gate, gap / window)
        share = np.where((tracks[i] >= 0) & (tracks[j] == tracks[i]), 0.0, share)
        k = int(np.argmin(share))
        out.append(
            Join(int(j[k]), float(distance[k]), float(gap[k]), float(gate[k]), float(window))
        )
    return out

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
clustering, so the cost stays with the near pairs.

The result depends only on the set of observations, not on the order they arrived in: that is
what makes streaming and batch correlation give the same incidents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

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
        )

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

    def group_name(self, code: int) -> str:
        return self.names[code % len(self.names)]


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
) -> tuple[I64, I64]:
    """Pairs (i, j) of linked observations; the arrays must be sorted by time."""
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
) -> tuple[I64, I64, I64]:
    n = len(t)
    kept: tuple[I64, I64] = (np.empty(0, np.int64), np.empty(0, np.int64))  # a forest
    firsts: list[I64] = []  # links found since, not yet counted in `degree`
    seconds: list[I64] = []
    degree = np.zeros(n, np.int64)
    has_src = src if (src >= 0).any() else None
    has_track = track if (track >= 0).any() else None
    held = 0
    active = np.arange(max(0, n - 1))
    k = 1
    while len(active):
        j = active + k
        inside = j < n
        active, j = active[inside], j[inside]
        dt = (t[j] - t[active]).astype(np.float64)
        gap = np.maximum(dt - extent[active], 0.0)
        near = gap <= window
        active, j, dt = active[near], j[near], dt[near]
        linked = _linked(active, j, dt, x, y, ce, has_src, has_track, speed, gating)
        firsts.append(active[linked])
        seconds.append(j[linked])
        held += int(linked.sum())
        if held > COMPACT_AT * n:
            # Dense data links nearly everything to everything near it in time; only the
            # components matter here, so keep a forest of them and memory stays linear in n.
            first, second = np.concatenate(firsts), np.concatenate(seconds)
            degree += _count(n, first, second)
            kept = _forest(n, np.concatenate([kept[0], first]), np.concatenate([kept[1], second]))
            firsts, seconds, held = [], [], len(kept[0])
        k += 1
    first, second = np.concatenate([kept[0], *firsts]), np.concatenate([kept[1], *seconds])
    fresh = slice(len(kept[0]), None)
    return first, second, degree + _count(n, first[fresh], second[fresh])


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
) -> Bool:
    """Which pairs (i, j), ``dt`` apart in time, can be one event (the sweep's hot path:
    :func:`_share` without the time, and without sources or tracks where none are given)."""
    static = np.minimum(gating.sigma * np.hypot(ce[i], ce[j]) + gating.slack_m, gating.max_gate_m)
    distance = np.hypot(x[i] - x[j], y[i] - y[j])
    linked = distance <= static + speed * dt
    if src is not None:
        linked &= ~_twice(i, j, dt, distance, src)
    if track is not None:
        linked |= (track[i] >= 0) & (track[i] == track[j])
    return np.asarray(linked)


def _twice(i: I64, j: I64, dt: F64, distance: F64, src: I64) -> Bool:
    """Two reports of a post or patrol: two events, unless one report came twice."""
    return np.asarray((src[i] >= 0) & (src[i] == src[j]) & ((distance > 0) | (dt > 0)))


def _share(
    i: I64,
    j: I64,
    dt: F64,
    x: F64,
    y: F64,
    ce: F64,
    src: I64,
    track: I64,
    speed: float,
    gating: Gating,
    window: float,
    gap: F64 | None = None,
) -> F64:
    """How far apart pairs (i, j) are as a share of the gate, in space or in time (of
    ``window``), whichever is further: at most 1 when they can be one event, else more.
    ``gap``: the time between them (from the end of the earlier; default ``dt``)."""
    gap = dt if gap is None else gap
    static = np.minimum(gating.sigma * np.hypot(ce[i], ce[j]) + gating.slack_m, gating.max_gate_m)
    distance = np.hypot(x[i] - x[j], y[i] - y[j])
    share = np.maximum(distance / (static + speed * dt), gap / window)
    share = np.where(_twice(i, j, dt, distance, src), APART, share)
    # Positions of one track (the source's own id for one moving object) are one object.
    return np.asarray(np.where((track[i] >= 0) & (track[i] == track[j]), 0.0, share))


COMPACT_AT = 4
"""Links kept per observation before they are reduced to a forest with the same components."""


def _forest(n: int, first: I64, second: I64) -> tuple[I64, I64]:
    """Links with the same components as ``first``-``second``: each node to its component's
    first node."""
    graph = coo_matrix((np.ones(len(first), dtype=np.int8), (first, second)), shape=(n, n))
    _count, labels = connected_components(graph, directed=False)
    _unique, root_of = np.unique(labels, return_index=True)
    root = root_of[labels]
    nodes = np.arange(n)
    keep = root != nodes
    return root[keep].astype(np.int64), nodes[keep]


def components(n: int, first: I64, second: I64) -> I64:
    """A label per observation: its connected component, numbered in order of first member."""
    if n == 0:
        return np.empty(0, np.int64)
    graph = coo_matrix((np.ones(len(first), dtype=np.int8), (first, second)), shape=(n, n))
    _count, labels = connected_components(graph, directed=False)
    return _in_order(labels)


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
) -> I64:
    """Batch correlation: incident labels for observations sorted by time, numbered in order
    of each incident's first observation. ``source``: :meth:`Gating.sources`; ``track``: a
    code per moving object a source named (-1: none); ``until``: when each sighting ended."""
    return chains_and_incidents(t, x, y, ce, group, gating, source, track, until)[1]


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
) -> tuple[I64, I64]:
    """The components of the links (the chains an incident cannot reach beyond) and the
    incident labels (:func:`correlate`), from one sweep."""
    n = len(t)
    src, tracks = _ids(source, t), _ids(track, t)
    extent = _extent(t, until, group, gating)
    first, second, degree = _links(t, x, y, ce, group, gating, src, tracks, extent)
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
    for component, begin in zip(todo.tolist(), starts.tolist(), strict=True):
        members = order[begin : begin + int(size[component])]
        parts = _complete(members, t, x, y, ce, src, tracks, extent, int(group[members[0]]), gating)
        for part in range(2, int(parts.max()) + 1):
            out[members[parts == part]] = fresh
            fresh += 1
    return labels, _in_order(out)


def _complete(
    members: I64,
    t: I64,
    x: F64,
    y: F64,
    ce: F64,
    src: I64,
    track: I64,
    extent: I64,
    code: int,
    gating: Gating,
) -> I64:
    """Complete linkage of one component (members in time order): cluster numbers from 1,
    the first member's 1."""
    i, j = np.triu_indices(len(members), k=1)
    a, b = members[i], members[j]
    dt = (t[b] - t[a]).astype(np.float64)
    gap = np.maximum(dt - extent[a], 0.0)
    window, speed = float(gating.window_s[code]), float(gating.speed_ms[code])
    share = _share(a, b, dt, x, y, ce, src, track, speed, gating, window, gap)
    share = np.where(share <= 1.0, share, APART)
    parts = fcluster(linkage(share, method="complete"), t=1.0, criterion="distance")
    # Numbered so that the first member's cluster is 1 (it keeps the component's label).
    _u, first_index, inverse = np.unique(parts, return_index=True, return_inverse=True)
    return np.asarray(np.argsort(np.argsort(first_index))[inverse] + 1, dtype=np.int64)


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
        gate = np.minimum(gating.sigma * np.hypot(ce[i], ce[j]) + gating.slack_m, gating.max_gate_m)
        gate = gate + speed * dt
        distance = np.hypot(x[i] - x[j], y[i] - y[j])
        share = np.maximum(distance / gate, gap / window)
        share = np.where((tracks[i] >= 0) & (tracks[j] == tracks[i]), 0.0, share)
        k = int(np.argmin(share))
        out.append(
            Join(int(j[k]), float(distance[k]), float(gap[k]), float(gate[k]), float(window))
        )
    return out

"""Which observations describe the same event: gating in space, time and category.

Two observations are linked when they are in the same category group (fire, movement, ...),
within that group's time window of each other, and closer than the gate:
``min(max_gate, sigma * sqrt(ce1^2 + ce2^2) + slack) + speed * dt`` (the speed term lets a
moving column seen on two sorties an hour apart stay one event). An incident is a connected
component of these links. Components do not depend on the order in which observations arrive,
which is what makes streaming and batch correlation give the same incidents.

The sweep over time pairs each observation only with those inside the largest window after it,
shrinking the active set at every step, so the cost follows the number of near pairs, not n².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ceasefire.mission.model import Correlation

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

DEFAULT_SPEED_KMH = {"movement": 30.0}


@dataclass(frozen=True)
class Gating:
    """The correlation settings of a mission, as arrays by group code."""

    groups: dict[str, int]  # category -> group code
    window_s: F64  # by group code
    speed_ms: F64  # by group code
    sigma: float
    slack_m: float
    max_gate_m: float

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
        window = [config.windows_min.get(n, default) * 60 for n in names]
        speed = [DEFAULT_SPEED_KMH.get(n, 0.0) / 3.6 for n in names]
        return cls(
            groups=groups,
            window_s=np.array(window, dtype=np.float64),
            speed_ms=np.array(speed, dtype=np.float64),
            sigma=config.sigma,
            slack_m=config.slack_m,
            max_gate_m=config.max_gate_m,
        )

    def codes(self, categories: list[str] | npt.NDArray[np.str_]) -> I64:
        return np.array([self.groups[c] for c in categories], dtype=np.int64)


def links(t: I64, x: F64, y: F64, ce: F64, group: I64, gating: Gating) -> tuple[I64, I64]:
    """Pairs (i, j) of linked observations; the arrays must be sorted by time."""
    firsts: list[I64] = []
    seconds: list[I64] = []
    # Each group is swept on its own with its own window: fire (10 min) then never pays for
    # the movement window (90 min).
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        i, j = _sweep(
            t[members],
            x[members],
            y[members],
            ce[members],
            float(gating.window_s[g]),
            float(gating.speed_ms[g]),
            gating,
        )
        firsts.append(members[i])
        seconds.append(members[j])
    if not firsts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(firsts), np.concatenate(seconds)


def _sweep(
    t: I64, x: F64, y: F64, ce: F64, window: float, speed: float, gating: Gating
) -> tuple[I64, I64]:
    n = len(t)
    firsts: list[I64] = [np.empty(0, np.int64)]
    seconds: list[I64] = [np.empty(0, np.int64)]
    held = 0
    active = np.arange(max(0, n - 1))
    k = 1
    while len(active):
        j = active + k
        inside = j < n
        active, j = active[inside], j[inside]
        dt = (t[j] - t[active]).astype(np.float64)
        near = dt <= window
        active, j, dt = active[near], j[near], dt[near]
        static = gating.sigma * np.hypot(ce[active], ce[j]) + gating.slack_m
        gate = np.minimum(static, gating.max_gate_m) + speed * dt
        linked = np.hypot(x[active] - x[j], y[active] - y[j]) <= gate
        firsts.append(active[linked])
        seconds.append(j[linked])
        held += len(firsts[-1])
        if held > COMPACT_AT * n:
            # Dense data links nearly everything to everything near it in time; only the
            # components matter, so keep a forest of them and memory stays linear in n.
            first, second = _forest(n, np.concatenate(firsts), np.concatenate(seconds))
            firsts, seconds, held = [first], [second], len(first)
        k += 1
    return np.concatenate(firsts), np.concatenate(seconds)


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
    # Renumber by first appearance so labels follow time order (deterministic).
    _unique, first_index, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first_index))
    return np.asarray(order[inverse], dtype=np.int64)


def correlate(t: I64, x: F64, y: F64, ce: F64, group: I64, gating: Gating) -> I64:
    """Batch correlation: component labels for observations sorted by time."""
    first, second = links(t, x, y, ce, group, gating)
    return components(len(t), first, second)

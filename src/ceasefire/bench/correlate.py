"""`bench correlate`: correlating a year of observations, against scikit-learn's DBSCAN.

The data: events spread over a year and the demo mission's area (about 150 x 80 km), each
seen one to four times within four minutes and about 80 m, in four categories, with CEs of
20-300 m: roughly the density the OSCE SMM recorded (300,000 violations in 2019). Ours runs on
all of it; the peer, DBSCAN on (x, y, scaled time) with min_samples=1 (a fixed-radius
single-linkage clustering, what one would reach for first), runs on a sample, because it is
the slower of the two; rates are observations per second, so the ratio still holds.
"""

from __future__ import annotations

import resource
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from ceasefire.incidents.correlate import Gating, correlate
from ceasefire.mission.model import Correlation
from ceasefire.observations.taxonomy import CATEGORIES

CATEGORY_MIX = ("explosion", "small_arms_fire", "movement_vehicle", "fortification")


def synthetic(n: int, seed: int) -> dict[str, npt.NDArray[Any]]:
    rng = np.random.default_rng(seed)
    events = max(1, int(n / 2.0))
    per = rng.choice([1, 2, 3, 4], events, p=[0.4, 0.3, 0.2, 0.1])
    which = np.repeat(np.arange(events), per)[:n]
    m = len(which)
    t = rng.integers(0, 365 * 86400, events)[which] + rng.integers(0, 240, m)
    x = rng.uniform(0, 150_000, events)[which] + rng.normal(0, 80, m)
    y = rng.uniform(0, 80_000, events)[which] + rng.normal(0, 80, m)
    category = np.array(CATEGORY_MIX)[rng.integers(0, len(CATEGORY_MIX), events)][which]
    order = np.argsort(t, kind="stable")
    return {
        "t": t[order].astype(np.int64),
        "x": x[order],
        "y": y[order],
        "ce": rng.uniform(20, 300, m),
        "category": category[order],
    }


def dbscan_labels(data: dict[str, npt.NDArray[Any]]) -> npt.NDArray[np.int64]:
    """The peer: DBSCAN per category on metres and time scaled to metres (1 s = 1 m)."""
    from sklearn.cluster import DBSCAN

    labels = np.full(len(data["t"]), -1, dtype=np.int64)
    offset = 0
    for category in np.unique(data["category"]):
        mask = data["category"] == category
        features = np.column_stack(
            [data["x"][mask], data["y"][mask], data["t"][mask].astype(float)]
        )
        found = DBSCAN(eps=600.0, min_samples=1).fit_predict(features)
        labels[mask] = found + offset
        offset += int(found.max()) + 1
    return labels


def run(observations: int, sample: int, seed: int) -> dict[str, Any]:
    gating = Gating.of(Correlation(), list(CATEGORIES))
    data = synthetic(observations, seed)
    group = gating.codes(data["category"].tolist())
    start = time.perf_counter()
    labels = correlate(data["t"], data["x"], data["y"], data["ce"], group, gating)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    peer_data = synthetic(sample, seed)
    start = time.perf_counter()
    peer = dbscan_labels(peer_data)
    peer_seconds = time.perf_counter() - start
    rate = len(data["t"]) / seconds
    baseline_rate = len(peer_data["t"]) / peer_seconds
    return {
        "name": "correlate",
        "observations": len(data["t"]),
        "incidents": int(labels.max()) + 1,
        "seconds": seconds,
        "rate": rate,
        "baseline": "scikit-learn DBSCAN on space-time (min_samples=1), per category",
        "baseline_observations": len(peer_data["t"]),
        "baseline_incidents": int(peer.max()) + 1,
        "baseline_seconds": peer_seconds,
        "baseline_rate": baseline_rate,
        "ratio": rate / baseline_rate,
        "peak_rss_mb": rss,
    }

"""`bench correlate`: correlating a year of observations, against scikit-learn's DBSCAN.

The data: events spread over a year and the demo mission's area (about 150 x 80 km), each
seen one to four times within four minutes and about 80 m, in four categories, with CEs of
20-300 m: roughly the density the OSCE SMM recorded (300,000 violations in 2019).

The peer is DBSCAN as a skilled user would run it for this: ``min_samples=1`` (every
observation belongs to an incident: a fixed-radius single linkage), one fit per category
group of the mission's settings (the groups ours never joins across), on metric coordinates
(the same x, y in metres ours gets) and time scaled so that the group's window is as far as
the radius (a sighting ten minutes after another, in the fire group, is as far as one a radius
away), the radius the gate of two observations of the data's median CE, a k-d tree
(``algorithm="kd_tree"``, what ``auto`` picks in three dimensions) and every core
(``n_jobs=-1``). It runs on the same observations as ours: all of them, or, when
``--baseline-sample`` is smaller, the first ones in time (a stretch of the same year, so at the
same density: a random sample would be sparser and flatter the peer). Rates are observations
per second.

On a shared machine the wall-clock times swing with its load: the CPU time of each (all its
threads) is reported beside them (``cpu_seconds``, ``baseline_cpu_seconds``).

Ours uses what observers say as evidence, as it does in service: a weapon said by 60 % of
the sightings (the event's, one of four), and a third of them reports by bearing (a random
bearing, 30 % of the CE across it). DBSCAN has no use for either.

Ours also runs with single linkage (``linkage = "single"``, the connected components of the
same links, what this project did before complete linkage) on the same data: the cost of
keeping distinct events apart is that ratio.
"""

from __future__ import annotations

import resource
import time
from importlib.metadata import version
from typing import Any

import numpy as np
import numpy.typing as npt

from ceasefire.incidents.correlate import Evidence, Gating, correlate
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
    weapon = rng.integers(1, 5, events)[which] * (rng.random(m) < 0.6)
    bearing = np.where(rng.random(m) < 1 / 3, rng.uniform(0, 2 * np.pi, m), np.nan)
    order = np.argsort(t, kind="stable")
    return {
        "weapon": weapon[order].astype(np.int64),
        "bearing": bearing[order],
        "t": t[order].astype(np.int64),
        "x": x[order],
        "y": y[order],
        "ce": rng.uniform(20, 300, m),
        "category": category[order],
        "contingent": rng.integers(0, 2, m),  # two contingents, observing alike
    }


def _first(data: dict[str, npt.NDArray[Any]], n: int) -> dict[str, npt.NDArray[Any]]:
    """The first ``n`` observations in time (the data is sorted by time)."""
    return {name: values[:n] for name, values in data.items()}


def dbscan_labels(data: dict[str, npt.NDArray[Any]], gating: Gating) -> npt.NDArray[np.int64]:
    """The peer: DBSCAN per category group on metres and time scaled by the group's window."""
    from sklearn.cluster import DBSCAN

    group = gating.codes(data["category"].tolist())
    ce = float(np.median(data["ce"]))
    radius = min(gating.sigma * np.hypot(ce, ce) + gating.slack_m, gating.max_gate_m)
    labels = np.full(len(data["t"]), -1, dtype=np.int64)
    offset = 0
    for code in np.unique(group).tolist():
        mask = group == code
        seconds = data["t"][mask].astype(np.float64)
        features = np.column_stack(
            [data["x"][mask], data["y"][mask], seconds * (radius / gating.window_s[code])]
        )
        found = DBSCAN(eps=radius, min_samples=1, algorithm="kd_tree", n_jobs=-1).fit_predict(
            features
        )
        labels[mask] = found + offset
        offset += int(found.max()) + 1
    return labels


def run(observations: int, sample: int, seed: int) -> dict[str, Any]:
    gating = Gating.of(Correlation(), list(CATEGORIES))
    single = Gating.of(Correlation(linkage="single"), list(CATEGORIES))
    data = synthetic(observations, seed)
    group = gating.codes(data["category"].tolist())
    evidence = Evidence(
        np.column_stack([data["weapon"], np.zeros((len(data["t"]), 2), np.int64)]),
        data["bearing"],
        data["ce"] * 0.3,
    )
    start, cpu = time.perf_counter(), time.process_time()
    labels = correlate(
        data["t"],
        data["x"],
        data["y"],
        data["ce"],
        group,
        gating,
        evidence=evidence,
        contingent=data["contingent"],
    )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    start = time.perf_counter()
    chained = correlate(
        data["t"], data["x"], data["y"], data["ce"], group, single, evidence=evidence
    )
    single_seconds = time.perf_counter() - start

    peer_data = _first(data, min(sample, len(data["t"])))
    import sklearn.cluster  # noqa: F401  (loaded before the clock starts, as ours is)

    start, peer_cpu = time.perf_counter(), time.process_time()
    peer = dbscan_labels(peer_data, gating)
    peer_seconds, peer_cpu = time.perf_counter() - start, time.process_time() - peer_cpu
    rate = len(data["t"]) / seconds
    baseline_rate = len(peer_data["t"]) / peer_seconds
    return {
        "name": "correlate",
        "observations": len(data["t"]),
        "incidents": int(labels.max()) + 1,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rate": rate,
        "baseline": f"scikit-learn {version('scikit-learn')} DBSCAN (min_samples=1, kd_tree, "
        "n_jobs=-1) per category group on metres and time scaled by the group's window, "
        "on the same observations",
        "baseline_observations": len(peer_data["t"]),
        "baseline_incidents": int(peer.max()) + 1,
        "baseline_seconds": peer_seconds,
        "baseline_cpu_seconds": peer_cpu,
        "baseline_rate": baseline_rate,
        "ratio": rate / baseline_rate,
        "single_linkage_rate": len(data["t"]) / single_seconds,
        "single_linkage_incidents": int(chained.max()) + 1,
        "single_linkage_seconds": single_seconds,
        "peak_rss_mb": rss,
    }

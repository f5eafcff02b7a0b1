"""The streaming widening's chains, kept as members join, are those of the whole set."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from ceasefire.incidents.incident import Member
from ceasefire.incidents.service import Correlator, _Chains

CATEGORIES = ("explosion", "small_arms_fire", "movement_vehicle", "muzzle_flash")
PLATFORMS = (("observation-post", "P1"), ("drone", "P1"), ("patrol", "P2"), ("drone", "D1"))
"""P1 is a post's and a drone's: a post's report joining makes the drone's reports one
platform's that reports once, and may part links among those already there."""


def _members(seed: int, n: int, hours: int) -> list[Member]:
    rng = random.Random(seed)
    start = datetime(2021, 2, 1, tzinfo=UTC)
    out = []
    for key in range(1, n + 1):
        platform_type, platform_id = rng.choice(PLATFORMS)
        at = start + timedelta(seconds=rng.randrange(0, hours * 3600))
        out.append(
            Member(
                key,
                rng.choice(("RU", "TR")),
                f"s{key}",
                platform_id,
                platform_type,
                at,
                at + timedelta(seconds=rng.randrange(0, 1800)) if rng.random() < 0.2 else None,
                39.80 + rng.uniform(0, 0.03),
                46.75 + rng.uniform(0, 0.03),
                rng.choice((50.0, 200.0, 800.0)),
                rng.choice(CATEGORIES),
                1,
                (),
                None,
                f"RU/t{rng.randrange(3)}" if rng.random() < 0.2 else None,
                {"weapon": rng.choice(("mortar", "gun", "unknown"))} if rng.random() < 0.3 else {},
            )
        )
    return out


def _partition(groups: list[list[int]]) -> set[frozenset[int]]:
    return {frozenset(g) for g in groups}


@pytest.mark.parametrize("some_groups", [False, True])
@pytest.mark.parametrize("hours", [1, 8])
@pytest.mark.parametrize("seed", range(8))
def test_chains_kept_as_members_join_equal_the_whole_sets(
    demo_mission, demo_enricher, seed: int, hours: int, some_groups: bool
) -> None:  # type: ignore[no-untyped-def]
    correlator = Correlator(demo_mission, 1, demo_enricher)
    everyone = _members(seed, 160, hours)
    rng = random.Random(seed)
    rng.shuffle(everyone)
    members = {m.key: m for m in everyone[:40]}
    groups = None
    done: set[int] = set()
    if some_groups:
        # The chains of two groups only; the others' members are done (nothing to widen
        # around), but for one joining later, which adds its group.
        gating = correlator.gating
        groups = {gating.groups["explosion"], gating.groups["movement_vehicle"]}
        done = {m.key for m in everyone if _Chains.code(gating, m) not in groups}
        done.discard(next(m.key for m in everyone[100:] if m.category == "muzzle_flash"))
    chains = _Chains(correlator, members, done, groups)
    rest = everyone[40:]
    while rest:
        k = rng.randrange(1, 30)
        joined, rest = rest[:k], rest[k:]
        for m in joined:
            members[m.key] = m
        chains.add(joined)
        ordered = sorted(members.values(), key=Member.order)
        labels = correlator._labels(ordered)[0].tolist()
        whole: dict[int, list[int]] = {}
        for label, m in zip(labels, ordered, strict=True):
            whole.setdefault(label, []).append(m.key)
        kept: dict[int, list[int]] = {}
        for key in chains.parent:
            kept.setdefault(chains.find(key), []).append(key)
        if chains.groups is not None:
            codes = {m.key: _Chains.code(correlator.gating, m) for m in members.values()}
            assert set(chains.parent) == {k for k, c in codes.items() if c in chains.groups}
            whole = {c: [k for k in ks if k in chains.parent] for c, ks in whole.items()}
            whole = {c: ks for c, ks in whole.items() if ks}
        assert _partition(list(kept.values())) == _partition(list(whole.values()))
    if some_groups:
        assert correlator.gating.groups["muzzle_flash"] in chains.groups  # the one that joined


def test_a_post_joining_parts_its_platforms_reports_already_there(
    demo_mission, demo_enricher
) -> None:  # type: ignore[no-untyped-def]
    correlator = Correlator(demo_mission, 1, demo_enricher)
    at = datetime(2021, 2, 1, 12, tzinfo=UTC)

    def member(key: int, platform_type: str, minutes: int, lat: float) -> Member:
        moment = at + timedelta(minutes=minutes)
        return Member(
            key, "RU", f"s{key}", "P1", platform_type, moment, None, lat, 46.75, 100.0,
            "explosion", 1, (), None,
        )  # fmt: skip

    members = {1: member(1, "drone", 0, 39.80), 2: member(2, "drone", 1, 39.80)}
    chains = _Chains(correlator, members, set())
    assert chains.find(1) == chains.find(2)
    members[3] = member(3, "observation-post", 2, 40.20)  # far away: links to neither
    chains.add([members[3]])
    ordered = sorted(members.values(), key=Member.order)
    whole = correlator._labels(ordered)[0].tolist()
    assert whole[0] != whole[1]  # two reports of a platform that reports once: two events
    assert chains.find(1) != chains.find(2)

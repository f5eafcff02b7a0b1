"""Releases: what releasing an incident releases, and who may read which release.

The ledger knows entries and proofs, not incidents or findings; the incident's observations
are the incidents room's to name, its finding this room's. The ledger stores each bundle as
written (``releases``); who reads it is this room's rule, which the API and the pages ask.

A release's id is its recipient and its number among that recipient's releases (``AZ-1``,
``AZ-2``): a global sequence would tell AZ how many went to AM.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.incidents.queries import incident_refs, successions
from ceasefire.ledger import log
from ceasefire.ledger.entry import KIND_OBSERVATION, KIND_SUPERSEDED, parse_envelope
from ceasefire.ledger.release import Selection
from ceasefire.ledger.tables import releases
from ceasefire.mission.model import Mission
from ceasefire.workflow.findings import KIND_FINDING
from ceasefire.workflow.roles import User
from ceasefire.workflow.tables import findings

LIAISONS = ("liaison", "party_liaison")


def incident_selections(engine: Engine, incident_id: str) -> list[Selection]:
    """What releasing an incident releases: its observations and its latest joint finding
    (or recorded dispute), each as logged."""
    with engine.connect() as db:
        refs = incident_refs(db, incident_id)
        if refs is None:
            raise InputError(
                Problem(
                    file="release",
                    field="INCIDENT",
                    record=incident_id,
                    reason=_("no such incident"),
                )
            )
        version = db.execute(
            select(func.max(findings.c.version)).where(findings.c.incident_id == incident_id)
        ).scalar()
        # Released after correlation replaced it: the bundle proves what followed it too.
        followed = [incident_id, *successions(db, [incident_id]).get(incident_id, [])][:-1]
        logged = {e.ref for e in log.entries_of(db, KIND_SUPERSEDED, followed)}
    chosen = [Selection(KIND_OBSERVATION, refs)]
    if version is not None:
        chosen.append(Selection(KIND_FINDING, (f"{incident_id}/{version}",)))
    if logged:
        chosen.append(Selection(KIND_SUPERSEDED, tuple(sorted(logged))))
    return chosen


def released_incidents(db: Connection, indexes: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The incidents each release (by its entry's index) released, each with the incidents
    that have followed it since (``superseded_by``: the latest; ``successors``: in order),
    as every reader of the release sees them."""
    named: dict[int, list[str]] = {}
    for stored in log.entries_at(db, sorted(set(indexes))):
        record = parse_envelope(stored.entry).record
        found = record.get("incidents") if isinstance(record, dict) else None
        named[stored.index] = [str(i) for i in found] if isinstance(found, list) else []
    chains = successions(db, [i for ids in named.values() for i in ids])
    return {
        index: [
            {
                "id": i,
                "superseded_by": chains[i][-1] if i in chains else None,
                "successors": chains.get(i, []),
            }
            for i in ids
        ]
        for index, ids in named.items()
    }


def recipients(mission: Mission) -> list[str]:
    """Who may receive a release: the mission's parties and its force."""
    force = mission.config.peacekeeping_force
    return [*mission.party_ids()] + ([force.id] if force else [])


def check_recipient(mission: Mission, to: str) -> None:
    """``InputError`` unless ``to`` is a party or the force of the mission."""
    known = recipients(mission)
    if to not in known:
        raise InputError(
            Problem(
                file="release",
                field="--to",
                reason=_("{to} is not a party or force of the mission ({known})").format(
                    to=to, known=", ".join(known)
                ),
            )
        )


def sort_refs(refs: Iterable[str]) -> tuple[list[str], list[str]]:
    """What a release names, sorted: observation refs (``RU/RU-0001``) and incidents
    (``INC-...``, ``LX-...``); ``InputError`` naming every ref that is neither."""
    refs = list(refs)
    wanted = [r for r in refs if "/" in r]
    incidents = [r for r in refs if r.startswith(("INC-", "LX-"))]
    bad = [r for r in refs if r not in wanted and r not in incidents]
    if bad:
        raise InputError(
            [
                Problem(
                    file="release",
                    field="REF",
                    record=r,
                    reason=_("neither an incident (INC-...) nor an observation ref (RU/RU-0001)"),
                )
                for r in bad
            ]
        )
    return wanted, incidents


def visible_to(user: User) -> Any:
    """Contingent users and auditors read every release; a liaison only its own."""
    if user.role in LIAISONS:
        return releases.c.released_to == user.affiliation
    return None


def numbered(rows: list[Any]) -> list[tuple[str, Any]]:
    """Each row (in id order) with its public id: recipient and number among its releases."""
    count: dict[str, int] = {}
    numbered = []
    for r in rows:
        count[r.released_to] = count.get(r.released_to, 0) + 1
        numbered.append((f"{r.released_to}-{count[r.released_to]}", r))
    return numbered


def readable(db: Connection, user: User, to: str | None = None) -> list[tuple[str, Any]]:
    """The releases ``user`` may read (to ``to`` only, if given), in id order, each with its
    public id; the bundles themselves are not read."""
    query = select(
        releases.c.id,
        releases.c.ledger_index,
        releases.c.released_to,
        releases.c.released_at,
        releases.c.log_size,
        releases.c.entries,
        releases.c.bundle_sha256,
    ).order_by(releases.c.id)
    condition = visible_to(user)
    if condition is not None:
        query = query.where(condition)
    if to is not None:
        query = query.where(releases.c.released_to == to)
    return numbered(list(db.execute(query).all()))


def bundle(db: Connection, user: User, release_id: str) -> str | None:
    """The bundle of release ``release_id`` (``AZ-1``) as written, or None where there is none
    for ``user``: another party's release is "not found" too, its existence is not theirs."""
    to = release_id.rsplit("-", 1)[0]
    found = dict(readable(db, user, to)).get(release_id)
    if found is None:
        return None
    query = select(releases.c.bundle).where(releases.c.id == found.id)
    text: str | None = db.execute(query).scalar_one_or_none()
    return text


__all__ = [
    "LIAISONS",
    "bundle",
    "check_recipient",
    "incident_selections",
    "numbered",
    "readable",
    "recipients",
    "released_incidents",
    "sort_refs",
    "visible_to",
]

"""What the dissemination tests share: a center on the demo mission with one incident near
Shusha / Shushi seen by both contingents, its staff, and a decision made to take effect."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from ceasefire.dissemination.outbox import notice_effects
from ceasefire.dissemination.tables import deliveries, notices
from ceasefire.incidents.tables import incidents
from ceasefire.mission import Mission
from ceasefire.store.schema import missions
from ceasefire.workflow import User, assessments, decisions
from ceasefire.workflow.roles import add_user

T0 = datetime(2021, 2, 1, 10, 0, tzinfo=UTC)
STAFF = [
    ("ru-do", "duty_officer", "RU"),
    ("ru-head", "head", "RU"),
    ("tr-do", "duty_officer", "TR"),
    ("tr-head", "head", "TR"),
    ("pk-liaison", "liaison", "PK"),
    ("am-liaison", "party_liaison", "AM"),
    ("az-liaison", "party_liaison", "AZ"),
]


@dataclass
class Center:
    engine: sa.Engine
    mission: Mission
    users: dict[str, User]
    key: int

    def incident(self, incident_id: str) -> str:
        with self.engine.begin() as db:
            db.execute(
                sa.insert(incidents).values(
                    id=incident_id,
                    mission=self.key,
                    status="open",
                    kind="event",
                    category="explosion",
                    categories=json.dumps(["explosion"]),
                    started_at=T0,
                    ended_at=T0 + timedelta(minutes=4),
                    lat=39.78,
                    lon=46.73,
                    ce_m=150.0,
                    count=2,
                    observation_count=2,
                    contingents=json.dumps(["RU", "TR"]),
                    platforms=json.dumps(["orlan-10-07", "tb2-03"]),
                    corroboration="both_contingents",
                    rules=json.dumps([]),
                    zones=json.dumps([]),
                    settlement_id="shusha-shushi",
                    settlement_distance_m=2600.0,
                    settlement_bearing_deg=320.0,
                    updated_at=T0,
                )
            )
        return incident_id

    def assess(self, incident_id: str, agree: bool = True) -> None:
        with self.engine.begin() as db:
            for name, attribution in (("ru-do", "AZ"), ("tr-do", "AZ" if agree else "AM")):
                assessments.submit(
                    db,
                    self.mission,
                    self.users[name],
                    incident_id,
                    violation="yes",
                    clauses=["1"],
                    attribution=attribution,
                    severity="high",
                    at=T0 + timedelta(minutes=30),
                )

    def decide(
        self,
        incident_id: str,
        reaction: str,
        *,
        party: str | None = None,
        contingent: str | None = None,
        at: datetime | None = None,
    ) -> decisions.Decision:
        """Make ``reaction`` take effect (two keys, or taken urgently), then write its notices
        as the dispatcher (or the center after its verb) does, in a transaction of their own."""
        made = self._decide(incident_id, reaction, party=party, contingent=contingent, at=at)
        self.notice()
        return made

    def notice(self) -> dict[str, list[str]]:
        """The notices of the decisions that took effect and have none yet, written now."""
        with self.engine.begin() as db:
            return notice_effects(db, self.mission)

    def _decide(
        self,
        incident_id: str,
        reaction: str,
        *,
        party: str | None = None,
        contingent: str | None = None,
        at: datetime | None = None,
    ) -> decisions.Decision:
        when = at or T0 + timedelta(hours=1)
        m, u = self.mission, self.users
        with self.engine.begin() as db:
            if reaction in m.config.policy.urgent:
                return decisions.propose(
                    db,
                    m,
                    u["ru-do"],
                    incident_id,
                    reaction,
                    contingent=contingent,
                    urgent=True,
                    at=when,
                )
            heads = reaction in m.config.policy.two_key or reaction == "request_explanation"
            first, second = ("ru-head", "tr-head") if heads else ("ru-do", "tr-do")
            d = decisions.propose(
                db,
                m,
                u[first],
                incident_id,
                reaction,
                party=party,
                contingent=contingent,
                at=when,
            )
            return decisions.approve(db, m, u[second], d.id, at=when)


def make_center(engine: sa.Engine, mission: Mission) -> Center:
    with engine.begin() as db:
        key = db.execute(
            sa.insert(missions).values(
                mission_id=mission.id,
                version=1,
                digest=mission.digest,
                loaded_at=T0,
                source="test",
                note="",
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        staff = {name: add_user(db, mission, name, role, aff, at=T0) for name, role, aff in STAFF}
    return Center(engine, mission, staff, int(key))


PARTY_ADDRESSES = {
    "AM": "mod-direct-line@armenia.example.org",
    "AZ": "mod-direct-line@azerbaijan.example.org",
    "PK": "command-post@peacekeepers.example.org",
}


def mission_with_lines(folder: Path, urls: dict[str, str]) -> Path:
    """The demo mission copied to ``folder`` with each recipient named in ``urls`` reached
    by webhook at that URL instead of by e-mail (AM, AZ: the parties; PK: the force)."""
    from ceasefire.mission.load import BUILTIN_DIR

    target = folder / "mission"
    shutil.copytree(BUILTIN_DIR / "karabakh-2020", target)
    toml = target / "mission.toml"
    text = toml.read_text(encoding="utf-8")
    for recipient, url in urls.items():
        old = f'channel = "email"\naddress = "{PARTY_ADDRESSES[recipient]}"'
        assert old in text, recipient
        text = text.replace(old, f'channel = "http"\naddress = "{url}"')
    toml.write_text(text, encoding="utf-8")
    return target


def notify_batches(engine: sa.Engine, mission: Mission, n: int, start: int = 0) -> list[str]:
    """``n`` batches of incident notices (each to AM, AZ and PK), as decisions write them;
    the notice ids."""
    from ceasefire.dissemination.outbox import notify
    from ceasefire.dissemination.recipients import INCIDENT

    ids: list[str] = []
    for i in range(start, start + n):
        with engine.begin() as db:
            ids += notify(
                db,
                mission,
                kind=INCIDENT,
                cause=f"DEC-T{i}",
                at=datetime.now(UTC),
                extra={"text": f"test {i}"},
            ).ids
    return ids


def with_channels(mission: Mission, mix: tuple[str, str]) -> Mission:
    """The demo mission with party AM on channel mix[0] and AZ on mix[1] (every mix of the
    parties' channels: parity must hold over each)."""
    addresses = {
        "email": "line@party.example.org",
        "http": "https://party.example.org/hook",
        "tak": "tcp://127.0.0.1:8087",
        "file": "/var/spool/ceasefire",
    }
    parties = [
        p.model_copy(
            update={
                "contacts": [
                    c.model_copy(update={"channel": channel, "address": addresses[channel]})
                    for c in p.contacts
                ]
            }
        )
        for p, channel in zip(mission.config.parties, mix, strict=True)
    ]
    return mission.__class__(
        config=mission.config.model_copy(update={"parties": parties}),
        zones=mission.zones,
        settlements=mission.settlements,
        source=mission.source,
    )


def with_keys(mission: Mission, keys: dict[str, list[str]]) -> Mission:
    """The mission with these verifier keys registered for its parties (and force)."""
    import dataclasses

    config = mission.config
    parties = [p.model_copy(update={"keys": keys.get(p.id, p.keys)}) for p in config.parties]
    update: dict[str, object] = {"parties": parties}
    force = config.peacekeeping_force
    if force is not None:
        update["peacekeeping_force"] = force.model_copy(
            update={"keys": keys.get(force.id, force.keys)}
        )
    return dataclasses.replace(mission, config=config.model_copy(update=update))


def notice_rows(engine: sa.Engine, **where: str) -> dict[str, sa.Row]:  # type: ignore[type-arg]
    """The notices' rows by recipient (of one batch: filter with ``cause=`` or ``kind=``)."""

    query = sa.select(notices)
    for name, value in where.items():
        query = query.where(notices.c[name] == value)
    with engine.connect() as db:
        return {r.recipient: r for r in db.execute(query)}


def pending_delivery(
    db: sa.Connection, notice_id: str, queue: str, at: datetime, delivery_id: int | None = None
) -> None:
    """A bare notice ``notice_id`` (no text; its log entry 0) and its one delivery in
    ``queue`` (``recipient/channel``), pending and due at ``at``: what a dispatcher's look
    finds, without a decision behind it."""
    recipient, _sep, channel = queue.partition("/")
    db.execute(
        sa.insert(notices).values(
            id=notice_id, batch=notice_id, kind="incident_notice", cause="DEC-1",
            recipient=recipient, recipient_kind="party", role="addressee", lang="en",
            subject="", body="", payload="{}", content_hash="", payload_hash="",
            created_at=at, ack_due_at=at, ack_token="", ledger_index=0,
        )
    )  # fmt: skip
    db.execute(
        sa.insert(deliveries).values(
            id=delivery_id, notice_id=notice_id, channel=channel,
            address="http://127.0.0.1:9/", queue=queue, status="pending", attempts=0,
            next_at=at, last_error="", updated_at=at,
        )
    )  # fmt: skip

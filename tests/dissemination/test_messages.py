"""Answers and complaints from the parties: logged, told to every party alike, a complaint
made an observation that is correlated apart from the monitors'; bad input names the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from dissemination_support import T0, Center, notice_rows

from ceasefire.center import Center as RealCenter
from ceasefire.dissemination import messages
from ceasefire.dissemination.recipients import ANSWER, COMPLAINT
from ceasefire.dissemination.refusals import (
    ConflictField,
    ForbiddenField,
    InvalidField,
    NotFoundField,
)
from ceasefire.incidents.tables import incidents
from ceasefire.ledger.tables import ledger
from ceasefire.store.schema import observations
from ceasefire.workflow.errors import Forbidden

NOW = T0 + timedelta(hours=2)
COMPLAINT_BODY: dict[str, Any] = {
    "observed_at": "2021-02-01T09:40:00Z",
    "location": {"lat": 39.79, "lon": 46.75, "ce_m": 500},
    "category": "explosion",
    "description": "Mortar fire on the village from the other side's positions.",
    "evidence": ["ab" * 32],
}


@pytest.fixture
def real(center: Center, demo_enricher: Any) -> Iterator[RealCenter]:
    with RealCenter(
        mission=center.mission, engine=center.engine, enricher=demo_enricher, capabilities=()
    ) as made:
        yield made


def _entries(engine: sa.Engine, kind: str) -> dict[str, dict[str, Any]]:
    with engine.connect() as db:
        return {
            r.ref: json.loads(r.entry)["record"]
            for r in db.execute(sa.select(ledger).where(ledger.c.kind == kind))
        }


def _request(center: Center) -> dict[str, sa.Row]:  # type: ignore[type-arg]
    center.incident("INC-1")
    center.assess("INC-1")
    decision = center.decide("INC-1", "request_explanation", party="AZ")
    return notice_rows(center.engine, cause=decision.id)


def _answer(center: Center, who: str, notice_id: str, text: object) -> messages.Message:
    with center.engine.begin() as db:
        return messages.answer(db, center.mission, center.users[who], notice_id, text, NOW)


def test_the_addressed_party_answers_and_everyone_is_told(center: Center) -> None:
    request = _request(center)
    made = _answer(center, "az-liaison", request["AZ"].id, "  Our units did not fire.  ")
    assert (made.kind, made.party, made.text) == ("answer", "AZ", "Our units did not fire.")
    told = notice_rows(center.engine, cause=made.id)
    assert set(told) == {"AM", "AZ", "PK"}  # parity: every party, and the force
    assert {r.kind for r in told.values()} == {ANSWER}
    assert len({r.content_hash for r in told.values()}) == 1
    facts = json.loads(told["AM"].payload)["facts"]
    assert facts["text"] == "Our units did not fire." and facts["party"] == "AZ"
    assert "Our units did not fire." in told["AM"].body
    logged = _entries(center.engine, "answer")[made.id]
    assert logged["notice"] == request["AZ"].id and logged["by"] == "az-liaison"
    with center.engine.connect() as db:
        assert [m.id for m in messages.list_messages(db, kind="answer")] == [made.id]


def test_only_the_addressed_party_answers_and_only_a_request(center: Center) -> None:
    request = _request(center)
    with pytest.raises(ForbiddenField) as other:
        _answer(center, "am-liaison", request["AZ"].id, "AZ fired, not us.")
    assert other.value.field == "notice"
    with pytest.raises(ConflictField) as copy:
        _answer(center, "am-liaison", request["AM"].id, "We were only copied.")
    assert copy.value.field == "notice"
    with pytest.raises(InvalidField) as empty:
        _answer(center, "az-liaison", request["AZ"].id, "   ")
    assert empty.value.field == "text"
    with pytest.raises(Forbidden):
        _answer(center, "ru-do", request["AZ"].id, "A contingent does not answer.")
    with pytest.raises(NotFoundField):
        _answer(center, "az-liaison", "NTC-none", "?")


def test_a_complaint_becomes_an_observation_and_the_other_party_is_told(
    center: Center, real: RealCenter
) -> None:
    made = real.file_complaint(center.users["am-liaison"], COMPLAINT_BODY, at=NOW)
    assert made.kind == "complaint" and made.party == "AM" and not made.duplicate
    contingent, source_id = made.observation.split("/")  # type: ignore[union-attr]
    with center.engine.connect() as db:
        row = db.execute(
            sa.select(observations).where(
                observations.c.contingent == contingent, observations.c.source_id == source_id
            )
        ).one()
        incident = db.execute(sa.select(incidents).where(incidents.c.id == row.incident_id)).one()
    assert row.platform_type == "party-complaint" and row.sensed_by == "party-complaint"
    assert incident.corroboration == "party_complaint_only"  # apart from the monitors'
    told = notice_rows(center.engine, cause=made.id)
    assert {r.recipient: r.role for r in told.values()} == {
        "AZ": "addressee",  # the party complained about
        "AM": "copy",
        "PK": "copy",
    }
    assert {r.kind for r in told.values()} == {COMPLAINT}
    assert told["AZ"].incident_id == row.incident_id
    logged = _entries(center.engine, "complaint")[made.id]
    assert logged["against"] == "AZ" and logged["evidence"] == ["ab" * 32]
    # the same complaint again: received once
    again = real.file_complaint(center.users["am-liaison"], COMPLAINT_BODY, at=NOW)
    assert again.duplicate and again.id == made.id
    assert len(notice_rows(center.engine, kind=COMPLAINT)) == 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"location": None}, "location"),
        ({"location": {"lat": "north", "lon": 46.7}}, "location.lat"),
        ({"evidence": ["abc"]}, "evidence[0].sha256"),
        ({"against": "AM"}, "against"),
        ({"description": ""}, "description"),
        ({"category": "airstrike"}, "category"),
        ({"observed_at": "yesterday"}, "observed_at"),
        ({"observed_at": "2099-01-01T00:00:00Z"}, "observed_at"),
        ({"location": {"lat": 10.0, "lon": 10.0}}, "location"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_complaints_name_the_field(
    center: Center, real: RealCenter, change: dict[str, Any], field: str
) -> None:
    body = {**COMPLAINT_BODY, **change}
    body = {k: v for k, v in body.items() if v is not None}
    with pytest.raises(InvalidField) as refused:
        real.file_complaint(center.users["am-liaison"], body, at=NOW)
    assert refused.value.field == field, str(refused.value)
    with center.engine.connect() as db:
        assert messages.list_messages(db) == []
        assert db.execute(sa.select(sa.func.count()).select_from(observations)).scalar() == 0


def test_only_a_party_liaison_complains(center: Center, real: RealCenter) -> None:
    for who in ("ru-do", "pk-liaison", "tr-head"):
        with pytest.raises(Forbidden):
            real.file_complaint(center.users[who], COMPLAINT_BODY, at=NOW)

"""Acknowledgements: with the notice's link or a signature by the recipient's registered key;
forged, replayed and another's refused naming the field; late ones escalated to the heads."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from dissemination_support import T0, Center, make_center, notice_rows, with_keys

from ceasefire.center import Center as RealCenter
from ceasefire.dissemination import acks
from ceasefire.dissemination.refusals import ConflictField, ForbiddenField, InvalidField
from ceasefire.dissemination.tables import notices
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.ledger.tables import ledger
from ceasefire.mission import Mission

NOW = T0 + timedelta(hours=1, minutes=30)


def _entries(engine: sa.Engine, kind: str) -> dict[str, dict]:  # type: ignore[type-arg]
    with engine.connect() as db:
        return {
            r.ref: json.loads(r.entry)["record"]
            for r in db.execute(sa.select(ledger).where(ledger.c.kind == kind))
        }


def _decided(center: Center) -> dict[str, sa.Row]:  # type: ignore[type-arg]
    center.incident("INC-1")
    center.assess("INC-1")
    decision = center.decide("INC-1", "notify_both_parties")
    return notice_rows(center.engine, cause=decision.id)


def _ack(center: Center, notice_id: str, **how: str) -> acks.Ack:
    with center.engine.begin() as db:
        return acks.acknowledge(db, center.mission, notice_id, at=NOW, **how)


def test_the_notice_carries_its_link_and_the_text_says_how(center: Center) -> None:
    rows = _decided(center)
    az = rows["AZ"]
    payload = json.loads(az.payload)
    assert payload["ack"] == {
        "endpoint": f"/api/v1/notices/{az.id}/ack",
        "token": az.ack_token,
        "url": f"/api/v1/notices/{az.id}/ack?token={az.ack_token}",
    }
    assert payload["ack"]["url"] in payload["html"]
    assert az.ack_token not in az.body  # the stored text, which readers may see, has no secret
    assert f"/api/v1/notices/{az.id}/ack" in az.body
    assert rows["AM"].ack_token != az.ack_token


def test_acknowledged_with_the_link_once_and_logged(center: Center) -> None:
    rows = _decided(center)
    az = rows["AZ"]
    done = _ack(center, az.id, token=az.ack_token, by="Major Aliyev")
    assert (done.recipient, done.how, done.by) == ("AZ", "token", "Major Aliyev")
    after = notice_rows(center.engine, id=az.id)["AZ"]
    assert after.acked_at == NOW and after.acked_by == "Major Aliyev"
    entry = _entries(center.engine, acks.KIND_ACK)[az.id]
    assert entry["how"] == "token" and entry["late"] is False
    assert after.ack_index == done.ledger_index
    # the same link again: a replay, refused naming the notice
    with pytest.raises(ConflictField) as replay:
        _ack(center, az.id, token=az.ack_token)
    assert replay.value.field == "notice" and "already" in str(replay.value)


def test_the_other_party_cannot_acknowledge_with_its_own_link(center: Center) -> None:
    """AM's link on AZ's notice, a guessed token, and any token on a notice that does not exist
    get one refusal (the field, the status, the words): no answer names the notice a token
    opens, or tells a missing notice from a wrong token."""
    rows = _decided(center)
    am, az = rows["AM"], rows["AZ"]
    with pytest.raises(ForbiddenField) as other:
        _ack(center, az.id, token=am.ack_token)  # AM's link, on AZ's notice
    assert other.value.field == "token" and am.id not in str(other.value)
    with pytest.raises(ForbiddenField) as forged:
        _ack(center, az.id, token="guessed-" + "x" * 24)
    assert forged.value.field == "token"
    assert str(forged.value) == str(other.value)
    missing = "NTC-0000000000000000"
    answers = set()
    for token in (am.ack_token, az.ack_token, "guessed"):
        with pytest.raises(ForbiddenField) as nowhere:
            _ack(center, missing, token=token)
        answers.add((nowhere.value.field, str(nowhere.value).replace(missing, az.id)))
    assert answers == {("token", str(other.value))}
    with pytest.raises(InvalidField) as neither:
        _ack(center, az.id)
    assert neither.value.field == "token"
    assert notice_rows(center.engine, id=az.id)["AZ"].acked_at is None
    assert _entries(center.engine, acks.KIND_ACK) == {}


@pytest.fixture
def keyed(engine: sa.Engine, demo_mission: Mission) -> tuple[Center, dict[str, Ed25519Signer]]:
    signers = {p: Ed25519Signer.generate(f"{p.lower()}-liaison") for p in ("AM", "AZ")}
    mission = with_keys(demo_mission, {p: [s.verifier().vkey] for p, s in signers.items()})
    return make_center(engine, mission), signers


def test_acknowledged_with_a_signature_of_its_own_key(
    keyed: tuple[Center, dict[str, Ed25519Signer]],
) -> None:
    center, signers = keyed
    az = _decided(center)["AZ"]
    note = acks.sign_ack(signers["AZ"], az.id, az.payload_hash, NOW, "Major Aliyev")
    done = _ack(center, az.id, signature=note)
    assert (done.how, done.by) == ("signature", "Major Aliyev")
    entry = _entries(center.engine, acks.KIND_ACK)[az.id]
    assert entry["note"] == note and entry["key"].startswith("az-liaison+")
    # the payload hash a receiver computes from the JSON it received is the one logged
    assert acks.payload_digest(json.loads(az.payload)) == az.payload_hash
    with pytest.raises(ConflictField):
        _ack(center, az.id, signature=note)  # replayed


def test_signatures_of_another_key_notice_or_content_are_refused(
    keyed: tuple[Center, dict[str, Ed25519Signer]],
) -> None:
    center, signers = keyed
    rows = _decided(center)
    am, az = rows["AM"], rows["AZ"]
    cases = {
        # party AM signs AZ's notice
        "a key of AM": acks.sign_ack(signers["AM"], az.id, az.payload_hash, NOW, "x"),
        # AZ's signature made for AM's notice, sent to AZ's
        f"signed for notice {am.id}": acks.sign_ack(
            signers["AZ"], am.id, am.payload_hash, NOW, "x"
        ),
        "payload hash": acks.sign_ack(signers["AZ"], az.id, "0" * 64, NOW, "x"),
        "later than": acks.sign_ack(
            signers["AZ"], az.id, az.payload_hash, NOW + timedelta(hours=1), "x"
        ),
        "before notice": acks.sign_ack(
            signers["AZ"], az.id, az.payload_hash, T0 - timedelta(days=1), "x"
        ),
        "forged": acks.sign_ack(signers["AZ"], az.id, az.payload_hash, NOW, "x").replace(
            "by x", "by y"
        ),
        "any key": acks.sign_ack(Ed25519Signer.generate("az-liaison"), az.id, "0", NOW, "x"),
    }
    for reason, note in cases.items():
        with pytest.raises(ForbiddenField) as refused:
            _ack(center, az.id, signature=note)
        assert refused.value.field == "signature"
        assert reason in str(refused.value), (reason, str(refused.value))
    with pytest.raises(InvalidField) as garbage:
        _ack(center, az.id, signature="not a note")
    assert garbage.value.field == "signature"
    assert _entries(center.engine, acks.KIND_ACK) == {}


def test_a_recipient_without_keys_acknowledges_by_link_only(center: Center) -> None:
    az = _decided(center)["AZ"]
    note = acks.sign_ack(Ed25519Signer.generate("az"), az.id, az.payload_hash, NOW, "x")
    with pytest.raises(ForbiddenField, match="no key registered"):
        _ack(center, az.id, signature=note)


def test_late_notices_escalate_to_the_heads_once(center: Center) -> None:
    rows = _decided(center)
    _ack(center, rows["AM"].id, token=rows["AM"].ack_token)
    due = max(r.ack_due_at for r in rows.values())
    with RealCenter(mission=center.mission, engine=center.engine, capabilities=()) as real:
        early = real.escalation(clock=lambda: T0 + timedelta(minutes=61))
        early.run_once()
        assert early.escalated_also == []  # not due yet
        late = real.escalation(clock=lambda: due + timedelta(minutes=1))
        late.run_once()
        # AZ and the force were silent; AM acknowledged
        assert sorted(late.escalated_also) == sorted([rows["AZ"].id, rows["PK"].id])
        late.run_once()
        assert late.escalated_also == []  # once
    logged = _entries(center.engine, acks.KIND_ESCALATION)
    assert set(logged) == {rows["AZ"].id, rows["PK"].id}
    assert logged[rows["AZ"].id]["to"] == ["RU/head", "TR/head"]
    with center.engine.connect() as db:
        escalated = db.execute(
            sa.select(notices.c.recipient).where(notices.c.escalated_at.is_not(None))
        ).scalars()
        assert sorted(escalated) == ["AZ", "PK"]

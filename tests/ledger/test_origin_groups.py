"""A node's records signed a group at a time: each record alone still proves its origin."""

from __future__ import annotations

import base64

import pytest

from ceasefire.ledger.note import Ed25519Signer, Ed25519Verifier
from ceasefire.ledger.origin import (
    GROUP,
    intake_key_name,
    sign_record,
    sign_records,
    signed_key_id,
    verify_record,
)

RU = Ed25519Signer.generate(intake_key_name("ceasefire/test", "RU"))
TR = Ed25519Signer.generate(intake_key_name("ceasefire/test", "TR"))


def _verifier(signer: Ed25519Signer) -> Ed25519Verifier:
    return Ed25519Verifier.from_vkey(signer.vkey)


def _records(n: int) -> list[bytes]:
    return [b'{"contingent":"RU","id":"RU-%d"}' % i for i in range(n)]


@pytest.mark.parametrize("n", [2, 3, 7, GROUP, GROUP + 1, 3 * GROUP - 5])
def test_every_record_of_a_group_verifies_alone(n: int) -> None:
    records = _records(n)
    signatures = sign_records(RU, records)
    assert len(signatures) == n
    key = _verifier(RU)
    for record, signature in zip(records, signatures, strict=True):
        assert verify_record(key, record, signature)
        assert signed_key_id(signature) == RU.key_id
    # one Ed25519 signature per group of GROUP records
    heads = {base64.b64decode(s)[4:68] for s in signatures}
    assert len(heads) == -(-n // GROUP)


def test_a_lone_record_is_signed_in_the_first_form() -> None:
    (record,) = _records(1)
    (signature,) = sign_records(RU, [record])
    assert len(base64.b64decode(signature)) == 68
    assert signature == sign_record(RU, record)
    assert verify_record(_verifier(RU), record, signature)


def test_an_altered_record_or_signature_fails() -> None:
    records = _records(10)
    signatures = sign_records(RU, records)
    key = _verifier(RU)
    # the record altered, or another record's signature
    assert not verify_record(key, records[3] + b" ", signatures[3])
    assert not verify_record(key, records[3], signatures[4])
    raw = bytearray(base64.b64decode(signatures[3]))
    # another index, a larger group, a hash of the path changed, the path cut short
    for change in (
        lambda b: b.__setitem__(69, 4),
        lambda b: b.__setitem__(71, 11),
        lambda b: b.__setitem__(80, b[80] ^ 1),
    ):
        altered = bytearray(raw)
        change(altered)
        assert not verify_record(key, records[3], base64.b64encode(bytes(altered)).decode())
    assert not verify_record(key, records[3], base64.b64encode(bytes(raw[:-32])).decode())
    assert not verify_record(key, records[3], base64.b64encode(bytes(raw[:-5])).decode())
    # an index beyond the group
    beyond = bytearray(raw)
    beyond[68:72] = (10).to_bytes(2, "big") + (10).to_bytes(2, "big")
    assert not verify_record(key, records[3], base64.b64encode(bytes(beyond)).decode())


def test_another_contingents_key_does_not_verify() -> None:
    records = _records(5)
    signatures = sign_records(TR, records)
    assert not verify_record(_verifier(RU), records[0], signatures[0])
    assert signed_key_id(signatures[0]) == TR.key_id


def test_a_forged_group_signature_under_the_right_key_id_fails() -> None:
    """A group signed by another key but carrying RU's key ID."""
    records = _records(4)
    forged = bytearray(base64.b64decode(sign_records(TR, records)[0]))
    forged[:4] = RU.key_id.to_bytes(4, "big")
    assert not verify_record(_verifier(RU), records[0], base64.b64encode(bytes(forged)).decode())

"""C2SP checkpoints and v1 cosignatures: spec examples, round trips, completeness."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_vectors import (
    FORMATS_COSIGNATURE,
    PETER_VKEY,
    REMORA_COSIGNER_VKEY,
    SPEC_CHECKPOINT_TEXT,
    SPEC_COSIGNATURE_TIME,
    SPEC_COSIGNED_NOTE,
)

from ceasefire.ledger import (
    Checkpoint,
    CheckpointError,
    CosignatureSigner,
    CosignatureVerifier,
    Ed25519Signer,
    Ed25519Verifier,
    IncompleteCheckpointError,
    InvalidSignatureError,
    KeyFormatError,
    MerkleTree,
    Signature,
    cosignature_message,
    cosignature_timestamp,
    format_note,
    leaf_hash,
    open_checkpoint,
    parse_note,
    sign_checkpoint,
    verify_cosigned_checkpoint,
)

ORIGIN = "ceasefire.example/aghdam-jmc"
LOG = Ed25519Signer(ORIGIN, hashlib.sha256(b"log").digest())
RU = CosignatureSigner("ru.jmc.example/witness", hashlib.sha256(b"ru").digest(), lambda: 1700000000)
TR = CosignatureSigner("tr.jmc.example/witness", hashlib.sha256(b"tr").digest(), lambda: 1700000001)
TREE = MerkleTree(leaf_hash(i.to_bytes(4, "big")) for i in range(10))
CHECKPOINT = Checkpoint(ORIGIN, 10, TREE.root())


# --- spec examples ----------------------------------------------------------------------------


def test_spec_checkpoint_text_parses_and_formats_back() -> None:
    cp = Checkpoint.parse(SPEC_CHECKPOINT_TEXT)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == 20852163
    assert cp.root_hash.hex() == "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62"
    assert cp.extensions == ()
    assert cp.body() == SPEC_CHECKPOINT_TEXT


def test_spec_cosignature_line_carries_key_id_timestamp_and_signature() -> None:
    """The spec's cosigned checkpoint: its witness line holds the timestamp of its example."""
    text, sigs = parse_note(SPEC_COSIGNED_NOTE)
    assert text == SPEC_CHECKPOINT_TEXT
    witness = sigs[1]
    assert witness.name == "witness.example.com/w1"
    assert witness.key_id == 0x8D66CF3F
    assert len(witness.signature) == 8 + 64
    assert cosignature_timestamp(witness) == SPEC_COSIGNATURE_TIME
    with pytest.raises(CheckpointError):
        cosignature_timestamp(sigs[0])  # the log's plain Ed25519 signature has no timestamp


def test_transparency_dev_cosignature_timestamp() -> None:
    raw = base64.b64decode(FORMATS_COSIGNATURE)
    assert cosignature_timestamp(raw[4:]) == 1727964367


def test_spec_cosigned_message_layout() -> None:
    assert cosignature_message(SPEC_CHECKPOINT_TEXT, SPEC_COSIGNATURE_TIME) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    for bad in [-1, 1 << 63]:
        with pytest.raises(CheckpointError):
            cosignature_message(SPEC_CHECKPOINT_TEXT, bad)


def test_cosigner_key_id_uses_signature_type_4() -> None:
    # A third party's type 0x04 verifier key: parsing checks its key ID with type byte 0x04.
    v = CosignatureVerifier.from_vkey(REMORA_COSIGNER_VKEY)
    assert v.key_id == 0xDA77ADE7
    assert v.vkey == REMORA_COSIGNER_VKEY
    pub = RU.public_key
    want = hashlib.sha256(RU.name.encode() + b"\n\x04" + pub).digest()[:4]
    assert RU.key_id == int.from_bytes(want, "big")
    assert RU.key_id != Ed25519Verifier(RU.name, pub).key_id
    with pytest.raises(KeyFormatError, match="0x04"):
        CosignatureVerifier.from_vkey(PETER_VKEY)
    with pytest.raises(KeyFormatError, match="0x01"):
        Ed25519Verifier.from_vkey(REMORA_COSIGNER_VKEY)


# --- checkpoint text --------------------------------------------------------------------------

ROOT64 = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"origin\n10\n{ROOT64}",  # no final newline
        f"origin\n10\n",  # no root  # noqa: F541
        f"\n10\n{ROOT64}\n",  # empty origin
        f"origin\n010\n{ROOT64}\n",  # leading zero
        f"origin\n-1\n{ROOT64}\n",
        f"origin\n+1\n{ROOT64}\n",
        f"origin\n1 \n{ROOT64}\n",
        f"origin\n١\n{ROOT64}\n",  # a non-ASCII digit
        f"origin\n{1 << 64}\n{ROOT64}\n",
        f"origin\n10\n{base64.b64encode(bytes(31)).decode()}\n",
        f"origin\n10\n{ROOT64[:-2]}B=\n",  # non-canonical base64
        f"origin\n10\n{ROOT64}\n\n",  # empty extension line
        f"origin\n10\n{ROOT64}\next\n\n",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(text)


def test_checkpoint_fields_are_checked() -> None:
    with pytest.raises(CheckpointError):
        Checkpoint("a\nb", 1, bytes(32))
    with pytest.raises(CheckpointError):
        Checkpoint("o", -1, bytes(32))
    with pytest.raises(CheckpointError):
        Checkpoint("o", 1, bytes(31))
    with pytest.raises(CheckpointError):
        Checkpoint("o", 1, bytes(32), ("",))
    assert Checkpoint.parse(f"o\n0\n{ROOT64}\n").size == 0


@settings(max_examples=80, deadline=None, database=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=30),
    st.integers(0, (1 << 64) - 1),
    st.binary(min_size=32, max_size=32),
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1),
        max_size=3,
    ),
)
def test_checkpoint_text_round_trip(origin: str, size: int, root: bytes, ext: list[str]) -> None:
    cp = Checkpoint(origin, size, root, tuple(ext))
    assert Checkpoint.parse(cp.body()) == cp


# --- signing and cosigning --------------------------------------------------------------------


def cosigned_note(*cosigners: CosignatureSigner, checkpoint: Checkpoint = CHECKPOINT) -> str:
    signed = sign_checkpoint(checkpoint, LOG)
    text, sigs = parse_note(signed)
    return format_note(text, [*sigs, *(c.cosign(checkpoint) for c in cosigners)])


def test_log_signature_round_trip() -> None:
    cp, note = open_checkpoint(sign_checkpoint(CHECKPOINT, LOG), [LOG.verifier()])
    assert cp == CHECKPOINT
    assert note.verified[0].name == ORIGIN


def test_cosignature_round_trip_and_complete_checkpoint() -> None:
    note = cosigned_note(RU, TR)
    result = verify_cosigned_checkpoint(
        note, LOG.verifier(), [RU.verifier(), TR.verifier()], origin=ORIGIN
    )
    assert result.checkpoint == CHECKPOINT
    assert dict(result.cosigned_at) == {RU.name: 1700000000, TR.name: 1700000001}
    # Cosignatures open through the generic note machinery too.
    assert CosignatureVerifier.from_vkey(RU.vkey) == RU.verifier()
    assert CosignatureSigner.from_skey(RU.skey).vkey == RU.vkey


def test_cosigner_signs_notes_with_its_clock() -> None:
    ticks = iter([5, 6])
    signer = CosignatureSigner("clock.example/w", bytes(32), lambda: next(ticks))
    a = signer.cosign(CHECKPOINT)
    b = signer.cosign(CHECKPOINT, timestamp=42)
    c = Signature(signer.name, signer.key_id, signer.sign(CHECKPOINT.body().encode()))
    assert [cosignature_timestamp(s) for s in (a, b, c)] == [5, 42, 6]
    assert all(signer.verifier().verify(CHECKPOINT.body().encode(), s.signature) for s in (a, b, c))


def test_checkpoint_is_incomplete_without_every_cosigner_or_the_log() -> None:
    log, ru, tr = LOG.verifier(), RU.verifier(), TR.verifier()
    with pytest.raises(IncompleteCheckpointError) as info:
        verify_cosigned_checkpoint(cosigned_note(RU), log, [ru, tr])
    assert info.value.missing == (f"cosigner {TR.name}",)
    # Cosignatures alone, without the log's signature, do not make a checkpoint.
    text, sigs = parse_note(cosigned_note(RU, TR))
    only_cosigs = format_note(text, sigs[1:])
    with pytest.raises(IncompleteCheckpointError) as info:
        verify_cosigned_checkpoint(only_cosigs, log, [ru, tr])
    assert info.value.missing == (f"log {ORIGIN}",)
    with pytest.raises(IncompleteCheckpointError):
        verify_cosigned_checkpoint(only_cosigs, log, [])
    with pytest.raises(CheckpointError, match="origin"):
        verify_cosigned_checkpoint(cosigned_note(RU, TR), log, [ru, tr], origin="other")
    # No cosigners required: the log's signature is enough.
    assert verify_cosigned_checkpoint(cosigned_note(), log, []).cosigned_at == {}


def test_tampered_cosignatures_are_refused() -> None:
    text, sigs = parse_note(cosigned_note(RU))
    cosig = sigs[1]
    later = Signature(
        cosig.name, cosig.key_id, (1700000099).to_bytes(8, "big") + cosig.signature[8:]
    )
    flipped = Signature(cosig.name, cosig.key_id, cosig.signature[:-1] + b"\x00")
    for bad in (later, flipped):
        with pytest.raises(InvalidSignatureError):
            verify_cosigned_checkpoint(
                format_note(text, [sigs[0], bad]), LOG.verifier(), [RU.verifier()]
            )
    # A cosignature of another checkpoint does not transfer.
    other = Checkpoint(ORIGIN, 9, TREE.root(9))
    moved = format_note(text, [sigs[0], RU.cosign(other)])
    with pytest.raises(InvalidSignatureError):
        verify_cosigned_checkpoint(moved, LOG.verifier(), [RU.verifier()])


def test_cosignature_covers_extension_lines() -> None:
    cp = Checkpoint(ORIGIN, 10, TREE.root(), ("mission aghdam",))
    note = cosigned_note(RU, checkpoint=cp)
    assert verify_cosigned_checkpoint(note, LOG.verifier(), [RU.verifier()]).checkpoint == cp
    forged = note.replace("mission aghdam", "mission aghdaM")
    with pytest.raises(InvalidSignatureError):
        verify_cosigned_checkpoint(forged, LOG.verifier(), [RU.verifier()])


def test_a_cosignature_key_is_not_a_plain_note_key() -> None:
    """Same Ed25519 key, other signature type: the key IDs differ, so neither passes as other."""
    plain = Ed25519Verifier(RU.name, RU.public_key)
    with pytest.raises(IncompleteCheckpointError):
        verify_cosigned_checkpoint(cosigned_note(RU), plain, [])
    assert not RU.verifier().verify(b"x\n", bytes(72))
    assert not RU.verifier().verify(b"x\n", bytes(64))
    assert not RU.verifier().verify(b"x\n", b"\xff" * 72)  # timestamp above 2**63-1

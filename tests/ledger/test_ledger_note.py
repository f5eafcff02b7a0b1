"""C2SP signed notes: published keys and notes byte for byte, refusals with reasons."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_vectors import (
    EM,
    ENOCH_SIG,
    ENOCH_VKEY,
    FOO_NOTE,
    FOO_VKEY,
    GO_TEXT,
    PETER_SIG,
    PETER_SKEY,
    PETER_VKEY,
    PLUS_VKEY,
)

from ceasefire.ledger import (
    Ed25519Signer,
    Ed25519Verifier,
    InvalidSignatureError,
    KeyFormatError,
    MalformedNoteError,
    Signature,
    UnverifiedNoteError,
    VerifierKey,
    format_note,
    open_note,
    parse_note,
    parse_signature_lines,
    sign_note,
)
from ceasefire.ledger.note import MAX_SIGNATURES, key_id

PETER_NOTE = GO_TEXT + "\n" + PETER_SIG
DOUBLE_NOTE = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG


# --- published vectors ------------------------------------------------------------------------


def test_go_signer_key_gives_the_published_key_id_vkey_and_note() -> None:
    signer = Ed25519Signer.from_skey(PETER_SKEY)
    assert signer.name == "PeterNeumann"
    assert signer.key_id == 0xC74F20A3
    assert signer.vkey == PETER_VKEY
    assert signer.skey == PETER_SKEY
    # Ed25519 is deterministic: the same key and text give the published note byte for byte.
    assert sign_note(GO_TEXT, [signer]) == PETER_NOTE


def test_go_note_opens_with_the_published_verifier_key() -> None:
    v = Ed25519Verifier.from_vkey(PETER_VKEY)
    assert v.vkey == PETER_VKEY
    note = open_note(PETER_NOTE.encode(), [v])
    assert note.text == GO_TEXT
    assert [(s.name, s.key_id) for s in note.verified] == [("PeterNeumann", 0xC74F20A3)]
    assert note.unverified == ()
    assert note.signature_of(v) == note.verified[0]


def test_all_zero_seed_is_enoch_root_and_reproduces_the_doubly_signed_note() -> None:
    enoch = Ed25519Signer("EnochRoot", bytes(32))
    assert enoch.vkey == ENOCH_VKEY
    peter_sig = parse_note(PETER_NOTE)[1]
    assert sign_note(GO_TEXT, [enoch], existing=peter_sig) == DOUBLE_NOTE


def test_unknown_signatures_are_ignored_but_kept() -> None:
    peter = Ed25519Verifier.from_vkey(PETER_VKEY)
    enoch = Ed25519Verifier.from_vkey(ENOCH_VKEY)
    note = open_note(DOUBLE_NOTE, [peter])
    assert [s.name for s in note.verified] == ["PeterNeumann"]
    assert [s.name for s in note.unverified] == ["EnochRoot"]
    both = open_note(DOUBLE_NOTE, [peter, enoch])
    assert [s.name for s in both.verified] == ["PeterNeumann", "EnochRoot"]
    with pytest.raises(UnverifiedNoteError):
        open_note(PETER_NOTE, [enoch])


def test_c2sp_spec_example_verifies() -> None:
    v = Ed25519Verifier.from_vkey(FOO_VKEY)
    assert v.key_id == 0x530D903A
    assert open_note(FOO_NOTE, [v]).text == "This is an example message.\n"


def test_verifier_key_whose_base64_contains_a_plus() -> None:
    k = VerifierKey.parse(PLUS_VKEY)
    assert (k.name, k.key_id, k.signature_type) == ("TEST", 0x7997405C, 1)
    assert k.encode() == PLUS_VKEY
    assert Ed25519Verifier.from_vkey(PLUS_VKEY).vkey == PLUS_VKEY


def test_key_id_rule() -> None:
    pub = base64.b64decode(PETER_VKEY.split("+")[2])[1:]
    assert key_id("PeterNeumann", 1, pub) == 0xC74F20A3
    assert key_id("PeterNeumann", 4, pub) != 0xC74F20A3


# --- keys are refused when mangled (after the Go package's own tests) ---------------------------


def _manglings(key: str) -> set[str]:
    out = {key[i:j] for i in range(len(key) + 1) for j in range(i + 1, len(key) + 1)}
    out |= {key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :] for i in range(len(key))}
    out.discard(key)
    return out


def test_every_mangled_verifier_key_is_refused() -> None:
    for bad in _manglings(PETER_VKEY):
        with pytest.raises(KeyFormatError):
            Ed25519Verifier.from_vkey(bad)
            pytest.fail(f"accepted {bad!r}")


def test_every_mangled_signer_key_is_refused() -> None:
    for bad in _manglings(PETER_SKEY):
        with pytest.raises(KeyFormatError):
            Ed25519Signer.from_skey(bad)
            pytest.fail(f"accepted {bad!r}")


def test_odd_keys_are_refused() -> None:
    for bad in [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # length
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # algorithm
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ]:
        with pytest.raises(KeyFormatError):
            Ed25519Verifier.from_vkey(bad)
    with pytest.raises(KeyFormatError):
        Ed25519Signer("bad name", bytes(32))
    with pytest.raises(KeyFormatError):
        Ed25519Signer("a+b", bytes(32))
    with pytest.raises(KeyFormatError):
        Ed25519Signer("ok", bytes(31))


def test_two_different_keys_with_one_name_and_id_are_ambiguous() -> None:
    class Fake:
        name = "PeterNeumann"
        key_id = 0xC74F20A3

        def verify(self, message: bytes, signature: bytes) -> bool:
            return True

    with pytest.raises(KeyFormatError, match="ambiguous"):
        open_note(PETER_NOTE, [Ed25519Verifier.from_vkey(PETER_VKEY), Fake()])
    v = Ed25519Verifier.from_vkey(PETER_VKEY)
    assert open_note(PETER_NOTE, [v, Ed25519Verifier.from_vkey(PETER_VKEY)]).text == GO_TEXT


# --- refusals ---------------------------------------------------------------------------------


def test_tampered_text_or_signature_is_refused() -> None:
    v = Ed25519Verifier.from_vkey(PETER_VKEY)
    with pytest.raises(InvalidSignatureError, match="PeterNeumann"):
        open_note(PETER_NOTE.replace("answer", "Answer"), [v])
    name, blob = PETER_SIG[2:-1].split(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[10] ^= 1
    tampered = GO_TEXT + "\n" + f"{EM} {name} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(InvalidSignatureError):
        open_note(tampered, [v])
    # A bad signature of a known key refuses the note even if another known key signed it.
    enoch = Ed25519Verifier.from_vkey(ENOCH_VKEY)
    with pytest.raises(InvalidSignatureError):
        open_note(tampered + ENOCH_SIG, [v, enoch])


def test_same_name_other_id_and_same_id_other_name_are_unknown() -> None:
    v = Ed25519Verifier.from_vkey(PETER_VKEY)
    blob = PETER_SIG.split(" ")[2]
    other_id = base64.b64encode(b"\x00\x00\x00\x00" + base64.b64decode(blob)[4:]).decode()
    for line in [f"{EM} PeterNeumann {other_id}\n", f"{EM} PaulNeumann {blob}"]:
        with pytest.raises(UnverifiedNoteError):
            open_note(GO_TEXT + "\n" + line, [v])


BAD_NOTES = {
    "no trailing newline": PETER_NOTE[:-1],
    "no blank line": GO_TEXT + PETER_SIG,
    "no signatures": GO_TEXT + "\n",
    "carriage return": PETER_NOTE.replace("\n", "\r\n", 1),
    "tab": PETER_NOTE.replace(" ", "\t", 1),
    "not an em dash": PETER_NOTE.replace(EM, "-"),
    "extra field": PETER_NOTE.replace("PeterNeumann ", "PeterNeumann x "),
    "missing name": PETER_NOTE.replace("PeterNeumann ", ""),
    "plus in name": PETER_NOTE.replace("PeterNeumann", "Peter+Neumann"),
    "short signature": GO_TEXT + f"\n{EM} PeterNeumann AAAA\n",
    "bad base64": GO_TEXT + f"\n{EM} PeterNeumann !!!!\n",
    "non-canonical base64": PETER_NOTE.replace("AM=\n", "AN=\n"),
    "blank line among signatures": PETER_NOTE + "\n" + ENOCH_SIG,
    "empty line at end": PETER_NOTE + "\n",
}


@pytest.mark.parametrize("case", sorted(BAD_NOTES))
def test_malformed_notes_are_refused_with_a_reason(case: str) -> None:
    v = Ed25519Verifier.from_vkey(PETER_VKEY)
    with pytest.raises((MalformedNoteError, UnverifiedNoteError)) as info:
        open_note(BAD_NOTES[case], [v])
    assert str(info.value)


def test_invalid_utf8_and_limits() -> None:
    v = Ed25519Verifier.from_vkey(PETER_VKEY)
    with pytest.raises(MalformedNoteError, match="UTF-8"):
        open_note(b"\xff\n\n" + PETER_SIG.encode(), [v])
    with pytest.raises(MalformedNoteError, match="limit"):
        open_note(PETER_NOTE, [v], max_bytes=100)
    many = GO_TEXT + "\n" + ENOCH_SIG * MAX_SIGNATURES + PETER_SIG
    with pytest.raises(MalformedNoteError, match="more than"):
        open_note(many, [v])
    sixteen = GO_TEXT + "\n" + ENOCH_SIG * 15 + PETER_SIG  # the spec: accept at least 16
    assert len(open_note(sixteen, [v]).unverified) == 15


def test_signing_refuses_bad_text() -> None:
    signer = Ed25519Signer.from_skey(PETER_SKEY)
    for text in ["no newline", "", "tab\there\n", "\ud800\n"]:
        with pytest.raises(MalformedNoteError):
            sign_note(text, [signer])
    with pytest.raises(MalformedNoteError):
        format_note(GO_TEXT, [])


def test_signature_lines_round_trip() -> None:
    sigs = parse_signature_lines(PETER_SIG + ENOCH_SIG)
    assert [s.name for s in sigs] == ["PeterNeumann", "EnochRoot"]
    assert "".join(s.line() for s in sigs) == PETER_SIG + ENOCH_SIG
    assert format_note(GO_TEXT, sigs) == DOUBLE_NOTE
    with pytest.raises(MalformedNoteError):
        parse_signature_lines(PETER_SIG[:-1])


# --- round trips ------------------------------------------------------------------------------

KEYS = [Ed25519Signer(f"key{i}.example/log", bytes([i]) * 32) for i in range(4)]

texts = st.lists(
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="\n"),
        max_size=40,
    ),
    min_size=1,
    max_size=6,
).map(lambda lines: "\n".join(lines) + "\n")


@settings(max_examples=60, deadline=None, database=None)
@given(texts, st.sets(st.integers(0, 3), min_size=1), st.sets(st.integers(0, 3)))
def test_sign_and_open_round_trip(text: str, signing: set[int], known: set[int]) -> None:
    note = sign_note(text, [KEYS[i] for i in sorted(signing)])
    assert parse_note(note)[0] == text
    verifiers = [KEYS[i].verifier() for i in sorted(known)]
    if signing & known:
        opened = open_note(note, verifiers)
        assert opened.text == text
        assert {s.name for s in opened.verified} == {KEYS[i].name for i in signing & known}
        assert {s.name for s in opened.unverified} == {KEYS[i].name for i in signing - known}
    else:
        with pytest.raises(UnverifiedNoteError):
            open_note(note, verifiers)


def test_generated_keys_round_trip_through_key_strings() -> None:
    signer = Ed25519Signer.generate("ceasefire.example/log")
    again = Ed25519Signer.from_skey(signer.skey)
    assert again.vkey == signer.vkey == Ed25519Verifier.from_vkey(signer.vkey).vkey
    note = sign_note("hello\n", [again])
    assert open_note(note, [signer.verifier()]).verified == (
        Signature(signer.name, signer.key_id, parse_note(note)[1][0].signature),
    )

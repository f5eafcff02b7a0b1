"""Release bundles: released records with their proofs, checked offline with nothing else.

Why (DESIGN.md principle 4): a party receives records together with what proves them: a
checkpoint signed by the center and cosigned by every contingent, an RFC 9162 inclusion proof
per record, and the verifier keys. Any RFC 9162 implementation can check it; this module is
ours, and is pure (no database, no network).

A bundle is one JSON object::

    {"format": "ceasefire-release/v1",
     "origin": "ceasefire/karabakh-2020", "log_size": 1234,
     "released_to": "AM", "released_at": "2021-02-03T08:00:00Z",
     "checkpoint": "<C2SP signed note: center signature and every cosignature>",
     "verifier_keys": ["<C2SP vkey of the center (type 0x01)>", "<cosigner vkeys (0x04)>"],
     "intake_keys": ["<C2SP vkey of each contingent node's intake key (0x01)>"],
     "entries": [{"index": 17, "record": "<the exact canonical JSON text hashed>",
                  "inclusion_proof": ["<base64 hash>", ...]}],
     "consistency_proofs": [{"old_size": 1000, "proof": ["<base64 hash>", ...]}]}

``intake_keys`` let a party check who each observation came from: an entry signed by a
contingent's node carries that node's signature of the record, which must verify with one of
that contingent's intake keys; an entry in a contingent's name without one is the center's
word alone (counted in the report); one whose signature does not verify is refused. A bundle
made before intake keys existed has none: its origins are not checked, and the report says so.

``consistency_proofs`` prove that this checkpoint extends the log at earlier sizes (every size
the center released a checkpoint at before, and any size asked for). A party that kept an
earlier checkpoint checks it against the new one: a smaller size is a rollback, the same size
with another root or a failing proof is a split view (two histories shown to two parties).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ceasefire.i18n import _
from ceasefire.ledger.checkpoint import (
    SIGNATURE_TYPE_COSIGNATURE_V1,
    Checkpoint,
    CheckpointError,
    CosignatureVerifier,
    cosignature_timestamp,
)
from ceasefire.ledger.entry import (
    KIND_OBSERVATION,
    KIND_SUPERSEDED,
    EntryError,
    entry_leaf_hash,
    parse_envelope,
)
from ceasefire.ledger.errors import LedgerError
from ceasefire.ledger.merkle import HASH_SIZE, MAX_PROOF_HASHES, ProofError, verify_consistency
from ceasefire.ledger.merkle import verify_inclusion as _verify_inclusion
from ceasefire.ledger.note import (
    SIGNATURE_TYPE_ED25519,
    Ed25519Verifier,
    KeyFormatError,
    NoteError,
    Verifier,
    VerifierKey,
    b64decode,
    b64encode,
    open_note,
)
from ceasefire.ledger.origin import contingent_of_key, unsigned_claims

FORMAT = "ceasefire-release/v1"


class BundleError(LedgerError):
    """The bundle does not verify; ``problems`` lists every reason found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class BundleReport:
    """What a verified bundle proves."""

    origin: str
    log_size: int
    root_hash: bytes
    released_to: str
    log_key: str
    cosigners: dict[str, int]
    """Cosigner key name to the time of its cosignature (Unix seconds)."""
    entries: int
    consistent_with: int | None = None
    """Size of the kept checkpoint this bundle was proven consistent with, if one was given."""
    warnings: list[str] = field(default_factory=list)
    signed_by: dict[str, int] = field(default_factory=dict)
    """Contingent to the number of its observations whose node signature verified."""
    unsigned: int = 0
    """Observations in a contingent's name without a node signature (the center's word)."""
    superseded: dict[str, str | None] = field(default_factory=dict)
    """Released incidents that correlation replaced before the release, to what replaced
    them: proven by their ``superseded`` entries in the bundle."""


def encode_hashes(hashes: Sequence[bytes]) -> list[str]:
    return [b64encode(h) for h in hashes]


def _hashes(value: Any, what: str, problems: list[str]) -> list[bytes] | None:
    if not isinstance(value, list):
        problems.append(_("{what} is not a list of base64 hashes").format(what=what))
        return None
    if len(value) > MAX_PROOF_HASHES:
        problems.append(_("{what} has more than {n} hashes").format(what=what, n=MAX_PROOF_HASHES))
        return None
    out: list[bytes] = []
    for i, item in enumerate(value):
        try:
            h = b64decode(item, f"{what} hash {i}") if isinstance(item, str) else b""
        except ValueError:
            h = b""
        if len(h) != HASH_SIZE:
            problems.append(
                _("{what}: hash {i} is not a base64 32-byte hash").format(what=what, i=i)
            )
            return None
        out.append(h)
    return out


def _keys(
    vkeys: Any, problems: list[str]
) -> tuple[list[Ed25519Verifier], list[CosignatureVerifier]]:
    logs: list[Ed25519Verifier] = []
    cosigners: list[CosignatureVerifier] = []
    if not isinstance(vkeys, list) or not all(isinstance(k, str) for k in vkeys):
        problems.append(_("verifier_keys is not a list of C2SP verifier key strings"))
        return logs, cosigners
    for text in vkeys:
        try:
            key = VerifierKey.parse(text)
            if key.signature_type == SIGNATURE_TYPE_ED25519:
                logs.append(Ed25519Verifier.from_vkey(text))
            elif key.signature_type == SIGNATURE_TYPE_COSIGNATURE_V1:
                cosigners.append(CosignatureVerifier.from_vkey(text))
            else:
                problems.append(
                    _("verifier key {key} has an unknown signature type {t:#04x}").format(
                        key=key.name, t=key.signature_type
                    )
                )
        except KeyFormatError as e:
            problems.append(_("verifier key {text!r} is malformed: {e}").format(text=text, e=e))
    return logs, cosigners


def load(data: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    """The bundle object from its JSON text (or the object itself)."""
    if isinstance(data, Mapping):
        return dict(data)
    try:
        parsed = json.loads(data)
    except ValueError as e:
        raise BundleError([_("the bundle is not JSON: {e}").format(e=e)]) from e
    if not isinstance(parsed, dict):
        raise BundleError([_("the bundle is not a JSON object")])
    return parsed


def verify_bundle(
    data: str | bytes | Mapping[str, Any],
    previous_checkpoint: str | None = None,
    trusted_keys: Sequence[str] | None = None,
) -> BundleReport:
    """Check a bundle offline; a report, or :class:`BundleError` with every problem found.

    Checked: the checkpoint's signature by the center's key and a cosignature by every
    cosigner key listed; that the listed keys are the ``trusted_keys`` (when given: keys the
    party got another way, such as ``ceasefire keys show``); every entry's inclusion proof
    against the checkpoint's root. With ``previous_checkpoint`` (a checkpoint note, or a
    bundle, the party kept from before): the same log, not rolled back, and consistent with
    it through the bundle's ``consistency_proofs`` (no split view).
    """
    bundle = load(data)
    problems: list[str] = []
    warnings: list[str] = []
    if bundle.get("format") != FORMAT:
        problems.append(
            _("format is {found!r}, expected {expected!r}").format(
                found=bundle.get("format"), expected=FORMAT
            )
        )
    origin = bundle.get("origin")
    log_size = bundle.get("log_size")
    note = bundle.get("checkpoint")
    for name, value, kind in (
        ("origin", origin, str),
        ("checkpoint", note, str),
        ("released_to", bundle.get("released_to"), str),
        ("log_size", log_size, int),
        ("entries", bundle.get("entries"), list),
    ):
        if not isinstance(value, kind) or isinstance(value, bool):
            problems.append(
                _("field {name} is missing or not a {kind}").format(name=name, kind=kind.__name__)
            )
    if problems:
        raise BundleError(problems)
    assert isinstance(origin, str) and isinstance(note, str) and isinstance(log_size, int)

    logs, cosigners = _keys(bundle.get("verifier_keys"), problems)
    if len(logs) != 1:
        problems.append(
            _("verifier_keys must hold exactly one log key (type 0x01), it holds {n}").format(
                n=len(logs)
            )
        )
    if not cosigners:
        problems.append(_("verifier_keys holds no cosigner key (type 0x04)"))
    if trusted_keys is not None:
        trusted = set(trusted_keys)
        listed = [v.vkey for v in logs] + [v.vkey for v in cosigners]
        for vkey in listed:
            if vkey not in trusted:
                problems.append(
                    _("verifier key {key} is not one of the trusted keys").format(key=vkey)
                )
        names = {v.name for v in cosigners}
        for vkey in trusted:
            try:
                key = VerifierKey.parse(vkey)
            except KeyFormatError:
                continue
            if key.signature_type == SIGNATURE_TYPE_COSIGNATURE_V1 and key.name not in names:
                problems.append(
                    _("no key of trusted cosigner {name} in the bundle").format(name=key.name)
                )
    else:
        warnings.append(
            _(
                "the keys were taken from the bundle itself: compare them with keys you trust "
                "(--trusted-keys)"
            )
        )
    if problems:
        raise BundleError(problems)
    log_key = logs[0]

    checkpoint, cosigned_at = _open_checkpoint(note, log_key, cosigners, problems)
    if checkpoint is None:
        raise BundleError(problems)
    if checkpoint.origin != origin:
        problems.append(
            _("the checkpoint's origin {found!r} is not the bundle's origin {origin!r}").format(
                found=checkpoint.origin, origin=origin
            )
        )
    if checkpoint.size != log_size:
        problems.append(
            _("the checkpoint's size {found} is not the bundle's log_size {size}").format(
                found=checkpoint.size, size=log_size
            )
        )

    entries = bundle["entries"]
    superseded: dict[str, str | None] = {}
    for n, item in enumerate(entries):
        where = _("entry {n}").format(n=n)
        if not isinstance(item, dict):
            problems.append(_("{where} is not an object").format(where=where))
            continue
        index, record = item.get("index"), item.get("record")
        if not isinstance(index, int) or isinstance(index, bool) or not isinstance(record, str):
            problems.append(
                _("{where} needs an integer index and a record string").format(where=where)
            )
            continue
        where = _("entry {n} (log index {index})").format(n=n, index=index)
        proof = _hashes(item.get("inclusion_proof"), where + " inclusion_proof", problems)
        if proof is None:
            continue
        try:
            _verify_inclusion(
                entry_leaf_hash(record), index, checkpoint.size, proof, checkpoint.root_hash
            )
        except ProofError as e:
            problems.append(
                _("{where}: the record is not proven in the checkpoint: {e}").format(
                    where=where, e=e
                )
            )
            continue
        try:
            env = parse_envelope(record)
        except EntryError as e:
            warnings.append(_("{where}: {e}").format(where=where, e=e))
            continue
        if env.kind == KIND_SUPERSEDED and isinstance(env.record, dict):
            after = env.record.get("superseded_by")
            superseded[str(env.ref)] = str(after) if after else None

    signed_by, unsigned = _origins(bundle, origin, trusted_keys, problems, warnings)

    consistent_with = None
    if previous_checkpoint is not None:
        consistent_with = _check_previous(
            bundle, previous_checkpoint, checkpoint, [log_key, *cosigners], problems
        )
    if problems:
        raise BundleError(problems)
    return BundleReport(
        origin=origin,
        log_size=checkpoint.size,
        root_hash=checkpoint.root_hash,
        released_to=str(bundle["released_to"]),
        log_key=log_key.vkey,
        cosigners=cosigned_at,
        entries=len(entries),
        consistent_with=consistent_with,
        warnings=warnings,
        signed_by=signed_by,
        unsigned=unsigned,
        superseded=superseded,
    )


def _origins(
    bundle: Mapping[str, Any],
    origin: str,
    trusted_keys: Sequence[str] | None,
    problems: list[str],
    warnings: list[str],
) -> tuple[dict[str, int], int]:
    """Check each observation's node signature against its contingent's intake keys."""
    listed = bundle.get("intake_keys")
    if listed is None:
        warnings.append(
            _("the bundle lists no intake keys: who each record came from is not checked")
        )
        return {}, 0
    keys: dict[str, list[Ed25519Verifier]] = {}
    if not isinstance(listed, list):
        problems.append(_("intake_keys is not a list of C2SP verifier key strings"))
        return {}, 0
    for text in listed:
        try:
            verifier = Ed25519Verifier.from_vkey(text) if isinstance(text, str) else None
        except KeyFormatError:
            verifier = None
        contingent = contingent_of_key(origin, verifier.name) if verifier is not None else None
        if verifier is None or contingent is None:
            problems.append(
                _("intake key {key} is not an intake key of this log").format(key=str(text)[:80])
            )
            continue
        if trusted_keys is not None and text not in trusted_keys:
            warnings.append(
                _("intake key {key} is not one of the trusted keys").format(key=verifier.name)
            )
        keys.setdefault(contingent, []).append(verifier)
    signed_by: dict[str, int] = {}
    unsigned = 0
    for item in bundle["entries"]:
        if not isinstance(item, dict) or not isinstance(item.get("record"), str):
            continue
        try:
            env = parse_envelope(item["record"])
        except EntryError:
            continue
        contingent = env.record.get("contingent") if isinstance(env.record, dict) else None
        if env.kind != KIND_OBSERVATION or not isinstance(contingent, str):
            continue
        where = _("entry at log index {index} ({ref})").format(index=item["index"], ref=env.ref)
        if env.signature is None:
            unsigned += 1
            continue
        if unsigned_claims(contingent, keys.get(contingent, []), [item["record"]], item["index"]):
            problems.append(
                _("{where}: its signature is not by an intake key of {c}").format(
                    where=where, c=contingent
                )
            )
            continue
        signed_by[contingent] = signed_by.get(contingent, 0) + 1
    return signed_by, unsigned


def _open_checkpoint(
    note: str,
    log_key: Ed25519Verifier,
    cosigners: Sequence[CosignatureVerifier],
    problems: list[str],
) -> tuple[Checkpoint | None, dict[str, int]]:
    try:
        opened = open_note(note, [log_key, *cosigners])
        checkpoint = Checkpoint.parse(opened.text)
    except (NoteError, CheckpointError) as e:
        problems.append(_("the checkpoint does not verify: {e}").format(e=e))
        return None, {}
    missing: list[str] = []
    if opened.signature_of(log_key) is None:
        missing.append(log_key.name)
    cosigned_at: dict[str, int] = {}
    for c in cosigners:
        sig = opened.signature_of(c)
        if sig is None:
            missing.append(c.name)
        else:
            cosigned_at[c.name] = cosignature_timestamp(sig)
    if missing:
        problems.append(
            _("the checkpoint lacks a valid signature of: {names}").format(names=", ".join(missing))
        )
        return None, {}
    return checkpoint, cosigned_at


def previous_note(text: str) -> str:
    """The checkpoint note in a kept file: a note as such, or the ``checkpoint`` of a bundle."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return text
        if isinstance(data, dict) and isinstance(data.get("checkpoint"), str):
            return str(data["checkpoint"])
    return text


def _check_previous(
    bundle: Mapping[str, Any],
    previous: str,
    current: Checkpoint,
    keys: Sequence[Verifier],
    problems: list[str],
) -> int | None:
    try:
        opened = open_note(previous_note(previous), keys)
        old = Checkpoint.parse(opened.text)
    except (NoteError, CheckpointError) as e:
        problems.append(
            _("the kept checkpoint is not signed by a key of this bundle: {e}").format(e=e)
        )
        return None
    if old.origin != current.origin:
        problems.append(
            _("the kept checkpoint is of another log ({old!r}, not {new!r})").format(
                old=old.origin, new=current.origin
            )
        )
        return None
    if old.size > current.size:
        problems.append(
            _(
                "rollback: the bundle's checkpoint has size {new}, smaller than the kept "
                "checkpoint's size {old}"
            ).format(new=current.size, old=old.size)
        )
        return None
    if old.size == current.size:
        if old.root_hash != current.root_hash:
            problems.append(
                _(
                    "split view: the kept checkpoint and the bundle's have the same size {n} "
                    "but different roots"
                ).format(n=old.size)
            )
            return None
        return old.size
    proof: list[bytes] | None = None
    for item in bundle.get("consistency_proofs") or []:
        if isinstance(item, dict) and item.get("old_size") == old.size:
            proof = _hashes(item.get("proof"), f"consistency proof from {old.size}", problems)
            if proof is None:
                return None
            break
    else:
        problems.append(
            _(
                "the bundle carries no consistency proof from the kept checkpoint's size {n}: "
                "ask the center for a bundle with one (ceasefire release --since {n})"
            ).format(n=old.size)
        )
        return None
    try:
        verify_consistency(old.size, current.size, old.root_hash, current.root_hash, proof)
    except ProofError as e:
        problems.append(
            _(
                "split view: the bundle's log (size {new}) does not extend the kept checkpoint "
                "(size {old}): {e}"
            ).format(new=current.size, old=old.size, e=e)
        )
        return None
    return old.size


__all__ = [
    "FORMAT",
    "BundleError",
    "BundleReport",
    "encode_hashes",
    "load",
    "previous_note",
    "verify_bundle",
]

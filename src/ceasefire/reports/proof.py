"""The proof that a signed daily report is in the center's log, checked offline.

Why: the heads' signatures say who vouches for a report; they do not show that the center
logged it, so a center could hand one reader a report it never logged (or logged another).
A report's proof is a release bundle (:mod:`ceasefire.ledger.bundle`, format
``ceasefire-release/v1``, ``released_to`` ``public``) holding one entry, the report's ledger
entry (kind ``report``: the file's SHA-256 and the signed note), its RFC 9162 inclusion proof
and a checkpoint signed by the center and cosigned by every contingent, with the verifier keys.
The release verifier checks it as it checks any bundle (``ceasefire verify --bundle``);
:func:`verify` checks the bundle and that its entry is this report (``ceasefire report verify``).

The proof cannot live inside the file it proves (its hash covers the file), so it goes beside
it: ``daily-2021-02-01-ru.pdf.proof.json``, and ``GET /api/v1/reports/{id}/proof``. It exists
once a cosigned checkpoint covers the entry: the command that makes the report makes one when
it holds the keys (or reaches the witnesses); otherwise the checkpointer of ``ceasefire serve``
does within ``checkpoint_every`` seconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine

from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.ledger import log
from ceasefire.ledger.bundle import FORMAT, BundleError, encode_hashes, load, verify_bundle
from ceasefire.ledger.checkpoint import (
    SIGNATURE_TYPE_COSIGNATURE_V1,
    Checkpoint,
    CosignatureVerifier,
)
from ceasefire.ledger.cosign import StoredCheckpoint, latest_checkpoint
from ceasefire.ledger.entry import KIND_KEY, entry_leaf_hash, parse_envelope, timestamp
from ceasefire.ledger.errors import LedgerError
from ceasefire.ledger.keys import CENTER
from ceasefire.ledger.merkle import MerkleTree, verify_inclusion
from ceasefire.ledger.note import (
    SIGNATURE_TYPE_ED25519,
    Ed25519Verifier,
    KeyFormatError,
    NoteError,
    Verifier,
    VerifierKey,
    b64decode,
    open_note,
)
from ceasefire.reports import signing
from ceasefire.reports.signing import KIND_REPORT, SignedReport

PUBLIC = "public"
"""The ``released_to`` of a report's proof: the report is for everyone it is handed to."""


class NotYetProvenError(Exception):
    """No cosigned checkpoint covers the report's entry yet."""


def proof_name(report_file: str) -> str:
    """The proof's file name beside the report's."""
    return report_file + ".proof.json"


def _checkpoint_keys(db: Connection, stored: StoredCheckpoint, holders: Sequence[str]) -> list[str]:
    """The verifier keys that signed ``stored``, as the log registered them (kind ``key``,
    ref the holder) before it: the current one of each holder, even after a rotation."""
    found: list[str] = []
    for holder in holders:
        logged = [
            parse_envelope(e.entry).record
            for e in log.entries_of(db, KIND_KEY, [holder])
            if e.index < stored.size
        ]
        for record in reversed(logged):
            vkey = record.get("vkey") if isinstance(record, dict) else None
            if not isinstance(vkey, str):
                continue
            try:
                verifier: Verifier = (
                    Ed25519Verifier.from_vkey(vkey)
                    if holder == CENTER
                    else CosignatureVerifier.from_vkey(vkey)
                )
                if open_note(stored.note, [verifier]).signature_of(verifier) is not None:
                    found.append(vkey)
                    break
            except (KeyFormatError, NoteError):
                continue
    return found


def build(
    db: Connection,
    report: SignedReport,
    stored: StoredCheckpoint,
    tree: MerkleTree,
    contingents: Sequence[str],
) -> dict[str, Any]:
    """The proof of ``report`` at the cosigned checkpoint ``stored`` (``tree``: the log's tree,
    at least that size); :class:`NotYetProvenError` if the checkpoint is older than the entry."""
    index = report.ledger_index
    if stored.size <= index:
        raise NotYetProvenError(
            _(
                "the report's ledger entry {index} is not yet in a cosigned checkpoint (the "
                "latest covers {size} entries)"
            ).format(index=index, size=stored.size)
        )
    entry = log.entries_at(db, [index])[0]
    return {
        "format": FORMAT,
        "origin": stored.origin,
        "log_size": stored.size,
        "released_to": PUBLIC,
        "released_at": timestamp(stored.created_at),
        "checkpoint": stored.note,
        "verifier_keys": _checkpoint_keys(db, stored, [CENTER, *contingents]),
        "intake_keys": [],
        "entries": [
            {
                "index": index,
                "record": entry.entry,
                "inclusion_proof": encode_hashes(tree.inclusion_proof(index, stored.size)),
            }
        ],
        "consistency_proofs": [],
        "report": {
            "day": report.day,
            "lang": report.lang,
            "format": report.format,
            "version": report.version,
            "sha256": report.sha256,
            "ledger_index": index,
        },
    }


def prove(
    engine: Engine,
    report: SignedReport,
    stored: StoredCheckpoint | None,
    contingents: Sequence[str],
) -> dict[str, Any]:
    """The proof of ``report`` at ``stored`` (the latest cosigned checkpoint if None), the
    log's tree read now (a command's way; a server keeps its tree: :func:`build`)."""
    with engine.connect() as db:
        stored = stored or latest_checkpoint(db)
        if stored is None:
            raise NotYetProvenError(_("the log has no cosigned checkpoint yet"))
        return build(db, report, stored, log.read_tree(db).tree, contingents)


def _problem(field: str, reason: str) -> Problem:
    return Problem(file="proof", field=field, reason=reason)


def _verifiers(trusted_keys: Sequence[str]) -> list[Verifier]:
    """The log's and the cosigners' verifiers among the trusted keys."""
    found: list[Verifier] = []
    for text in trusted_keys:
        try:
            kind = VerifierKey.parse(text).signature_type
            if kind == SIGNATURE_TYPE_ED25519:
                found.append(Ed25519Verifier.from_vkey(text))
            elif kind == SIGNATURE_TYPE_COSIGNATURE_V1:
                found.append(CosignatureVerifier.from_vkey(text))
        except KeyFormatError:
            continue
    return found


def _failing_field(bundle: dict[str, Any], trusted_keys: Sequence[str]) -> str:
    """Which part of a proof the release verifier refused: the checkpoint (its signatures),
    the entry's inclusion proof, or else the keys; to name the field beside its reasons."""
    try:
        opened = open_note(str(bundle.get("checkpoint")), _verifiers(trusted_keys))
        checkpoint = Checkpoint.parse(opened.text)
    except (LedgerError, ValueError):
        return "checkpoint"
    item = bundle["entries"][0]
    try:
        hashes = [b64decode(h, "inclusion_proof") for h in item["inclusion_proof"]]
        verify_inclusion(
            entry_leaf_hash(item["record"]),
            item["index"],
            checkpoint.size,
            hashes,
            checkpoint.root_hash,
        )
    except (LedgerError, ValueError, TypeError, KeyError):
        return "inclusion_proof"
    return "verifier_keys"


def verify(
    data: bytes,
    proof: str | bytes | dict[str, Any],
    trusted_keys: Sequence[str],
    note: str | None = None,
) -> dict[str, Any]:
    """Check offline that ``data`` is a report signed by every contingent and in the log.

    ``proof`` is the report's proof, checked by the release verifier against
    ``trusted_keys`` (the center's and the contingents' verifier keys, got apart from the
    report); ``note`` the report's signed note if kept apart (else the one its logged entry
    carries; given, it must be that one). Raises :class:`InputError` naming each field that
    fails: the report's ``sha256`` (the file is not the one signed and logged), the proof's
    ``checkpoint``, ``inclusion_proof``, ``verifier_keys`` or ``entries``, or ``note``."""
    try:
        bundle = load(proof)
    except BundleError as error:
        raise InputError([_problem("", p) for p in error.problems]) from None
    entries = bundle.get("entries")
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        raise InputError(_problem("entries", _("a report's proof holds exactly one entry")))
    try:
        checked = verify_bundle(bundle, trusted_keys=trusted_keys)
    except BundleError as error:
        field = _failing_field(bundle, trusted_keys)
        raise InputError([_problem(field, p) for p in error.problems]) from None
    envelope = parse_envelope(str(entries[0]["record"]))  # proven, hence one of ours
    record = envelope.record if isinstance(envelope.record, dict) else {}
    if envelope.kind != KIND_REPORT or not isinstance(record.get("note"), str):
        raise InputError(
            _problem(
                "entries",
                _("the proven entry is of kind {kind}, not a report").format(kind=envelope.kind),
            )
        )
    logged_note = str(record["note"])
    problems: list[Problem] = []
    if note is not None and note != logged_note:
        problems.append(_problem("note", _("the signed note given is not the one logged")))
    digest = hashlib.sha256(data).hexdigest()
    if record.get("sha256") != digest:
        problems.append(
            Problem(
                file="report",
                field="sha256",
                reason=_("the file's SHA-256 is {actual}; the logged report's is {logged}").format(
                    actual=digest, logged=record.get("sha256")
                ),
            )
        )
    cosigners = [v for v in _verifiers(trusted_keys) if isinstance(v, CosignatureVerifier)]
    signed: dict[str, Any] = {}
    try:
        signed = signing.verify(data, note if note is not None else logged_note, cosigners)
    except InputError as error:
        said = {(p.file, p.field) for p in problems}
        problems.extend(p for p in error.problems if (p.file, p.field) not in said)
    if problems:
        raise InputError(problems)
    return {
        **signed,
        "ledger_index": int(entries[0]["index"]),
        "log_size": checked.log_size,
        "checkpoint_signed_by": [checked.log_key.split("+", 1)[0], *sorted(checked.cosigners)],
        "logged_at": envelope.appended_at,
    }


__all__ = ["PUBLIC", "NotYetProvenError", "build", "proof_name", "prove", "verify"]

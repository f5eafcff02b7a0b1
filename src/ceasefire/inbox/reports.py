"""The inbox's check of a signed daily report announced over the direct line.

A ``daily_report`` notice states the report's SHA-256, the note both contingents' heads signed
and its ledger index, and where the center serves the document, the note and the proof that it
is in the log (:mod:`ceasefire.dissemination.daily`). The inbox fetches the three, with the
notice's token as its credential (``/api/v1/notices/{id}/report``...), and checks
them with the verifier of ``ceasefire report verify`` (:func:`ceasefire.reports.proof.verify`,
itself the release verifier's), against keys it holds apart from the center's line: the center's
verifier key and the contingents' (``trusted.vkeys``). The outcome:

- ``verified``: the document is the one the notice names, signed by every contingent, and
  logged at the index the notice gives, in a checkpoint signed by the center and cosigned by
  every contingent;
- ``not_yet_provable``: signed as it should be, but no cosigned checkpoint covers it yet (the
  center makes one within minutes), or the center cannot be reached: the inbox asks again;
- ``failed``, with the reason: any check that does not hold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from ceasefire.dissemination.daily import document_for, notice_links
from ceasefire.errors import InputError
from ceasefire.i18n import _
from ceasefire.ledger.checkpoint import SIGNATURE_TYPE_COSIGNATURE_V1, CosignatureVerifier
from ceasefire.ledger.note import KeyFormatError, VerifierKey
from ceasefire.reports import proof, signing

VERIFIED, NOT_YET, FAILED = "verified", "not_yet_provable", "failed"

Fetch = Callable[[str], httpx.Response]
Outcome = tuple[str, str, dict[str, Any]]


def _reasons(error: InputError) -> str:
    return "; ".join(f"{p.field}: {p.reason}" if p.field else p.reason for p in error.problems)


def _detail(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:300]
    return str(body.get("detail", "")) if isinstance(body, dict) else ""


def _cosigners(trusted: Sequence[str]) -> list[CosignatureVerifier]:
    found = []
    for key in trusted:
        try:
            if VerifierKey.parse(key).signature_type == SIGNATURE_TYPE_COSIGNATURE_V1:
                found.append(CosignatureVerifier.from_vkey(key))
        except KeyFormatError:
            continue
    return found


def check(payload: str, fetch: Fetch, trusted: Sequence[str]) -> Outcome:
    """(state, reason, result) of the report a notice's ``payload`` points to; ``fetch`` GETs
    a path of the center's, ``trusted`` the center's and the contingents' verifier keys."""
    try:
        notice = json.loads(payload)
        document = document_for(notice["facts"], str(notice["lang"]))
        token = str((notice.get("ack") or {}).get("token", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        document = None
    if document is None:
        return FAILED, _("the notice names no daily report"), {}
    cosigners = _cosigners(trusted)
    if not cosigners:
        return (
            FAILED,
            _(
                "no contingent verifier key to check the report with: give the contingents' "
                "keys (ceasefire keys show) with --trusted-keys"
            ),
            {},
        )
    # with the notice's token (the party's inbox has no account at the center): the report
    # this notice points to; the notice's own statement of it is what the answers must match
    where = notice_links(str(notice["id"]), token)
    try:
        answers = {part: fetch(where[part]) for part in ("href", "signature", "proof")}
    except httpx.HTTPError as error:
        return (
            NOT_YET,
            _("the center cannot be reached: {error}").format(error=type(error).__name__),
            {},
        )
    for part in ("href", "signature"):
        if answers[part].status_code != 200:
            return (
                FAILED,
                _("the center answered {status} for {url}: {detail}").format(
                    status=answers[part].status_code,
                    url=where[part].partition("?")[0],
                    detail=_detail(answers[part]),
                ),
                {},
            )
    data = answers["href"].content
    digest = hashlib.sha256(data).hexdigest()
    if digest != document["sha256"]:
        return (
            FAILED,
            _("the document's SHA-256 is {actual}; the notice says {stated}").format(
                actual=digest, stated=document["sha256"]
            ),
            {},
        )
    note = answers["signature"].text
    if note != document["note"]:
        return FAILED, _("the signed note the center serves is not the one in the notice"), {}
    try:
        signed = signing.verify(data, note, cosigners)
    except InputError as error:
        return FAILED, _reasons(error), {}
    found = answers["proof"]
    if found.status_code == 409:
        return NOT_YET, _detail(found), signed
    if found.status_code != 200:
        return (
            FAILED,
            _("the center answered {status} for {url}: {detail}").format(
                status=found.status_code,
                url=where["proof"].partition("?")[0],
                detail=_detail(found),
            ),
            signed,
        )
    try:
        result = proof.verify(data, found.content, list(trusted), note)
    except InputError as error:
        return FAILED, _reasons(error), signed
    if result["ledger_index"] != document["ledger_index"]:
        return (
            FAILED,
            _("the report is logged at entry {index}; the notice says {stated}").format(
                index=result["ledger_index"], stated=document["ledger_index"]
            ),
            result,
        )
    return VERIFIED, "", result


__all__ = ["FAILED", "NOT_YET", "VERIFIED", "check"]

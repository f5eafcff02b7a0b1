"""Asking a contingent's witness over HTTP: the client side of C2SP tlog-witness.

Why: in a real deployment each contingent's witness runs on its own node
(:mod:`ceasefire.witness.server`) and the center holds only the contingents' verifier keys.
The ledger asks witnesses through whatever client it is handed
(:data:`ceasefire.ledger.cosign.RemoteWitnesses`); the center hands it this one.
The center sends the same ``add-checkpoint`` body as to a witness in its own process, and this
module turns the HTTP answer back into the :class:`~ceasefire.ledger.witness.WitnessError` the
in-process witness would have raised, so the center's retry and refusal logic is the same.

A 409 carries only the witness's latest size (``text/x.tlog.size``), not the reason. The reason
follows from what was sent: a latest size above the checkpoint's is a rollback, one equal to
the old size sent (so the old size matched) is a fork, anything else means the witness moved on
meanwhile (a race, or the center's idea of its size was stale): retry from that size.
"""

from __future__ import annotations

from typing import Any

import httpx

from ceasefire.i18n import _
from ceasefire.ledger.checkpoint import Checkpoint, CosignatureVerifier
from ceasefire.ledger.leaves import LeafCopy, LeafCopyError
from ceasefire.ledger.note import NoteError, Signature, parse_note, parse_signature_lines
from ceasefire.ledger.witness import (
    SIZE_TYPE,
    AddCheckpointRequest,
    BadRequestError,
    ConflictError,
    ForkError,
    InconsistentError,
    LogSignatureError,
    RollbackError,
    UnknownLogError,
    WitnessError,
)

TIMEOUT = 10.0
"""Seconds to connect or wait for an answer: a witness checks one proof, it answers at once."""

MAX_ANSWER_CHARS = 500
"""How much of a refusal's text to quote in the error."""

_BY_STATUS: dict[int, type[WitnessError]] = {
    400: BadRequestError,
    403: LogSignatureError,
    404: UnknownLogError,
    422: InconsistentError,
}


class UnreachableError(WitnessError):
    """The witness could not be asked (connection refused, timeout, ...)."""

    status = 503
    reason = "unreachable"


class BadAnswerError(WitnessError):
    """The witness answered something the protocol does not allow, or no valid cosignature."""

    status = 502
    reason = "bad-answer"


class WitnessFailedError(WitnessError):
    """The witness answered with a status the protocol does not define (its own failure)."""

    status = 502
    reason = "witness-failed"


class WitnessClient:
    """Sends ``add-checkpoint`` requests; one connection pool, kept alive as the spec advises."""

    def __init__(
        self, timeout: float = TIMEOUT, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WitnessClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_checkpoint(
        self, url: str, request: AddCheckpointRequest, verifier: CosignatureVerifier
    ) -> list[Signature]:
        """The cosignatures by ``verifier``'s key of the witness at ``url`` (submission prefix).

        Raises the :class:`WitnessError` matching the witness's answer; signatures by other
        keys are ignored (the spec's rule), and an answer without a valid one is refused.
        """
        endpoint = url.rstrip("/") + "/add-checkpoint"
        answer = self._ask(
            "POST",
            endpoint,
            content=request.encode(),
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        text, _sigs = parse_note(request.checkpoint)
        if answer.status_code == 200:
            return _cosignatures(endpoint, answer.text, text, verifier)
        if answer.status_code == 409:
            raise _conflict(endpoint, answer, request, Checkpoint.parse(text).size)
        error = _BY_STATUS.get(answer.status_code, WitnessFailedError)
        raise error(_answered(endpoint, answer), status=answer.status_code)

    def _ask(self, method: str, endpoint: str, **options: Any) -> httpx.Response:
        """The witness's answer; :class:`UnreachableError` if it cannot be asked."""
        try:
            return self._http.request(method, endpoint, **options)
        except httpx.HTTPError as e:
            raise UnreachableError(
                _("the witness at {url} cannot be reached: {error}").format(
                    url=endpoint, error=str(e) or type(e).__name__
                )
            ) from e

    def leaves(self, url: str, origin: str) -> LeafCopy:
        """The witness's copy of the leaf hashes of ``origin`` (every page of ``GET
        <url>/leaves``). Raises :class:`UnreachableError` or :class:`BadAnswerError`."""
        endpoint = url.rstrip("/") + "/leaves"
        pages: list[LeafCopy] = []
        start, size, witness = 0, None, ""
        while size is None or start < size:
            answer = self._ask("GET", endpoint, params={"origin": origin, "start": start})
            if answer.status_code != 200:
                raise BadAnswerError(_answered(endpoint, answer))
            try:
                data = answer.json()
                if data.get("start") != start:
                    raise LeafCopyError(f"page from {data.get('start')}, not {start}")
                page = LeafCopy.from_json({**data, "start": 0})
                size, witness = int(data["size"]), page.witness
            except (ValueError, KeyError, TypeError, LeafCopyError) as e:
                raise BadAnswerError(
                    _("the witness at {url} answered no copy of leaf hashes: {e}").format(
                        url=endpoint, e=e
                    )
                ) from e
            if not page.size and start < size:
                raise BadAnswerError(
                    _("the witness at {url} answered no copy of leaf hashes: {e}").format(
                        url=endpoint, e="empty page"
                    )
                )
            pages.append(page)
            start += page.size
        return LeafCopy(witness, origin, b"".join(p.packed for p in pages))


def _answered(endpoint: str, answer: httpx.Response) -> str:
    """A refusal, quoted: the status and the start of the witness's text."""
    return _("the witness at {url} answered {status}: {said}").format(
        url=endpoint, status=answer.status_code, said=answer.text.strip()[:MAX_ANSWER_CHARS]
    )


def _cosignatures(
    endpoint: str, body: str, text: str, verifier: CosignatureVerifier
) -> list[Signature]:
    try:
        lines = parse_signature_lines(body)
    except NoteError as e:
        raise BadAnswerError(
            _("the witness at {url} answered 200 without signature lines: {e}").format(
                url=endpoint, e=e
            )
        ) from e
    payload = text.encode("utf-8")
    mine = [
        s
        for s in lines
        if (s.name, s.key_id) == (verifier.name, verifier.key_id)
        and verifier.verify(payload, s.signature)
    ]
    if not mine:
        raise BadAnswerError(
            _("the witness at {url} answered without a valid cosignature by {key}").format(
                url=endpoint, key=verifier.vkey
            )
        )
    return mine[:1]


def _conflict(
    endpoint: str, answer: httpx.Response, request: AddCheckpointRequest, size: int
) -> WitnessError:
    kind = answer.headers.get("content-type", "").split(";")[0].strip()
    body = answer.text
    if kind != SIZE_TYPE or not body.endswith("\n") or not body[:-1].isdigit():
        return BadAnswerError(
            _("the witness at {url} answered 409 without its latest size").format(url=endpoint)
        )
    latest = int(body[:-1])
    if latest > size:
        return RollbackError(
            _(
                "the witness at {url} has cosigned size {latest}, larger than this "
                "checkpoint's size {size}"
            ).format(url=endpoint, latest=latest, size=size),
            latest_size=latest,
        )
    if latest == request.old_size == size:
        return ForkError(
            _(
                "the witness at {url} has cosigned size {latest} with another root hash "
                "than this checkpoint of size {size}"
            ).format(url=endpoint, latest=latest, size=size),
            latest_size=latest,
        )
    if latest == request.old_size:
        # the old size matched and the sizes differ: nothing in the protocol answers 409 then
        return BadAnswerError(
            _("the witness at {url} answered 409 although the old size {old} matched").format(
                url=endpoint, old=latest
            )
        )
    return ConflictError(
        _("the witness at {url} has moved on to size {latest}; retry from there").format(
            url=endpoint, latest=latest
        ),
        latest_size=latest,
    )
